"""Validation of Web API write bodies, generic over the metadata, with Dataverse's errors: columns and their JSON
types, option sets, string lengths, GUIDs and `@odata.bind` lookups, into column values for records.py."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import sqlalchemy as sa

from .. import metadata
from ..clock import format_instant, parse_instant
from ..errors import BadRequest, DataverseError, NotSupported, RecordNotFound
from ..metadata import Attribute, Table
from ..metadata import model as m
from .database import Database

# Columns the server owns. Dataverse drops them silently from create/update bodies (createdon is set only through
# overriddencreatedon); see docs/decisions.md "Writes".
IGNORED_ON_WRITE = frozenset({"createdon", "modifiedon", "createdby", "modifiedby", "versionnumber",
                              "activitytypecode"})
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_BIND = re.compile(r"^(?:[a-zA-Z][\w+.-]*://[^/]+)?(?:/?api/data/v[\d.]+)?/?(?P<set>[A-Za-z_]\w*)\((?P<key>[^)]*)\)$")


# -- errors ----------------------------------------------------------------------------------------------------
def payload_error(table: Table, inner: str) -> DataverseError:
    """ODataLib's deserialisation errors as Dataverse wraps them (code 0x80048d19)."""
    return BadRequest(f"Error identified in Payload provided by the user for Entity :'{table.entity_set}' ----> "
                      f"InnerException : Microsoft.OData.ODataException: {inner}", code="0x80048d19")


def invalid_property(table: Table, name: str) -> DataverseError:
    return BadRequest(f"An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid "
                      f"property '{name}' was found in entity '{table.type_name}'.", code="0x0")


def invalid_argument(message: str) -> DataverseError:
    return BadRequest(message, code="0x80040203")


