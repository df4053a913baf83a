"""Metadata writes over the Web API: tables (`POST EntityDefinitions`, the `CreateEntities` action), columns
(`POST EntityDefinitions(...)/Attributes`), alternate keys (`.../Keys`), relationships (`POST RelationshipDefinitions`)
and their deletes. Payloads are read into the metadata model here; store/ddl.py changes the schema and stores the
definitions in one transaction, and the new catalog serves the next request."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from flask import request

from .. import metadata, server
from ..errors import BadRequest, DataverseError, MethodNotAllowed, NotSupported
from ..metadata import Attribute, Catalog, EntityKey, Option, OptionSet, Table
from ..metadata import custom as c
from ..metadata import model as m
from ..metadata.model import Relationship
from ..odata import syntax
from ..odata.filter import normalize_guid
from ..odata.limits import FilterLimits
from ..odata.objects import ObjectType, parse_query, query_options
from ..responses import empty_response, json_response
from ..store import ddl
from .discovery import NAMESPACE, metadata_id
from .entitydefinitions import KEY, SEGMENTS, MetadataNotFound, key_metadata
from .entitydefinitions import _find_attribute as find_attribute
from .entitydefinitions import _find_table as find_entity
from .read import service_root
from .routing import Resource, handles

LANGUAGE = 1033
OPTION_VALUE_PREFIX = 10000  # the default publisher's option-value prefix: new options start at 100000000
# A custom name: a publisher prefix (2-8 letters and digits, starting with a letter, not `mscrm`), `_`, the rest.
_CUSTOM_NAME = re.compile(r"^(?P<prefix>[A-Za-z][A-Za-z0-9]{1,7})_(?P<rest>[A-Za-z0-9][A-Za-z0-9_]*)$")
MAX_NAME = 50  # longest schema name the emulator accepts for a table, column, key or relationship

# @odata.type (without namespace and `Complex`) or AttributeType -> the model's type
ATTRIBUTE_CLASSES = {
    "StringAttributeMetadata": m.STRING, "MemoAttributeMetadata": m.MEMO, "IntegerAttributeMetadata": m.INTEGER,
    "BigIntAttributeMetadata": m.BIGINT, "DecimalAttributeMetadata": m.DECIMAL,
    "DoubleAttributeMetadata": m.DOUBLE, "MoneyAttributeMetadata": m.MONEY,
    "BooleanAttributeMetadata": m.BOOLEAN, "DateTimeAttributeMetadata": m.DATETIME,
    "PicklistAttributeMetadata": m.PICKLIST, "MultiSelectPicklistAttributeMetadata": m.MULTISELECT,
    "LookupAttributeMetadata": m.LOOKUP,
}
ATTRIBUTE_TYPES = {
    "String": m.STRING, "Memo": m.MEMO, "Integer": m.INTEGER, "BigInt": m.BIGINT, "Decimal": m.DECIMAL,
    "Double": m.DOUBLE, "Money": m.MONEY, "Boolean": m.BOOLEAN, "DateTime": m.DATETIME, "Picklist": m.PICKLIST,
    "Lookup": m.LOOKUP,
}
NOT_EMULATED = {"FileAttributeMetadata": "File", "ImageAttributeMetadata": "Image"}  # Dataverse has them
KEY_TYPES = frozenset({m.DECIMAL, m.INTEGER, m.STRING, m.DATETIME, m.LOOKUP, m.PICKLIST})
CASCADE_ACTIONS = ("Assign", "Delete", "Merge", "Reparent", "Share", "Unshare", "Archive", "RollupView")
CASCADE_TYPES = frozenset({"Cascade", "Active", "UserOwned", "NoCascade", "RemoveLink", "Restrict"})
ONE_TO_MANY, MANY_TO_MANY = "OneToManyRelationship", "ManyToManyRelationship"


class InvalidName(DataverseError):
    """A custom name without a valid publisher prefix (400 0x800608ad, as observed on real orgs)."""

    code = "0x800608ad"


class DuplicateName(DataverseError):
    """A table, column, key or relationship name already taken (the emulator's choice: 400 DuplicateRecord)."""

    code = "0x80040237"


class UnknownTable(DataverseError):
    """A definition names a table the org does not have (400, the metadata cache's not-found code)."""

    code = "0x80041102"


# --- reading payloads --------------------------------------------------------------------------------------------

def body() -> dict[str, Any]:
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object (the metadata definition).")
    return data


def solution() -> str | None:
    """The solution a created component goes into (`MSCRM.SolutionUniqueName` header or `SolutionUniqueName`
    parameter). The emulator has no solutions: a given name is checked for form, then has no further effect."""
    name = request.headers.get("MSCRM.SolutionUniqueName") or request.args.get("SolutionUniqueName")
    if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise BadRequest(f"'{name}' is not a valid solution unique name.")
    return name


def label_text(value: Any, default: str = "") -> str:
    """The text of a Label (`{"LocalizedLabels":[{"Label":..,"LanguageCode":1033}]}`) in the org's language."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return default
    labels = [x for x in value.get("LocalizedLabels") or [] if isinstance(x, dict) and x.get("Label")]
    for item in labels:
        if item.get("LanguageCode") == LANGUAGE:
            return str(item["Label"])
    if labels:
        return str(labels[0]["Label"])
    user = value.get("UserLocalizedLabel")
    return str(user["Label"]) if isinstance(user, dict) and user.get("Label") else default


def custom_name(value: Any, what: str) -> str:
    """A custom schema name, checked for its publisher prefix; returned as sent."""
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The {what} definition needs a SchemaName.")
    match = _CUSTOM_NAME.match(value)
    if match is None or match.group("prefix").lower().startswith("mscrm"):
        raise InvalidName(f"The schema name '{value}' of the {what} is not valid: a custom {what}'s name starts "
                          f"with the publisher's customization prefix (2 to 8 letters or digits, starting with a "
                          f"letter, not 'mscrm') and an underscore, then letters, digits or underscores, "
                          f"e.g. 'new_{value.split('_')[-1] or 'name'}'.")
    if len(value) > MAX_NAME:
        raise InvalidName(f"The schema name '{value}' of the {what} is longer than {MAX_NAME} characters.")
    return value


def _class_name(odata_type: Any) -> str | None:
    if not isinstance(odata_type, str):
        return None
    name = odata_type.lstrip("#")
    if name.startswith(NAMESPACE + "."):
        name = name[len(NAMESPACE) + 1:]
    return name[len("Complex"):] if name.startswith("Complex") else name


def _number(payload: dict[str, Any], name: str, default: float | None) -> float | None:
    value = payload.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number, not {value!r}.")
    return value


def _options(payload: dict[str, Any], table: str, column: str, what: str) -> OptionSet:
    option_set = payload.get("OptionSet")
    if payload.get("GlobalOptionSet@odata.bind") or (isinstance(option_set, dict) and option_set.get("IsGlobal")):
        raise NotSupported("The emulator does not implement global choices (GlobalOptionSetDefinitions): define "
                           "the options on the column (OptionSet with IsGlobal false).")
    if not isinstance(option_set, dict) or not isinstance(option_set.get("Options"), list) \
            or not option_set["Options"]:
        raise BadRequest(f"The {what} column '{column}' needs an OptionSet with Options.")
    options: list[Option] = []
    next_value = OPTION_VALUE_PREFIX * 10000
    for raw in option_set["Options"]:
        if not isinstance(raw, dict):
            raise BadRequest("Each option is an object with Value and Label.")
        value = raw.get("Value")
        if value is None:
            while next_value in {o.value for o in options}:
                next_value += 1
            value = next_value
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"The option value {value!r} of column '{column}' is not an integer.")
        if value in {o.value for o in options}:
            raise DuplicateName(f"The option value {value} appears more than once in column '{column}'.")
        options.append(Option(value, label_text(raw.get("Label"), str(value))))
    return OptionSet(f"{table}_{column}", tuple(sorted(options, key=lambda o: o.value)), is_global=False)


def attribute_type(payload: dict[str, Any]) -> str:
    """The model type of an attribute payload: from @odata.type (what the SDK sends), else AttributeType."""
    name = _class_name(payload.get("@odata.type"))
    if name in NOT_EMULATED:
        raise NotSupported(f"The emulator does not implement {NOT_EMULATED[name]} columns ({name}).")
    if name is not None and name in ATTRIBUTE_CLASSES:
        return ATTRIBUTE_CLASSES[name]
    type_code = payload.get("AttributeType")
    type_name = payload.get("AttributeTypeName")
    if type_code == "Virtual" and isinstance(type_name, dict) and type_name.get("Value") == "MultiSelectPicklistType":
        return m.MULTISELECT
    if name is None and isinstance(type_code, str) and type_code in ATTRIBUTE_TYPES:
        return ATTRIBUTE_TYPES[type_code]
    shown = payload.get("@odata.type") or type_code
    raise BadRequest(f"The attribute type '{shown}' is not a type a column can be created with. Use one of: "
                     f"{', '.join(sorted(ATTRIBUTE_CLASSES))} (as @odata.type, namespace "
                     f"{NAMESPACE}).")


def parse_attribute(payload: Any, table: str, *, lookup_ok: bool = False) -> Attribute:
    """An attribute payload (§3.2 of the spec's metadata writes) as a model Attribute of table `table`."""
    if not isinstance(payload, dict):
        raise BadRequest("An attribute definition is a JSON object.")
    schema = custom_name(payload.get("SchemaName"), "column")
    logical = schema.lower()
    kind = attribute_type(payload)
    if kind == m.LOOKUP and not lookup_ok:
        raise BadRequest(f"Lookup column '{schema}' cannot be created through Attributes: create it with its "
                         f"relationship (POST RelationshipDefinitions with a Lookup).")
    required = payload.get("RequiredLevel")
    level = required.get("Value", "None") if isinstance(required, dict) else "None"
    if level not in ("None", "Recommended", "ApplicationRequired"):
        raise BadRequest(f"RequiredLevel '{level}' is not valid for a custom column: use None, Recommended or "
                         f"ApplicationRequired.")
    values: dict[str, Any] = {"required": level, "schema_name": schema,
                              "description": label_text(payload.get("Description"))}
    display = label_text(payload.get("DisplayName"), schema)
    fmt = payload.get("FormatName")
    fmt = fmt.get("Value") if isinstance(fmt, dict) else payload.get("Format")
    if kind in (m.STRING, m.MEMO):
        high = 4000 if kind == m.STRING else 1048576
        length = _number(payload, "MaxLength", 100 if kind == m.STRING else 2000)
        if length is None or int(length) != length or not 1 <= length <= high:
            raise BadRequest(f"MaxLength of column '{schema}' must be a whole number from 1 to {high}.")
        values.update(max_length=int(length), format=str(fmt or "Text"))
    elif kind in (m.INTEGER, m.BIGINT):
        bound = 2147483647 if kind == m.INTEGER else 9223372036854775807
        values.update(min_value=_number(payload, "MinValue", -bound - 1 if kind == m.INTEGER else -bound),
                      max_value=_number(payload, "MaxValue", bound), format=str(fmt or "None"))
    elif kind in (m.DECIMAL, m.DOUBLE, m.MONEY):
        bound = 922337203685477 if kind == m.MONEY else 100000000000
        precision = payload.get("Precision", payload.get("PrecisionSource", 2)) if kind == m.MONEY \
            else payload.get("Precision", 2)
        top = {m.DECIMAL: 10, m.DOUBLE: 5, m.MONEY: 4}[kind]
        if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= top:
            raise BadRequest(f"Precision of column '{schema}' must be a whole number from 0 to {top}.")
        values.update(precision=precision, min_value=_number(payload, "MinValue", -bound),
                      max_value=_number(payload, "MaxValue", bound))
    elif kind == m.DATETIME:
        if fmt not in (None, "DateOnly", "DateAndTime"):
            raise BadRequest(f"Format '{fmt}' of column '{schema}' is not valid: use DateOnly or DateAndTime.")
        values["format"] = fmt or "DateAndTime"
    elif kind == m.BOOLEAN:
        raw_set = payload.get("OptionSet")
        option_set: dict[str, Any] = raw_set if isinstance(raw_set, dict) else {}
        true, false = option_set.get("TrueOption") or {}, option_set.get("FalseOption") or {}
        values.update(true_label=label_text(true.get("Label"), "Yes"), false_label=label_text(false.get("Label"), "No"),
                      default=bool(payload.get("DefaultValue", False)))
    elif kind in (m.PICKLIST, m.MULTISELECT):
        values["option_set"] = _options(payload, table, logical, "choice")
        default = payload.get("DefaultFormValue")
        if isinstance(default, int) and not isinstance(default, bool) and default != -1:
            values["default"] = default
    return Attribute(logical, kind, display, **values)


def entity_set_name(logical: str) -> str:
    """The plural Dataverse gives a new table's entity set (English rules; spec: unverified beyond `+s`)."""
    if re.search(r"(s|x|z|ch|sh)$", logical):
        return logical + "es"
    if re.search(r"[^aeiou]y$", logical):
        return logical[:-1] + "ies"
    return logical + "s"


def parse_table(payload: Any, catalog: Catalog) -> tuple[c.TableHeader, c.TableDefinition]:
    """An EntityMetadata payload (with its Attributes, one of them the primary name) as a custom table."""
    if not isinstance(payload, dict):
        raise BadRequest("A table definition is a JSON object.")
    name = _class_name(payload.get("@odata.type"))
    if name not in (None, "EntityMetadata"):
        raise BadRequest(f"'{payload.get('@odata.type')}' is not a table definition type: use "
                         f"{NAMESPACE}.EntityMetadata.")
    schema = custom_name(payload.get("SchemaName"), "table")
    logical = schema.lower()
    if payload.get("IsActivity"):
        raise NotSupported("The emulator does not implement custom activity tables (IsActivity true).")
    ownership = payload.get("OwnershipType", "UserOwned")
    if ownership not in ("UserOwned", "OrganizationOwned"):
        raise BadRequest(f"OwnershipType '{ownership}' is not valid for a new table: use UserOwned or "
                         f"OrganizationOwned.")
    raw_attributes = payload.get("Attributes")
    if not isinstance(raw_attributes, list) or not raw_attributes:
        raise BadRequest(f"The table '{schema}' needs its primary name column in Attributes (a "
                         f"StringAttributeMetadata with IsPrimaryName true).")
    attributes = [parse_attribute(a, logical) for a in raw_attributes]
    primaries = [attr for attr, raw in zip(attributes, raw_attributes, strict=True) if raw.get("IsPrimaryName")]
    if len(primaries) != 1 or primaries[0].type != m.STRING:
        raise BadRequest(f"The table '{schema}' needs exactly one primary name column: a StringAttributeMetadata "
                         f"with IsPrimaryName true.")
    entity_set = payload.get("EntitySetName") or entity_set_name(logical)
    if not isinstance(entity_set, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", entity_set):
        raise BadRequest(f"EntitySetName '{entity_set}' is not valid: lower-case letters, digits and underscores.")
    display = label_text(payload.get("DisplayName"), schema)
    codes = [t.object_type_code or 0 for t in catalog.tables]
    header = c.TableHeader(logical, schema, entity_set, display,
                           label_text(payload.get("DisplayCollectionName"), display + "s"),
                           label_text(payload.get("Description")), ownership,
                           max([9999, *codes]) + 1, change_tracking=payload.get("ChangeTrackingEnabled") is True)
    _check_columns(header.primary_id, attributes, schema)
    return header, c.TableDefinition(logical, header, tuple(attributes), primary_name=primaries[0].logical_name)


def _check_columns(primary_id: str, attributes: Iterable[Attribute], table: str) -> None:
    seen = {primary_id}
    for attr in attributes:
        if attr.logical_name in seen:
            raise DuplicateName(f"The column name '{attr.schema_name}' appears more than once in table '{table}'.")
        seen.add(attr.logical_name)


def _taken(catalog: Catalog, header: c.TableHeader) -> None:
    if catalog.find(header.logical_name) is not None:
        raise DuplicateName(f"An entity with the specified name already exists: '{header.schema_name}' "
                            f"(logical name {header.logical_name}).")
    if catalog.by_entity_set(header.entity_set) is not None:
        raise DuplicateName(f"The entity set name '{header.entity_set}' is already used by another table.")


def find_table(catalog: Catalog, logical_name: str, what: str) -> Table:
    table = catalog.find(logical_name.lower()) if isinstance(logical_name, str) else None
    if table is None:
        raise UnknownTable(f"The entity '{logical_name}' named as {what} does not exist (it was not found in "
                           f"the MetadataCache).")
    return table


# --- tables ------------------------------------------------------------------------------------------------------

def create_tables(payloads: list[Any]) -> list[Table]:
    headers: list[c.TableHeader] = []

    def plan(_stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        change = ddl.Change()
        headers.clear()
        names: set[str] = set()
        for payload in payloads:
            header, definition = parse_table(payload, catalog)
            _taken(catalog, header)
            if header.logical_name in names:
                raise DuplicateName(f"The table '{header.schema_name}' is defined twice in one request.")
            names.add(header.logical_name)
            if change.tables:  # object type codes of tables made together
                codes = [d.header.object_type_code or 0 for d in change.tables.values() if d.header]
                header = dataclasses.replace(header, object_type_code=max(codes) + 1)
                definition = c.TableDefinition(header.logical_name, header, definition.attributes,
                                               primary_name=definition.primary_name)
            headers.append(header)
            change.tables[header.logical_name] = definition
            change.ddl.append(ddl.create_table(header.logical_name))
        return change

    catalog = ddl.apply(server.current().db, plan)
    return [catalog.table(h.logical_name) for h in headers]


def delete_table(table: Table) -> None:
    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        current = catalog.find(table.logical_name)
        if current is None:
            raise UnknownTable(f"The entity '{table.logical_name}' does not exist.")
        if not current.is_custom:
            raise BadRequest(f"The entity '{table.logical_name}' is a system entity: only custom tables can be "
                             f"deleted.", code="0x80048403")
        if current.is_intersect:
            raise BadRequest(f"The entity '{table.logical_name}' is the intersect table of a many-to-many "
                             f"relationship: delete the relationship instead.", code="0x80048403")
        change = ddl.Change()
        for relationship in catalog.relationships:
            if table.logical_name in relationship.tables:
                _drop_relationship(relationship, stored, catalog, change, dropping=table.logical_name)
        change.tables[table.logical_name] = c.TableDefinition(table.logical_name, None)
        change.ddl.append(ddl.drop_table(table.logical_name))
        return change

    ddl.apply(server.current().db, plan)


def add_attribute(table: Table, payload: Any) -> Attribute:
    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        current = find_table(catalog, table.logical_name, "the table")
        attr = parse_attribute(payload, current.logical_name)
        _free_column(current, attr)
        change = ddl.Change()
        change.tables[current.logical_name] = stored.definition(current.logical_name).with_attribute(attr)
        change.ddl.append(ddl.add_column(current.logical_name, attr.logical_name))
        made.append(attr)
        return change

    made: list[Attribute] = []
    ddl.apply(server.current().db, plan)
    return made[-1]


def _free_column(table: Table, attr: Attribute) -> None:
    if table.attribute(attr.logical_name) is not None or table.by_property(attr.logical_name) is not None:
        raise DuplicateName(f"An attribute with the specified name '{attr.schema_name}' already exists on "
                            f"entity '{table.logical_name}'.")


def delete_attribute(table: Table, attr: Attribute) -> None:
    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        definition = stored.definition(table.logical_name)
        custom = {a.logical_name for a in definition.attributes}
        if attr.logical_name not in custom or attr.logical_name == definition.primary_name:
            raise BadRequest(f"The attribute '{attr.logical_name}' of '{table.logical_name}' is a system or "
                             f"primary attribute and cannot be deleted.", code="0x80048403")
        for relationship in catalog.relationships:
            if relationship.referencing_entity == table.logical_name \
                    and relationship.referencing_attribute == attr.logical_name:
                raise BadRequest(f"The lookup '{attr.logical_name}' belongs to relationship "
                                 f"'{relationship.schema_name}': delete the relationship instead.",
                                 code="0x80048403")
        for entity_key in catalog.table(table.logical_name).keys:
            if attr.logical_name in entity_key.attributes:
                raise BadRequest(f"The attribute '{attr.logical_name}' is part of the alternate key "
                                 f"'{entity_key.logical_name}': delete the key first.", code="0x80048403")
        change = ddl.Change()
        change.tables[table.logical_name] = definition.without_attribute(attr.logical_name)
        change.ddl.append(ddl.drop_column(table.logical_name, attr.logical_name))
        return change

    ddl.apply(server.current().db, plan)


# --- keys --------------------------------------------------------------------------------------------------------

def create_key(table: Table, payload: Any) -> EntityKey:
    if not isinstance(payload, dict):
        raise BadRequest("A key definition is a JSON object.")
    schema = custom_name(payload.get("SchemaName"), "key")
    columns = payload.get("KeyAttributes")
    if not isinstance(columns, list) or not columns or not all(isinstance(x, str) for x in columns):
        raise BadRequest("KeyAttributes must list the key's column logical names.")
    made: list[EntityKey] = []

    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        current = find_table(catalog, table.logical_name, "the table")
        if len(columns) > 16:
            raise BadRequest("A key has at most 16 columns.")
        if len(current.keys) >= 10:
            raise BadRequest(f"The table '{current.logical_name}' already has 10 alternate keys, the most a "
                             f"table may have.")
        names = []
        for column in columns:
            attr = current.attribute(column.lower())
            if attr is None:
                raise BadRequest(f"The key column '{column}' is not a column of '{current.logical_name}'.")
            if attr.type not in KEY_TYPES:
                raise BadRequest(f"The column '{column}' ({attr.type}) cannot be part of a key: key columns are "
                                 f"Decimal, Integer, String, DateTime, Lookup or Picklist.")
            names.append(attr.logical_name)
        if len(set(names)) != len(names):
            raise BadRequest("A key names each column once.")
        entity_key = EntityKey(schema.lower(), tuple(names), label_text(payload.get("DisplayName"), schema),
                               schema_name=schema)
        if any(k.logical_name == entity_key.logical_name for k in current.keys):
            raise DuplicateName(f"The key '{schema}' already exists on entity '{current.logical_name}'.")
        if any(k.attributes == entity_key.attributes for k in current.keys):
            raise DuplicateName(f"A key with columns {', '.join(names)} already exists on entity "
                                f"'{current.logical_name}'.")
        change = ddl.Change()
        change.tables[current.logical_name] = stored.definition(current.logical_name).with_key(entity_key)
        change.ddl.append(ddl.create_key(current.logical_name, entity_key.logical_name))
        made.append(entity_key)
        return change

    try:
        ddl.apply(server.current().db, plan)
    except ddl.IntegrityError:
        raise DataverseError(f"The key '{schema}' cannot be created: rows of '{table.logical_name}' already share "
                             f"values of {', '.join(columns)}, which a key requires to be unique.",
                             code="0x80040237", status=400) from None
    return made[-1]


def delete_key(table: Table, entity_key: EntityKey) -> None:
    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        definition = stored.definition(table.logical_name)
        if all(k.logical_name != entity_key.logical_name for k in definition.keys):
            raise BadRequest(f"The key '{entity_key.logical_name}' is not a custom key and cannot be deleted.",
                             code="0x80048403")
        change = ddl.Change()
        change.tables[table.logical_name] = definition.without_key(entity_key.logical_name)
        change.ddl.append(ddl.drop_key(table.logical_name, entity_key.logical_name))
        return change

    ddl.apply(server.current().db, plan)


# --- relationships -----------------------------------------------------------------------------------------------

def _cascade(payload: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    raw = payload.get("CascadeConfiguration") or {}
    if not isinstance(raw, dict):
        raise BadRequest("CascadeConfiguration must be an object.")
    defaults = {"Assign": "NoCascade", "Delete": "RemoveLink", "Merge": "NoCascade", "Reparent": "NoCascade",
                "Share": "NoCascade", "Unshare": "NoCascade"}
    out = []
    for action in CASCADE_ACTIONS:
        value = raw.get(action, defaults.get(action))
        if value is None:
            continue
        if value not in CASCADE_TYPES:
            raise BadRequest(f"'{value}' is not a CascadeType for {action}.")
        out.append((action, value))
    return tuple(out)


def _name_free(catalog: Catalog, schema: str) -> None:
    if catalog.relationship(schema) is not None or catalog.find(schema.lower()) is not None:
        raise DuplicateName(f"A relationship or table named '{schema}' already exists.")


def create_relationship(payload: Any) -> Relationship:
    if not isinstance(payload, dict):
        raise BadRequest("A relationship definition is a JSON object.")
    kind = _class_name(payload.get("@odata.type"))
    if kind not in ("OneToManyRelationshipMetadata", "ManyToManyRelationshipMetadata"):
        raise BadRequest(f"'{payload.get('@odata.type')}' is not a relationship type: use {NAMESPACE}."
                         f"OneToManyRelationshipMetadata or {NAMESPACE}.ManyToManyRelationshipMetadata.")
    schema = custom_name(payload.get("SchemaName"), "relationship")
    made: list[Relationship] = []

    def one_to_many(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        _name_free(catalog, schema)
        parent = find_table(catalog, payload.get("ReferencedEntity", ""), "ReferencedEntity")
        child = find_table(catalog, payload.get("ReferencingEntity", ""), "ReferencingEntity")
        if child.is_intersect or parent.is_intersect:
            raise BadRequest("An intersect table cannot take part in a one-to-many relationship.")
        referenced = payload.get("ReferencedAttribute") or parent.primary_id
        if referenced != parent.primary_id:
            raise BadRequest(f"ReferencedAttribute must be '{parent.primary_id}', the key of {parent.logical_name}.")
        lookup = payload.get("Lookup")
        if not isinstance(lookup, dict):
            raise BadRequest("A one-to-many relationship needs its Lookup (a LookupAttributeMetadata).")
        attr = parse_attribute({**lookup, "@odata.type": lookup.get("@odata.type")
                                or f"{NAMESPACE}.LookupAttributeMetadata"}, child.logical_name, lookup_ok=True)
        if attr.type != m.LOOKUP:
            raise BadRequest("The relationship's Lookup must be a LookupAttributeMetadata.")
        referencing = payload.get("ReferencingAttribute")
        if referencing and referencing.lower() != attr.logical_name:
            raise BadRequest(f"ReferencingAttribute '{referencing}' differs from the Lookup's name "
                             f"'{attr.schema_name}'.")
        nav = payload.get("ReferencingEntityNavigationPropertyName") or attr.schema_name
        collection = payload.get("ReferencedEntityNavigationPropertyName") or schema
        for name in (nav, collection):
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise BadRequest(f"'{name}' is not a valid navigation property name.")
        if child.by_property(nav) is not None or any(nav == n for a in child.lookups for _, n in a.navigation):
            raise DuplicateName(f"The navigation property '{nav}' already exists on '{child.logical_name}'.")
        attr = Attribute(attr.logical_name, m.LOOKUP, attr.display_name, attr.description,
                         targets=(parent.logical_name,), navigation=((parent.logical_name, nav),),
                         required=attr.required, schema_name=attr.schema_name)
        _free_column(child, attr)
        relationship = Relationship(schema, ONE_TO_MANY, referenced_entity=parent.logical_name,
                                    referenced_attribute=parent.primary_id, referencing_entity=child.logical_name,
                                    referencing_attribute=attr.logical_name, referenced_navigation=collection,
                                    referencing_navigation=nav, cascade=_cascade(payload))
        change = ddl.Change()
        change.tables[child.logical_name] = stored.definition(child.logical_name).with_attribute(attr)
        change.relationships[relationship.logical_name] = relationship
        change.ddl.append(ddl.add_column(child.logical_name, attr.logical_name))
        made.append(relationship)
        return change

    def many_to_many(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        _name_free(catalog, schema)
        one = find_table(catalog, payload.get("Entity1LogicalName", ""), "Entity1LogicalName")
        two = find_table(catalog, payload.get("Entity2LogicalName", ""), "Entity2LogicalName")
        intersect_schema = payload.get("IntersectEntityName") or schema
        intersect = custom_name(intersect_schema, "intersect table").lower()
        if catalog.find(intersect) is not None:
            raise DuplicateName(f"An entity with the specified name already exists: '{intersect}'.")
        first, second = f"{one.logical_name}id", f"{two.logical_name}id"
        if first == second:
            first, second = first + "one", second + "two"
        header = c.TableHeader(intersect, intersect_schema, f"{intersect}collection", intersect_schema,
                               intersect_schema, "", "None", None, is_intersect=True)
        columns = tuple(Attribute(name, m.UNIQUEIDENTIFIER, name, required="SystemRequired",
                                  valid_for_create=False, valid_for_update=False) for name in (first, second))
        pair = EntityKey("pair", (first, second), "Pair", schema_name="pair")
        definition = c.TableDefinition(intersect, header, columns, (pair,))
        navigation = (payload.get("Entity1NavigationPropertyName") or schema,
                      payload.get("Entity2NavigationPropertyName") or schema)
        relationship = Relationship(schema, MANY_TO_MANY, entity1=one.logical_name, entity2=two.logical_name,
                                    intersect_entity=intersect, entity1_attribute=first, entity2_attribute=second,
                                    entity1_navigation=navigation[0], entity2_navigation=navigation[1])
        change = ddl.Change()
        change.tables[intersect] = definition
        change.relationships[relationship.logical_name] = relationship
        change.ddl.append(ddl.create_table(intersect))
        made.append(relationship)
        return change

    ddl.apply(server.current().db, one_to_many if kind == "OneToManyRelationshipMetadata" else many_to_many)
    return made[-1]


def _drop_relationship(relationship: Relationship, stored: ddl.Stored, catalog: Catalog, change: ddl.Change,
                       dropping: str | None = None) -> None:
    """Into `change`: the relationship goes, with its lookup column (1:N) or intersect table (N:N), except what
    belongs to the table being dropped anyway."""
    change.relationships[relationship.logical_name] = None
    if relationship.kind == ONE_TO_MANY:
        child = relationship.referencing_entity
        if child != dropping:
            definition = change.tables.get(child) or stored.definition(child)
            change.tables[child] = definition.without_attribute(relationship.referencing_attribute)
            change.ddl.append(ddl.drop_column(child, relationship.referencing_attribute))
    else:
        change.tables[relationship.intersect_entity] = c.TableDefinition(relationship.intersect_entity, None)
        change.ddl.append(ddl.drop_table(relationship.intersect_entity))


def delete_relationship(relationship: Relationship) -> None:
    def plan(stored: ddl.Stored, catalog: Catalog) -> ddl.Change:
        current = catalog.relationship(relationship.schema_name)
        if current is None:
            raise UnknownTable(f"The relationship '{relationship.schema_name}' does not exist.")
        change = ddl.Change()
        _drop_relationship(current, stored, catalog, change)
        return change

    ddl.apply(server.current().db, plan)


def relationship_metadata(relationship: Relationship) -> dict[str, Any]:
    base = {"@odata.type": f"#{NAMESPACE}.{relationship.kind}Metadata",
            "MetadataId": metadata_id("relationship", relationship.logical_name), "HasChanged": None,
            "SchemaName": relationship.schema_name, "RelationshipType": relationship.kind, "IsCustomRelationship": True,
            "IsManaged": False, "IsValidForAdvancedFind": True, "SecurityTypes": "None",
            "IsCustomizable": {"Value": True, "CanBeChanged": True,
                               "ManagedPropertyLogicalName": "iscustomizable"},
            "IntroducedVersion": "1.0"}
    if relationship.kind == ONE_TO_MANY:
        base.update({"ReferencedEntity": relationship.referenced_entity,
                     "ReferencedAttribute": relationship.referenced_attribute,
                     "ReferencingEntity": relationship.referencing_entity,
                     "ReferencingAttribute": relationship.referencing_attribute,
                     "ReferencedEntityNavigationPropertyName": relationship.referenced_navigation,
                     "ReferencingEntityNavigationPropertyName": relationship.referencing_navigation,
                     "IsHierarchical": False, "CascadeConfiguration": dict(relationship.cascade)})
    else:
        base.update({"Entity1LogicalName": relationship.entity1, "Entity2LogicalName": relationship.entity2,
                     "IntersectEntityName": relationship.intersect_entity,
                     "Entity1IntersectAttribute": relationship.entity1_attribute,
                     "Entity2IntersectAttribute": relationship.entity2_attribute,
                     "Entity1NavigationPropertyName": relationship.entity1_navigation,
                     "Entity2NavigationPropertyName": relationship.entity2_navigation})
    return base


def created(path: str) -> Any:
    """Dataverse's answer to a metadata create: 204 with the new definition's address in OData-EntityId."""
    return empty_response(204, {"OData-EntityId": f"{service_root()}{path}"})


def entity_id_path(table: Table) -> str:
    return f"EntityDefinitions({metadata_id('entity', table.logical_name)})"


def create_entities_response(tables: list[Table]) -> Any:
    return json_response({"@odata.context": f"{service_root()}$metadata#{NAMESPACE}.CreateEntitiesResponse",
                          "EntityIds": [metadata_id("entity", t.logical_name) for t in tables]})


# --- routes ------------------------------------------------------------------------------------------------------

# EntityDefinitions(<key>)[/<segment>[(<key>)]]
_PATH = re.compile(r"^(?:\((?P<key>[^)]*)\))?(?:/(?P<segment>[A-Za-z]+)(?:\((?P<item>[^)]*)\))?)?/?$")


def _parts(resource: Resource) -> tuple[str | None, str | None, str | None]:
    match = _PATH.match(resource.rest)
    if match is None:
        raise NotSupported(f"The emulator does not implement {request.method} on '{resource.path}'.")
    return match.group("key"), match.group("segment"), match.group("item")


def find_key(table: Table, raw: str) -> EntityKey:
    wanted = _key_value(raw)
    for entity_key in table.keys:
        if wanted in (entity_key.logical_name, metadata_id("key", table.logical_name, entity_key.logical_name)):
            return entity_key
    raise MetadataNotFound(f"Could not find key '{raw}' of entity '{table.logical_name}' in the MetadataCache.")


def _key_value(raw: str) -> str:
    match = re.fullmatch(r"\s*(?:LogicalName|SchemaName)\s*=\s*'([^']*)'\s*", raw)
    if match:
        return match.group(1).lower()
    return normalize_guid(raw.strip().strip("'")) or raw.strip().lower()


@handles("EntityDefinitions", "POST")
def post_entity_definitions(resource: Resource):
    key, segment, item = _parts(resource)
    solution()
    if key is None and segment is None:
        [table] = create_tables([body()])
        return created(entity_id_path(table))
    if key is None or item is not None or segment not in ("Attributes", "Keys"):
        raise NotSupported(f"The emulator does not implement POST on '{resource.path}': it creates tables "
                           f"(POST EntityDefinitions), columns (.../Attributes) and keys (.../Keys).")
    table = find_entity(key)
    if segment == "Attributes":
        attr = add_attribute(table, body())
        return created(f"EntityDefinitions({key})/Attributes("
                       f"{metadata_id('attribute', table.logical_name, attr.logical_name)})")
    entity_key = create_key(table, body())
    return created(f"EntityDefinitions({key})/Keys({metadata_id('key', table.logical_name, entity_key.logical_name)})")


@handles("EntityDefinitions", "DELETE")
def delete_entity_definitions(resource: Resource):
    key, segment, item = _parts(resource)
    if key is None:
        raise MethodNotAllowed("DELETE needs one definition: EntityDefinitions(<MetadataId>) or "
                               "EntityDefinitions(LogicalName='<name>').")
    table = find_entity(key)
    if segment is None:
        delete_table(table)
    elif segment == "Attributes" and item is not None:
        delete_attribute(table, find_attribute(table, item))
    elif segment == "Keys" and item is not None:
        delete_key(table, find_key(table, item))
    else:
        raise NotSupported(f"The emulator does not implement DELETE on '{resource.path}'.")
    return empty_response(204)


@handles("EntityDefinitions", "PUT", "PATCH")
def update_entity_definitions(resource: Resource):
    if request.method == "PATCH":
        raise MethodNotAllowed("Metadata definitions are updated with PUT of the whole definition, not PATCH.")
    raise NotSupported("The emulator does not implement updating table or column definitions (PUT "
                       "EntityDefinitions...): create new columns, or delete and re-create.")


@handles("CreateEntities", "POST")
def create_entities(resource: Resource):
    if resource.rest not in ("", "/"):
        raise NotSupported(f"The emulator does not implement '{resource.path}'.")
    solution()
    entities = body().get("Entities")
    if not isinstance(entities, list) or not entities:
        raise BadRequest("CreateEntities needs Entities: a list of table definitions (ComplexEntityMetadata).")
    return create_entities_response(create_tables(entities))


def _find_relationship(raw: str) -> Relationship:
    wanted = _key_value(raw)
    for relationship in metadata.current().relationships:
        if wanted in (relationship.logical_name, metadata_id("relationship", relationship.logical_name)):
            return relationship
    raise MetadataNotFound(f"Could not find relationship '{raw}' in the MetadataCache.")


@handles("RelationshipDefinitions", "POST")
def post_relationship(resource: Resource):
    if resource.rest not in ("", "/"):
        raise NotSupported(f"The emulator does not implement POST on '{resource.path}'.")
    solution()
    relationship = create_relationship(body())
    return created(f"RelationshipDefinitions({metadata_id('relationship', relationship.logical_name)})")


@handles("RelationshipDefinitions", "DELETE")
def delete_relationship_definition(resource: Resource):
    key, segment, _ = _parts(resource)
    if key is None or segment is not None:
        raise MethodNotAllowed("DELETE needs one relationship: RelationshipDefinitions(<MetadataId>).")
    delete_relationship(_find_relationship(key))
    return empty_response(204)


@handles("RelationshipDefinitions", "PUT", "PATCH")
def update_relationship(resource: Resource):
    raise NotSupported("The emulator does not implement updating relationship definitions (PUT "
                       "RelationshipDefinitions...).")


RELATIONSHIP = ObjectType(f"{NAMESPACE}.RelationshipMetadataBase", frozenset({
    "MetadataId", "HasChanged", "SchemaName", "RelationshipType", "IsCustomRelationship", "IsManaged",
    "IsValidForAdvancedFind", "SecurityTypes", "IsCustomizable", "IntroducedVersion", "ReferencedEntity",
    "ReferencedAttribute", "ReferencingEntity", "ReferencingAttribute", "ReferencedEntityNavigationPropertyName",
    "ReferencingEntityNavigationPropertyName", "IsHierarchical", "CascadeConfiguration", "Entity1LogicalName",
    "Entity2LogicalName", "IntersectEntityName", "Entity1IntersectAttribute", "Entity2IntersectAttribute",
    "Entity1NavigationPropertyName", "Entity2NavigationPropertyName"}), "MetadataId")
def _query(kind: ObjectType, one: bool):
    options = query_options(request.args.items(multi=True))
    if one and "$filter" in options:
        raise BadRequest("$filter applies to a collection, not to one definition.")
    settings = server.current().settings
    return options.get("$select"), parse_query(options, kind, syntax.aliases_from(request.args),
                                               FilterLimits(settings.max_filter_depth, settings.max_filter_conditions))


def _listing(context: str, kind: ObjectType, items: list[dict[str, Any]], one: bool, keep_type: bool = False):
    """Items of a collection typed by its declared type carry no @odata.type; those of a collection of a base
    type (RelationshipDefinitions) carry theirs."""
    select, query = _query(kind, one)
    names = f"({select})" if select and select.strip() not in ("", "*") else ""
    if one:
        [item] = items
        return json_response({"@odata.context": f"{context}{names}/$entity",
                              **query.shape(item, keep_type=keep_type)})
    return json_response({"@odata.context": f"{context}{names}",
                          "value": [query.shape(i, keep_type=keep_type) for i in items if query.matches(i)]})


@handles("RelationshipDefinitions", "GET")
def get_relationships(resource: Resource):
    key, segment, _ = _parts(resource)
    base = f"{service_root()}$metadata#RelationshipDefinitions"
    if segment is not None:
        raise NotSupported(f"The emulator does not implement '{resource.path}' (casts and segments of "
                           f"RelationshipDefinitions): filter the collection instead.")
    relationships = list(metadata.current().relationships)
    if key is not None:
        return _listing(base, RELATIONSHIP, [relationship_metadata(_find_relationship(key))], one=True,
                        keep_type=True)
    return _listing(base, RELATIONSHIP, [relationship_metadata(r) for r in relationships], one=False,
                    keep_type=True)


def related_definitions(table: Table, segment: str, item: str | None, raw_key: str):
    """GET EntityDefinitions(<key>)/Keys[(<key>)] and the three relationship collections (run-time ones)."""
    context = f"{service_root()}$metadata#EntityDefinitions({raw_key})/{segment}"
    if segment == "Keys":
        if item is not None:
            return _listing(context, KEY, [key_metadata(table, find_key(table, item))], one=True)
        return _listing(context, KEY, [key_metadata(table, k) for k in table.keys], one=False)
    if item is not None:
        raise NotSupported(f"The emulator does not implement addressing one item of {segment}: use "
                           f"RelationshipDefinitions(<MetadataId>).")
    rels = metadata.current().relationships
    name = table.logical_name
    chosen = {"OneToManyRelationships": [r for r in rels if r.kind == ONE_TO_MANY and r.referenced_entity == name],
              "ManyToOneRelationships": [r for r in rels if r.kind == ONE_TO_MANY and r.referencing_entity == name],
              "ManyToManyRelationships": [r for r in rels if r.kind == MANY_TO_MANY and name in (r.entity1,
                                                                                                   r.entity2)]}
    return _listing(context, RELATIONSHIP, [relationship_metadata(r) for r in chosen[segment]], one=False)


SEGMENTS.update(dict.fromkeys(("Keys", "OneToManyRelationships", "ManyToOneRelationships", "ManyToManyRelationships"),
                              related_definitions))
