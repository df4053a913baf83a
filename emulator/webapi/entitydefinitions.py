"""EntityDefinitions: table, column and option-set metadata as Dataverse's metadata Web API returns it, with
$select, $filter and $expand (of Attributes, OptionSet and GlobalOptionSet) run over it by odata/objects.py."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, request

from .. import metadata, server
from ..errors import BadRequest, DataverseError, ResourceNotFound
from ..metadata import Attribute, EntityKey, Option, Table
from ..metadata import model as m
from ..odata import syntax
from ..odata.filter import normalize_guid
from ..odata.limits import FilterLimits
from ..odata.objects import ObjectQuery, ObjectType, parse_query, query_options
from ..responses import json_response
from .discovery import NAMESPACE, metadata_id
from .read import service_root
from .routing import Resource, handles

LANGUAGE = 1033
# EntityDefinitions(<key>)[/Attributes[(<key>)][/<cast>]]
_REST = re.compile(r"^(?:\((?P<key>[^)]*)\))?(?:/(?P<attributes>Attributes)(?:\((?P<attr_key>[^)]*)\))?"
                   r"(?:/(?P<cast>[^/()]+))?)?/?$")
# EntityDefinitions(<key>)/Keys[(<key>)] and the relationship collections, served by the module that registers them
# in SEGMENTS (webapi/metadata_writes.py): (table, segment, item key or None, the table's key as written) -> response
SEGMENTS: dict[str, Callable[[Table, str, str | None, str], Response]] = {}
_RELATED = re.compile(r"^\((?P<key>[^)]*)\)/(?P<segment>Keys|OneToManyRelationships|ManyToOneRelationships|"
                      r"ManyToManyRelationships)(?:\((?P<item>[^)]*)\))?/?$")
_KEY = re.compile(r"^\s*LogicalName\s*=\s*'(?P<name>[^']*)'\s*$")

METADATA_TYPES = {  # attribute type -> its AttributeMetadata class
    m.UNIQUEIDENTIFIER: "UniqueIdentifierAttributeMetadata", m.STRING: "StringAttributeMetadata",
    m.MEMO: "MemoAttributeMetadata", m.INTEGER: "IntegerAttributeMetadata", m.BIGINT: "BigIntAttributeMetadata",
    m.DECIMAL: "DecimalAttributeMetadata", m.DOUBLE: "DoubleAttributeMetadata", m.MONEY: "MoneyAttributeMetadata",
    m.BOOLEAN: "BooleanAttributeMetadata", m.DATETIME: "DateTimeAttributeMetadata",
    m.PICKLIST: "PicklistAttributeMetadata", m.STATE: "StateAttributeMetadata", m.STATUS: "StatusAttributeMetadata",
    m.MULTISELECT: "MultiSelectPicklistAttributeMetadata", m.LOOKUP: "LookupAttributeMetadata",
    m.CUSTOMER: "LookupAttributeMetadata", m.OWNER: "LookupAttributeMetadata",
    m.ENTITYNAME: "EntityNameAttributeMetadata",
}
ENUM_TYPES = frozenset({m.PICKLIST, m.STATE, m.STATUS, m.MULTISELECT})
# Schema names of the standard tables and columns (custom ones keep their logical name, as Dataverse does).
SCHEMA_NAMES = {
    "systemuser": "SystemUser", "activityid": "ActivityId", "createdon": "CreatedOn", "modifiedon": "ModifiedOn",
    "createdby": "CreatedBy", "modifiedby": "ModifiedBy", "ownerid": "OwnerId", "statecode": "StateCode",
    "statuscode": "StatusCode", "versionnumber": "VersionNumber", "overriddencreatedon": "OverriddenCreatedOn",
    "prioritycode": "PriorityCode", "regardingobjectid": "RegardingObjectId", "activitytypecode": "ActivityTypeCode",
    "fullname": "FullName", "firstname": "FirstName", "lastname": "LastName", "emailaddress1": "EMailAddress1",
    "internalemailaddress": "InternalEMailAddress", "domainname": "DomainName", "isdisabled": "IsDisabled",
    "accountnumber": "AccountNumber", "parentcustomerid": "ParentCustomerId", "ticketnumber": "TicketNumber",
    "address1_city": "Address1_City",
}


def schema_name(logical_name: str) -> str:
    if logical_name.startswith("msdyn_") or "_" in logical_name.rstrip("_"):
        return SCHEMA_NAMES.get(logical_name, logical_name)
    if logical_name in SCHEMA_NAMES:
        return SCHEMA_NAMES[logical_name]
    if logical_name.endswith("id") and len(logical_name) > 2:
        return logical_name[:-2].capitalize() + "Id"
    return logical_name.capitalize()


class MetadataNotFound(DataverseError):
    status = 404
    code = "0x80041102"  # Dataverse's "not found in the MetadataCache"


def label(text: str) -> dict:
    """A Label: LocalizedLabels plus the caller's UserLocalizedLabel (one language, 1033)."""
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {"Label": text, "LanguageCode": LANGUAGE, "IsManaged": True,
                 "MetadataId": metadata_id("label", text), "HasChanged": None}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def entity_metadata(table: Table) -> dict:
    custom = table.is_custom or table.logical_name.startswith("msdyn_")
    return {
        "MetadataId": metadata_id("entity", table.logical_name),
        "LogicalName": table.logical_name,
        "SchemaName": table.schema_name or schema_name(table.logical_name),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "DisplayName": label(table.display_name),
        "DisplayCollectionName": label(table.display_collection_name),
        "Description": label(table.description),
        "OwnershipType": table.ownership,
        "IsActivity": table.is_activity,
        "IsCustomEntity": custom,
        "IsManaged": not table.is_custom,
        "IsIntersect": table.is_intersect,
        "IsPrivate": False,
        "ObjectTypeCode": table.object_type_code,
        "IsLogicalEntity": False,
        "IsValidForAdvancedFind": True,
        "ChangeTrackingEnabled": table.change_tracking,
        "TableType": "Standard",
    }


