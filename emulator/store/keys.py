"""Alternate keys in the data plane: a record's key segment (`accounts(accountnumber='A-1')`,
`contacts(firstname='Joe',lastname='Smith')`, `accounts(<guid>)`) parsed against the table's keys, the row it names
found, and Dataverse's errors for an undefined key, a missing row and duplicate key values."""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from ..clock import format_instant, parse_instant
from ..errors import BadRequest, DataverseError, PreconditionFailed
from ..metadata import Attribute, EntityKey, Table
from ..metadata import model as m
from .database import Database
from .schema import key_index_name

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_NAME = re.compile(r"^[A-Za-z_]\w*$")
# A reference to a record (`@odata.bind`, `@odata.id`): absolute, service-relative or relative.
REFERENCE = re.compile(r"^(?:[a-zA-Z][\w+.-]*://[^/]+)?(?:/?api/data/v[\d.]+)?/?(?P<set>[A-Za-z_]\w*)\((?P<key>.*)\)$")
# systemuser and team inherit their key (ownerid) from principal: only the bare GUID form names their rows.
PRINCIPALS = frozenset({"systemuser", "team"})
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?$")


@dataclass(frozen=True)
class KeyValues:
    """A record named by one of its table's alternate keys: the key and its columns' values (stored form, in the
    key's column order)."""

    table: Table
    key: EntityKey
    values: dict[str, Any]

    def segment(self) -> str:
        """The key as a URL segment, as Dataverse writes it in OData-EntityId: `accountnumber='A-1'`."""
        return ",".join(f"{self.table.attribute(name).property_name}={literal(value)}"  # type: ignore[union-attr]
                        for name, value in self.values.items())


def literal(value: Any) -> str:
    """A stored key value as an OData literal."""
    if isinstance(value, str) and not _GUID.match(value):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


# -- errors ----------------------------------------------------------------------------------------------------
def invalid_key(table: Table, named: list[str]) -> DataverseError:
    """The key segment names columns that are neither the primary key nor one alternate key (or only part of one).
    Dataverse's message, then what the request named and the keys the table has (the emulator's addition)."""
    primary = "(<guid> alone)" if table.logical_name in PRINCIPALS else f"({table.primary_id})"
    keys = [primary, *(f"({','.join(k.attributes)})" for k in table.keys)]
    return BadRequest(f"The key in the request URI is not valid for resource '{table.type_name}'. Ensure that the "
                      f"names and number of key properties match the declared or alternate key properties for the "
                      f"resource '{table.type_name}'. The request named ({','.join(named)}); the keys of "
                      f"{table.entity_set} are: {', '.join(keys)}.", code="0x80060888")


def not_found(table: Table) -> DataverseError:
    """No row has the key values (GET, DELETE, PATCH with If-Match, a bind)."""
    return DataverseError(f"A record with the specified key values does not exist in {table.logical_name} entity",
                          code="0x80060891", status=404)


def duplicate(table: Table, key: EntityKey) -> DataverseError:
    """Another row already has these key values (create, update, upsert)."""
    names = ", ".join(_display(table, name) for name in key.attributes)
    return PreconditionFailed(f"A record that has the attribute values {names} already exists. The entity key "
                              f"{key.display_name or key.logical_name} requires that this set of attributes contains "
                              f"unique values. Select unique values and try again.", code="0x80040237")


def _display(table: Table, name: str) -> str:
    attr = table.attribute(name)
    return attr.display_name if attr is not None and attr.display_name else name


def _syntax(table: Table, raw: str, why: str) -> DataverseError:
    return BadRequest(f"Bad Request - Error in query syntax: the key '{raw}' of {table.entity_set} is not valid: "
                      f"{why}.", code="0x80060888")


# -- parsing ---------------------------------------------------------------------------------------------------
def split(raw: str) -> list[tuple[str | None, str]]:
    """`a='x,y',b=2` -> [('a', "'x,y'"), ('b', '2')]; an unnamed value has name None. Commas and equals signs inside
    quotes ('' escapes a quote) belong to the value. ValueError when quotes do not close."""
    parts: list[tuple[str | None, str]] = []
    i, n = 0, len(raw)
    while i <= n:
        start, name, quoted = i, None, False
        while i < n and raw[i] != ",":
            if raw[i] == "'":
                quoted = True
                i += 1
                while True:
                    if i >= n:
                        raise ValueError("a quote is not closed")
                    if raw[i] == "'":
                        if i + 1 < n and raw[i + 1] == "'":
                            i += 2
                            continue
                        break
                    i += 1
            elif raw[i] == "=" and name is None and not quoted:
                name = raw[start:i].strip()
                start = i + 1
            i += 1
        parts.append((name, raw[start:i].strip()))
        i += 1
    return parts