def _literal(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _cannot_convert(table: Table, attr: Attribute, value: Any) -> DataverseError:
    return payload_error(table, f"Cannot convert the literal '{_literal(value)}' to the expected type "
                                f"'{attr.edm_type}'.")


def out_of_range(table: Table, attr: Attribute, value: Any, accepted: str) -> DataverseError:
    return BadRequest(f"A validation error occurred. The value {value} of '{attr.logical_name}' on record of type "
                      f"'{table.logical_name}' is outside the valid range. Accepted Values: {accepted}",
                      code="0x8004431a")


@dataclass
class Navigation:
    attr: Attribute
    targets: tuple[str, ...]


_navigations: dict[str, tuple[Table, dict[str, Navigation]]] = {}


def navigations(table: Table) -> dict[str, Navigation]:
    """Single-valued navigation property name -> the lookup it sets and the tables it may point at (made once per
    Table: an imported catalog's table of a name has other lookups than the shipped one)."""
    cached = _navigations.get(table.logical_name)
    if cached is not None and cached[0] is table:
        return cached[1]
    found: dict[str, Navigation] = {}
    for attr in table.lookups:
        for target, nav in attr.navigation:
            entry = found.get(nav)
            found[nav] = Navigation(attr, (entry.targets if entry else ()) + (target,))
    _navigations[table.logical_name] = (table, found)
    return found


def check_type_annotation(table: Table, body: dict) -> None:
    given = body.get("@odata.type")
    if given is None:
        return
    name = given[1:] if isinstance(given, str) and given.startswith("#") else given
    if name not in (table.type_name, f"mscrm.{table.logical_name}"):
        raise payload_error(table, f"A resource with type '{_literal(name)}' was found, but it is not assignable to "
                                   f"the expected type '{table.type_name}'. The type specified in the resource must "
                                   f"be equal to either the expected type or a derived type.")


def parse_guid(text: Any) -> str | None:
    if not isinstance(text, str) or not _GUID.match(text.strip()):
        return None
    return str(uuid.UUID(text.strip().strip("{}")))


def convert(table: Table, attr: Attribute, value: Any) -> Any:
    """A JSON value -> the stored form, with Dataverse's errors for wrong types and values."""
    if value is None:
        return None
    t = attr.type
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if t in m.STRING_TYPES:
        if not isinstance(value, str):
            raise _cannot_convert(table, attr, value)
        if value == "":
            return None  # Dataverse stores an empty string as null
        if attr.max_length is not None and len(value) > attr.max_length:
            raise BadRequest(f"A validation error occurred.  The length of the '{attr.logical_name}' attribute of the "
                             f"'{table.logical_name}' entity exceeded the maximum allowed length of "
                             f"'{attr.max_length}'.", code="0x80044331")
        return value
    if t == m.UNIQUEIDENTIFIER:
        guid = parse_guid(value)
        if guid is None:
            raise _cannot_convert(table, attr, value)
        return guid
    if t in m.CHOICE_TYPES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _cannot_convert(table, attr, value)
        if attr.option_set is not None and value not in attr.option_set.values:
            accepted = ",".join(str(o.value) for o in attr.option_set.options)
            raise out_of_range(table, attr, value, accepted)
        return value
    if t == m.MULTISELECT:
        return _multiselect(table, attr, value)
    if t == m.BOOLEAN:
        if not isinstance(value, bool):
            raise _cannot_convert(table, attr, value)
        return value
    if t == m.DATETIME:
        if not isinstance(value, str) or "T" not in value:
            raise _cannot_convert(table, attr, value)
        try:
            return format_instant(parse_instant(value))
        except ValueError:
            raise _cannot_convert(table, attr, value) from None
    if t in (m.INTEGER, m.BIGINT):
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if number is None and t == m.BIGINT and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            number = int(value)
        if number is None:
            raise _cannot_convert(table, attr, value)
        return _in_range(table, attr, number)
    if t in (m.DECIMAL, m.DOUBLE, m.MONEY):
        amount: float
        if is_number:
            amount = value
        elif isinstance(value, str):  # IEEE754Compatible clients send decimals as strings
            try:
                amount = float(Decimal(value))
            except InvalidOperation:
                raise _cannot_convert(table, attr, value) from None
        else:
            raise _cannot_convert(table, attr, value)
        if attr.precision is not None:
            amount = round(amount, attr.precision)
        return _in_range(table, attr, amount)
    raise _cannot_convert(table, attr, value)


def _in_range(table: Table, attr: Attribute, number: float) -> float:
    low, high = attr.min_value, attr.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        raise out_of_range(table, attr, number, f"{_number(low)} to {_number(high)}")
    return number


def _number(value: float | None) -> str:
    return "" if value is None else str(int(value)) if float(value).is_integer() else str(value)


def _multiselect(table: Table, attr: Attribute, value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        items = [value]  # the Python SDK sends one converted label as a bare number
    elif isinstance(value, str):
        if not value.strip():
            return None
        try:
            items = [int(part) for part in value.split(",")]
        except ValueError:
            raise _cannot_convert(table, attr, value) from None
    else:
        raise _cannot_convert(table, attr, value)
    option_set = attr.option_set
    allowed = option_set.values if option_set else None
    chosen: list[int] = []
    for item in items:
        if allowed is not None and item not in allowed:
            assert option_set is not None  # `allowed` comes from it
            raise out_of_range(table, attr, item, ",".join(str(o.value) for o in option_set.options))
        if item not in chosen:
            chosen.append(item)
    return ",".join(str(v) for v in chosen)


def _bind(conn: sa.Connection, db: Database, table: Table, nav_name: str, nav: Navigation, value: Any,
          values: dict) -> None:
    attr = nav.attr
    if value is None:
        values[attr.logical_name] = None
        if attr.is_polymorphic:
            values[attr.target_column] = None
        return
    match = _BIND.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise payload_error(table, f"The value '{_literal(value)}' of '{nav_name}@odata.bind' is not an entity "
                                   f"reference such as '/{metadata.table(nav.targets[0]).entity_set}(<guid>)'.")
    target = metadata.by_entity_set(match.group("set"))
    if target is None:
        raise payload_error(table, f"Resource not found for the segment '{match.group('set')}'.")
    if target.logical_name not in nav.targets:
        expected = " or ".join(metadata.table(t).type_name for t in nav.targets)
        raise payload_error(table, f"A resource of type '{target.type_name}' was bound to the navigation property "
                                   f"'{nav_name}', which expects '{expected}'.")
    raw_key = match.group("key").strip()
    if "=" in raw_key:
        name, _, raw_key = raw_key.partition("=")
        if name.strip() != target.primary_id:
            raise payload_error(table, f"'{name.strip()}' is not the key of {target.entity_set}; alternate keys are "
                                       f"not defined in the emulator.")
    key = parse_guid(raw_key.strip().strip("'"))
    if key is None:
        raise payload_error(table, f"Cannot convert the literal '{raw_key}' to the expected type 'Edm.Guid'.")
    sql_target = db.tables[target.logical_name]
    found = conn.execute(sa.select(sql_target.c[target.primary_id]).where(sql_target.c[target.primary_id] == key))
    if found.first() is None:
        raise RecordNotFound(target.logical_name, key)
    values[attr.logical_name] = key
    if attr.is_polymorphic:
        values[attr.target_column] = target.logical_name


def parse_body(conn: sa.Connection, db: Database, table: Table, body: Any, *, creating: bool) -> dict[str, Any]:
    """A Web API body -> column values in stored form (a column given as null is present with None)."""
    if not isinstance(body, dict):
        raise payload_error(table, "The request body must be a JSON object with the record's columns.")
    check_type_annotation(table, body)
    values: dict[str, Any] = {}
    navs = navigations(table)
    for name, value in body.items():
        if name.startswith("@"):
            continue  # @odata.type (checked above), @odata.etag, @odata.context, @odata.id
        if "@" in name:
            prop, _, annotation = name.partition("@")
            if annotation != "odata.bind":
                continue  # property annotations such as FormattedValue are ignored, as ODataLib does
            nav = navs.get(prop)
            if nav is None:
                raise payload_error(table, f"An undeclared property '{prop}' which only has property annotations in "
                                           f"the payload but no property value was found in the payload. In OData, "
                                           f"only declared navigation properties and declared named streams can be "
                                           f"represented as properties without values.")
            if nav.attr.logical_name in IGNORED_ON_WRITE:
                continue
            _bind(conn, db, table, prop, nav, value, values)
            continue
        if name in navs and isinstance(value, (dict, list)):
            raise NotSupported(f"Deep insert through '{name}' is not implemented in the emulator: create the "
                               f"related record first, then set '{name}@odata.bind' to its URL.")
        attr = table.by_property(name)
        if attr is None or attr.is_lookup:
            raise invalid_property(table, name)
        if attr.logical_name in IGNORED_ON_WRITE:
            continue
        writable = attr.valid_for_create if creating else attr.valid_for_update
        if not writable and attr.logical_name != table.primary_id:
            if not creating and attr.valid_for_create:
                continue  # create-only columns such as overriddencreatedon are dropped from updates
            raise invalid_argument(f"The attribute '{attr.logical_name}' of '{table.logical_name}' cannot be set "
                                   f"on {'create' if creating else 'update'}.")
        values[attr.logical_name] = convert(table, attr, value)
    return values