def attribute_metadata(table: Table, attr: Attribute) -> dict:
    type_code = "Virtual" if attr.type == m.MULTISELECT else attr.type
    out: dict[str, Any] = {
        "@odata.type": f"#{NAMESPACE}.{METADATA_TYPES[attr.type]}",
        "MetadataId": metadata_id("attribute", table.logical_name, attr.logical_name),
        "LogicalName": attr.logical_name,
        "SchemaName": attr.schema_name or schema_name(attr.logical_name),
        "EntityLogicalName": table.logical_name,
        "AttributeType": type_code,
        "AttributeTypeName": {"Value": f"{attr.type}Type"},
        "DisplayName": label(attr.display_name),
        "Description": label(attr.description),
        "IsPrimaryId": attr.logical_name == table.primary_id,
        "IsPrimaryName": attr.logical_name == table.primary_name,
        "IsCustomAttribute": bool(attr.schema_name) or attr.logical_name.startswith("msdyn_"),
        "IsValidForCreate": attr.valid_for_create,
        "IsValidForUpdate": attr.valid_for_update,
        "IsValidForRead": True,
        "IsLogical": False,
        "AttributeOf": None,
        "RequiredLevel": {"Value": attr.required, "CanBeChanged": True,
                          "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
    }
    if attr.max_length is not None:
        out["MaxLength"] = attr.max_length
    if attr.type in (m.STRING, m.MEMO) and attr.format:
        out["FormatName"] = {"Value": attr.format}
    if attr.type in (m.INTEGER, m.BIGINT, m.DECIMAL, m.DOUBLE, m.MONEY):
        out["MinValue"], out["MaxValue"] = attr.min_value, attr.max_value
        if attr.precision is not None:
            out["Precision"] = attr.precision
    if attr.type == m.DATETIME:
        out["Format"] = attr.format or "DateAndTime"
        out["DateTimeBehavior"] = {"Value": "UserLocal"}
    if attr.is_lookup:
        out["Targets"] = list(attr.targets)
    if attr.type == m.BOOLEAN:
        out["DefaultValue"] = bool(attr.default)
    if attr.type in (m.PICKLIST, m.MULTISELECT):
        out["DefaultFormValue"] = attr.default if attr.default is not None else -1
    return out


def option_set_name(table: Table, attr: Attribute) -> str:
    option_set = attr.option_set
    return option_set.name if option_set is not None and option_set.is_global \
        else f"{table.logical_name}_{attr.logical_name}"


def _option(table: Table, attr: Attribute, option: Option) -> dict:
    out: dict[str, Any] = {
        "Value": option.value, "Color": None, "IsManaged": True, "ExternalValue": None, "ParentValues": [],
        "Tag": None, "IsHidden": False, "MetadataId": None, "HasChanged": None, "Label": label(option.label),
        "Description": label("")}
    if attr.type == m.STATUS:
        out.update({"State": option.state, "TransitionData": None})
    if attr.type == m.STATE:
        out.update({"DefaultStatus": option.default_status, "InvariantName": option.label.replace(" ", "")})
    return out


def option_set_metadata(table: Table, attr: Attribute, global_only: bool = False) -> dict | None:
    """The OptionSet (or GlobalOptionSet) navigation of a choice or Boolean column."""
    name = option_set_name(table, attr)
    base = {"MetadataId": metadata_id("optionset", name), "HasChanged": None, "IsManaged": True, "Name": name,
            "IsCustomOptionSet": name.startswith("msdyn_"), "ExternalTypeName": None, "IntroducedVersion": "1.0",
            "Description": label(""), "DisplayName": label(attr.display_name)}
    if attr.type == m.BOOLEAN and not global_only:
        return {**base, "IsGlobal": False, "OptionSetType": "Boolean",
                "TrueOption": _option(table, attr, Option(1, attr.true_label)),
                "FalseOption": _option(table, attr, Option(0, attr.false_label))}
    if attr.option_set is None or attr.type not in ENUM_TYPES or (global_only and not attr.option_set.is_global):
        return None
    kind = {m.STATE: "State", m.STATUS: "Status"}.get(attr.type, "Picklist")
    return {**base, "IsGlobal": attr.option_set.is_global, "OptionSetType": kind,
            "Options": [_option(table, attr, o) for o in attr.option_set.options]}


# --- what queries may name ------------------------------------------------------------------------------------

# AttributeMetadata's properties beyond those every column has, per derived type (an item lacks one it has no value
# for, as an un-cast collection's items lack those of other types).
SPECIFIC_PROPERTIES: dict[str, frozenset[str]] = {
    "StringAttributeMetadata": frozenset({"MaxLength", "FormatName"}),
    "MemoAttributeMetadata": frozenset({"MaxLength", "FormatName"}),
    "IntegerAttributeMetadata": frozenset({"MinValue", "MaxValue"}),
    "BigIntAttributeMetadata": frozenset({"MinValue", "MaxValue"}),
    "MoneyAttributeMetadata": frozenset({"MinValue", "MaxValue", "Precision"}),
    "DecimalAttributeMetadata": frozenset({"MinValue", "MaxValue", "Precision"}),
    "DoubleAttributeMetadata": frozenset({"MinValue", "MaxValue", "Precision"}),
    "DateTimeAttributeMetadata": frozenset({"Format", "DateTimeBehavior"}),
    "LookupAttributeMetadata": frozenset({"Targets"}), "BooleanAttributeMetadata": frozenset({"DefaultValue"}),
    "PicklistAttributeMetadata": frozenset({"DefaultFormValue"}),
    "MultiSelectPicklistAttributeMetadata": frozenset({"DefaultFormValue"}),
}
# Every column's properties: a table's key column (a UniqueIdentifierAttributeMetadata) has no others.
_FIRST = metadata.SHIPPED.tables[0]
COMMON_PROPERTIES = frozenset(attribute_metadata(_FIRST, _FIRST.key)) - {"@odata.type"}
OPTION_SET = ObjectType(f"{NAMESPACE}.OptionSetMetadataBase", frozenset({
    "MetadataId", "HasChanged", "IsManaged", "Name", "IsCustomOptionSet", "ExternalTypeName", "IntroducedVersion",
    "Description", "DisplayName", "IsGlobal", "OptionSetType", "Options", "TrueOption", "FalseOption"}), "MetadataId")


def attribute_type(name: str, classes: Iterable[str]) -> ObjectType:
    """AttributeMetadata as a cast to `classes` sees it (un-cast, every type's properties may be named)."""
    properties = COMMON_PROPERTIES.union(*(SPECIFIC_PROPERTIES.get(c, frozenset()) for c in classes))
    return ObjectType(f"{NAMESPACE}.{name}", properties, "MetadataId",
                      {"OptionSet": (OPTION_SET, False), "GlobalOptionSet": (OPTION_SET, False)})


ATTRIBUTE = attribute_type("AttributeMetadata", METADATA_TYPES.values())
KEY = ObjectType(f"{NAMESPACE}.EntityKeyMetadata", frozenset({
    "MetadataId", "HasChanged", "LogicalName", "SchemaName", "EntityLogicalName", "KeyAttributes", "DisplayName",
    "EntityKeyIndexStatus", "AsyncJob", "IsManaged", "IsCustomizable", "IsSecondaryKey", "IsSynchronous",
    "IntroducedVersion"}), "MetadataId")
ENTITY = ObjectType(f"{NAMESPACE}.EntityMetadata", frozenset(entity_metadata(_FIRST)), "MetadataId",
                    {"Attributes": (ATTRIBUTE, True), "Keys": (KEY, True)})


def key_metadata(table: Table, entity_key: EntityKey) -> dict[str, Any]:
    return {
        "@odata.type": f"#{NAMESPACE}.EntityKeyMetadata",
        "MetadataId": metadata_id("key", table.logical_name, entity_key.logical_name),
        "HasChanged": None,
        "LogicalName": entity_key.logical_name,
        "SchemaName": entity_key.schema_name or entity_key.logical_name,
        "EntityLogicalName": table.logical_name,
        "KeyAttributes": list(entity_key.attributes),
        "DisplayName": label(entity_key.display_name),
        "EntityKeyIndexStatus": "Active",
        "AsyncJob": None,
        "IsManaged": False,
        "IsCustomizable": {"Value": True, "CanBeChanged": True, "ManagedPropertyLogicalName": "iscustomizable"},
        "IsSecondaryKey": False,
        "IsSynchronous": True,
        "IntroducedVersion": "1.0",
    }


# --- resources -----------------------------------------------------------------------------------------------

def _find_table(raw: str) -> Table:
    match = _KEY.match(raw)
    if match:
        table = metadata.find(match.group("name"))
        if table is None:
            raise MetadataNotFound(f"The entity with a name = '{match.group('name')}' with namemapping = "
                                   f"'Logical' was not found in the MetadataCache.")
        return table
    guid = normalize_guid(raw.strip().strip("'"))
    if guid is None:
        raise BadRequest(f"'{raw}' is not a valid EntityDefinitions key: use (LogicalName='<name>') or "
                         f"(<MetadataId>).")
    for table in metadata.tables():
        if metadata_id("entity", table.logical_name) == guid:
            return table
    raise MetadataNotFound(f"Could not find an entity with MetadataId = {guid} in the MetadataCache.")


def _find_attribute(table: Table, raw: str) -> Attribute:
    match = _KEY.match(raw)
    if match:
        attr = table.attribute(match.group("name"))
    else:
        guid = normalize_guid(raw.strip().strip("'"))
        if guid is None:
            raise BadRequest(f"'{raw}' is not a valid Attributes key: use (LogicalName='<name>') or "
                             f"(<MetadataId>).")
        attr = next((a for a in table.attributes
                     if metadata_id("attribute", table.logical_name, a.logical_name) == guid), None)
    if attr is None:
        raise MetadataNotFound(f"Could not find attribute '{raw}' of entity '{table.logical_name}' in the "
                               f"MetadataCache.")
    return attr


def _cast_types(cast: str | None) -> frozenset[str] | None:
    """Attribute types a `Microsoft.Dynamics.CRM.<X>AttributeMetadata` segment keeps (None: no cast)."""
    if cast is None:
        return None
    name = cast[len(NAMESPACE) + 1:] if cast.startswith(NAMESPACE + ".") else None
    if name == "AttributeMetadata":
        return frozenset(METADATA_TYPES)
    if name == "EnumAttributeMetadata":
        return ENUM_TYPES
    types = frozenset(t for t, cls in METADATA_TYPES.items() if cls == name)
    if not types:
        raise ResourceNotFound(cast)
    return types


def _attributes(table: Table, attrs: list[Attribute], query: ObjectQuery, keep_type: bool) -> list[dict]:
    out: list[dict] = []
    for attr in attrs:
        item = attribute_metadata(table, attr)
        if not query.matches(item):
            continue
        shaped = query.shape(item, keep_type)
        for nav, nested in query.expand.items():
            option_set = option_set_metadata(table, attr, global_only=nav == "GlobalOptionSet")
            shaped[nav] = None if option_set is None else nested.shape(option_set)
        out.append(shaped)
    return out


def _entities(tables: list[Table], query: ObjectQuery) -> list[dict]:
    value = []
    for table in tables:
        item = entity_metadata(table)
        if not query.matches(item):
            continue
        shaped = query.shape(item)
        if "Attributes" in query.expand:
            shaped["Attributes"] = _attributes(table, list(table.attributes), query.expand["Attributes"],
                                               keep_type=True)
        if "Keys" in query.expand:
            keys = query.expand["Keys"]
            shaped["Keys"] = [keys.shape(k) for k in (key_metadata(table, x) for x in table.keys) if keys.matches(k)]
        value.append(shaped)
    return value


def _context(select: str | None, suffix: str = "") -> str:
    names = f"({select})" if select and select.strip() not in ("", "*") else ""
    return f"{names}{suffix}"


def _refuse_filter(options: dict[str, str], collection: str, one: str) -> None:
    if "$filter" in options:
        raise BadRequest(f"$filter applies to the {collection} collection, not to one {one}.")


@handles("EntityDefinitions", "GET")
def entity_definitions(resource: Resource):
    related = _RELATED.match(resource.rest)
    match = related or _REST.match(resource.rest)
    if not match:
        raise ResourceNotFound(resource.path.split("/")[-1])
    options = query_options(request.args.items(multi=True))
    settings = server.current().settings
    limits = FilterLimits(settings.max_filter_depth, settings.max_filter_conditions)
    aliases = syntax.aliases_from(request.args)
    select = options.get("$select")
    base = f"{service_root()}$metadata#EntityDefinitions"
    if match.group("key") is None:
        if match.group("attributes"):
            raise ResourceNotFound("Attributes")
        return json_response({"@odata.context": base + _context(select),
                              "value": _entities(list(metadata.tables()),
                                                 parse_query(options, ENTITY, aliases, limits))})
    table = _find_table(match.group("key"))
    if related:
        serve = SEGMENTS[related.group("segment")]
        return serve(table, related.group("segment"), related.group("item"), match.group("key"))
    if not match.group("attributes"):
        _refuse_filter(options, "EntityDefinitions", "entity")
        [item] = _entities([table], parse_query(options, ENTITY, aliases, limits))
        return json_response({"@odata.context": base + _context(select, "/$entity"), **item})
    cast_name = match.group("cast")
    types = _cast_types(cast_name)
    cast = f"/{cast_name}" if cast_name else ""
    kind = ATTRIBUTE if types is None else \
        attribute_type(cast_name[len(NAMESPACE) + 1:], {METADATA_TYPES[t] for t in types})
    context = f"{base}({match.group('key')})/Attributes"
    if match.group("attr_key") is not None:
        attr = _find_attribute(table, match.group("attr_key"))
        if types is not None and attr.type not in types:
            raise ResourceNotFound(cast_name)
        _refuse_filter(options, "Attributes", "attribute")
        [item] = _attributes(table, [attr], parse_query(options, kind, aliases, limits), keep_type=not cast)
        return json_response({"@odata.context": f"{context}({match.group('attr_key')}){cast}"
                              f"{_context(select, '/$entity')}", **item})
    attrs = [a for a in table.attributes if types is None or a.type in types]
    value = _attributes(table, attrs, parse_query(options, kind, aliases, limits), keep_type=not cast)
    return json_response({"@odata.context": f"{context}{cast}{_context(select)}", "value": value})