def _value(table: Table, attr: Attribute, text: str, raw: str) -> Any:
    """One key literal -> the column's stored value; a literal of the wrong type is a syntax error."""
    if text.startswith("'"):
        if not (len(text) >= 2 and text.endswith("'")):
            raise _syntax(table, raw, "a quote is not closed")
        value: Any = text[1:-1].replace("''", "'")
        if attr.type in m.STRING_TYPES:
            return value
        if attr.type == m.DATETIME:
            text = value  # some clients quote instants
        else:
            raise _syntax(table, raw, f"'{attr.logical_name}' is of type {attr.edm_type}, not a quoted string")
    if attr.type in m.STRING_TYPES:
        raise _syntax(table, raw, f"'{attr.logical_name}' is a string: quote its value ('...')")
    if attr.type == m.UNIQUEIDENTIFIER or attr.is_lookup:
        if not _GUID.match(text):
            raise _syntax(table, raw, f"'{text}' is not a GUID")
        return str(uuid.UUID(text.strip("{}")))
    if attr.type == m.DATETIME:
        try:
            return format_instant(parse_instant(text))
        except ValueError:
            raise _syntax(table, raw, f"'{text}' is not a date and time") from None
    if attr.type in (m.INTEGER, m.BIGINT, *m.CHOICE_TYPES):
        if not re.fullmatch(r"[+-]?\d+[lL]?", text):
            raise _syntax(table, raw, f"'{attr.logical_name}' is a whole number, not '{text}'")
        return int(text.rstrip("lL"))
    if attr.type in (m.DECIMAL, m.DOUBLE):
        if not _NUMBER.match(text):
            raise _syntax(table, raw, f"'{attr.logical_name}' is a number, not '{text}'")
        try:
            return float(Decimal(text.rstrip("mMdDfFlL")))
        except InvalidOperation:
            raise _syntax(table, raw, f"'{attr.logical_name}' is a number, not '{text}'") from None
    raise _syntax(table, raw, f"a column of type {attr.type} cannot be part of a key")


def _guid(table: Table, text: str, raw: str) -> str:
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        text = text[1:-1]
    if not _GUID.match(text):
        raise BadRequest(f"Bad Request - Error in query syntax: '{raw}' is not a valid GUID key for "
                         f"{table.entity_set}.", code="0x80060888")
    return str(uuid.UUID(text.strip("{}")))


def parse(table: Table, raw: str) -> str | KeyValues:
    """A key segment (what is between the parentheses) -> the primary key (a lowercase GUID) or the alternate key
    and its values. BadRequest for a key the table does not define, a part missing or a literal of the wrong type."""
    try:
        parts = split(raw)
    except ValueError as e:
        raise _syntax(table, raw, str(e)) from None
    if len(parts) == 1 and parts[0][0] is None:
        return _guid(table, parts[0][1], raw)
    named = [name or text for name, text in parts]
    if any(name is None or not _NAME.match(name) for name, _ in parts):
        raise invalid_key(table, named)
    given: dict[str, tuple[Attribute, str]] = {}
    for name, text in parts:
        assert name is not None
        attr = table.by_property(name)
        if attr is None or attr.logical_name in given:
            raise invalid_key(table, named)
        given[attr.logical_name] = (attr, text)
    if list(given) == [table.primary_id] and table.logical_name not in PRINCIPALS:
        return _guid(table, given[table.primary_id][1], raw)
    for key in table.keys:
        if set(key.attributes) == set(given):
            return KeyValues(table, key, {name: _value(table, given[name][0], given[name][1], raw)
                                          for name in key.attributes})
    raise invalid_key(table, named)


# -- rows ------------------------------------------------------------------------------------------------------
def _where(sql_table: sa.Table, values: Mapping[str, Any]) -> list:
    return [sql_table.c[name].is_(None) if value is None else sql_table.c[name] == value
            for name, value in values.items()]


def find(conn: sa.Connection, db: Database, kv: KeyValues) -> str | None:
    """The primary key of the row with these key values, or None."""
    sql_table = db.tables[kv.table.logical_name]
    statement = sa.select(sql_table.c[kv.table.primary_id]).where(*_where(sql_table, kv.values)).limit(1)
    return conn.execute(statement).scalar()


def check_unique(conn: sa.Connection, db: Database, table: Table, values: Mapping[str, Any],
                 existing: Mapping | None = None) -> None:
    """Before a write: no other row may have the key values this row will have (the unique index enforces it too;
    this check names the key). `values` are the columns being written, `existing` the row being updated."""
    if not table.keys:
        return
    sql_table = db.tables[table.logical_name]
    for key in table.keys:
        if existing is not None and not any(name in values for name in key.attributes):
            continue
        row = {name: values[name] if name in values else (existing[name] if existing is not None else None)
               for name in key.attributes}
        if any(value is None for value in row.values()):
            continue  # SQL unique indexes (and Dataverse's) let rows without the key's values repeat
        statement = sa.select(sql_table.c[table.primary_id]).where(*_where(sql_table, row))
        if existing is not None:
            statement = statement.where(sql_table.c[table.primary_id] != existing[table.primary_id])
        if conn.execute(statement.limit(1)).first() is not None:
            raise duplicate(table, key)


def violated(table: Table, error: sa.exc.IntegrityError) -> DataverseError | None:
    """The duplicate-key error for a unique violation the database reported (a parallel writer won the race), when
    it is one of the table's keys: PostgreSQL names the index, SQLite the columns."""
    message = str(error.orig)
    for key in table.keys:
        columns = ", ".join(f"{table.logical_name}.{name}" for name in key.attributes)
        if key_index_name(table, key.logical_name) in message or columns in message:
            return duplicate(table, key)
    return None
