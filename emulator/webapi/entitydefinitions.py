"""EntityDefinitions: table, column and option-set metadata as Dataverse's metadata Web API returns it, with
$select, $filter (a small evaluator over the metadata) and $expand of Attributes, OptionSet and GlobalOptionSet."""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import request
from odata_query import ast

from ..errors import BadRequest, DataverseError, PropertyNotFound, ResourceNotFound
from ..metadata import ALL_TABLES, BY_LOGICAL_NAME, Attribute, Option, Table
from ..metadata import model as m
from ..odata.filter import normalize_guid, parse
from ..responses import json_response
from .discovery import NAMESPACE, metadata_id
from .read import service_root
from .routing import Resource, handles

LANGUAGE = 1033
ALLOWED_OPTIONS = ("$select", "$filter", "$expand")
# EntityDefinitions(<key>)[/Attributes[(<key>)][/<cast>]]
_REST = re.compile(r"^(?:\((?P<key>[^)]*)\))?(?:/(?P<attributes>Attributes)(?:\((?P<attr_key>[^)]*)\))?"
                   r"(?:/(?P<cast>[^/()]+))?)?/?$")
_KEY = re.compile(r"^\s*LogicalName\s*=\s*'(?P<name>[^']*)'\s*$")
_ENUM_LITERAL = re.compile(r"\bMicrosoft\.Dynamics\.CRM\.\w+'(\w*)'")  # AttributeTypeCode'Picklist' -> 'Picklist'

METADATA_TYPES = {  # attribute type -> its AttributeMetadata class
    m.UNIQUEIDENTIFIER: "UniqueIdentifierAttributeMetadata", m.STRING: "StringAttributeMetadata",
    m.MEMO: "MemoAttributeMetadata", m.INTEGER: "IntegerAttributeMetadata", m.BIGINT: "BigIntAttributeMetadata",
    m.DECIMAL: "DecimalAttributeMetadata", m.DOUBLE: "DoubleAttributeMetadata",
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
    return {
        "MetadataId": metadata_id("entity", table.logical_name),
        "LogicalName": table.logical_name,
        "SchemaName": schema_name(table.logical_name),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "DisplayName": label(table.display_name),
        "DisplayCollectionName": label(table.display_collection_name),
        "Description": label(table.description),
        "OwnershipType": table.ownership,
        "IsActivity": table.is_activity,
        "IsCustomEntity": table.logical_name.startswith("msdyn_"),
        "IsManaged": True,
        "IsIntersect": False,
        "IsLogicalEntity": False,
        "IsValidForAdvancedFind": True,
        "TableType": "Standard",
    }


def attribute_metadata(table: Table, attr: Attribute) -> dict:
    type_code = "Virtual" if attr.type == m.MULTISELECT else attr.type
    out: dict[str, Any] = {
        "@odata.type": f"#{NAMESPACE}.{METADATA_TYPES[attr.type]}",
        "MetadataId": metadata_id("attribute", table.logical_name, attr.logical_name),
        "LogicalName": attr.logical_name,
        "SchemaName": schema_name(attr.logical_name),
        "EntityLogicalName": table.logical_name,
        "AttributeType": type_code,
        "AttributeTypeName": {"Value": f"{attr.type}Type"},
        "DisplayName": label(attr.display_name),
        "Description": label(attr.description),
        "IsPrimaryId": attr.logical_name == table.primary_id,
        "IsPrimaryName": attr.logical_name == table.primary_name,
        "IsCustomAttribute": attr.logical_name.startswith("msdyn_"),
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
    if attr.type in (m.INTEGER, m.DECIMAL, m.DOUBLE):
        out["MinValue"], out["MaxValue"] = attr.min_value, attr.max_value
        if attr.precision is not None:
            out["Precision"] = attr.precision
    if attr.type == m.DATETIME:
        out["Format"] = "DateAndTime"
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
    out = {"Value": option.value, "Color": None, "IsManaged": True, "ExternalValue": None, "ParentValues": [],
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


# --- query options -------------------------------------------------------------------------------------------

def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _parse_options(pairs: list[tuple[str, str]]) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in pairs:
        if name.startswith("$") and name not in ALLOWED_OPTIONS:
            raise BadRequest(f"The query parameter {name} is not supported for metadata queries.")
        if name in ALLOWED_OPTIONS:
            options[name] = value
    return options


def _nested(text: str) -> dict[str, str]:
    """`$select=a,b;$filter=...` inside an $expand item."""
    pairs = []
    for part in _split_top(text, ";"):
        name, eq, value = part.partition("=")
        if not eq:
            raise BadRequest(f"The $expand option '{part}' is not valid.")
        pairs.append((name.strip(), value.strip()))
    return _parse_options(pairs)


def _expand(text: str | None, allowed: tuple[str, ...], type_name: str) -> dict[str, dict[str, str]]:
    expands: dict[str, dict[str, str]] = {}
    for item in _split_top(text or "", ","):
        match = re.fullmatch(r"(\w+)(?:\((.*)\))?", item, re.DOTALL)
        if not match:
            raise BadRequest(f"The $expand option '{item}' is not valid.")
        if match.group(1) not in allowed:
            raise PropertyNotFound(match.group(1), type_name)
        expands[match.group(1)] = _nested(match.group(2) or "")
    return expands


def _select(text: str | None, known: set[str], type_name: str) -> list[str] | None:
    if text is None or text.strip() in ("", "*"):
        return None
    names = [n.strip() for n in text.split(",")]
    for name in names:
        if not name:
            raise BadRequest(f"The $select query option '{text}' has an empty item.")
        if name not in known:
            raise PropertyNotFound(name, type_name)
    return names


class _Scope:
    """What a metadata $filter may name: the properties of the type (an item may lack some, e.g. MaxLength)."""

    def __init__(self, known: set[str], type_name: str) -> None:
        self.known, self.type_name = known, type_name


def _value(node: ast._Node, item: dict, scope: _Scope) -> Any:
    if isinstance(node, ast.Identifier):
        if node.name not in scope.known:
            raise PropertyNotFound(node.name, scope.type_name)
        return item.get(node.name)
    if isinstance(node, ast.Attribute):
        owner = _value(node.owner, item, scope)
        return owner.get(node.attr) if isinstance(owner, dict) else None
    if isinstance(node, ast.GUID):
        return str(node.py_val)
    if isinstance(node, ast.List):
        return [_value(v, item, scope) for v in node.val]
    if isinstance(node, ast._Literal):
        return node.py_val
    raise BadRequest(f"The emulator's metadata $filter supports comparisons, 'in', 'and', 'or' and 'not' only, "
                     f"not {type(node).__name__}.")


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a is not None and b is not None and a < b,
    ast.LtE: lambda a, b: a is not None and b is not None and a <= b,
    ast.Gt: lambda a, b: a is not None and b is not None and a > b,
    ast.GtE: lambda a, b: a is not None and b is not None and a >= b,
    ast.In: lambda a, b: a in b,
}


def _matches(node: ast._Node, item: dict, scope: _Scope) -> bool:
    if isinstance(node, ast.BoolOp):
        left = _matches(node.left, item, scope)
        if isinstance(node.op, ast.And):
            return left and _matches(node.right, item, scope)
        return left or _matches(node.right, item, scope)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _matches(node.operand, item, scope)
    if isinstance(node, ast.Compare):
        left = _value(node.left, item, scope)
        right = _value(node.right, item, scope)
        # metadata names compare case-insensitively, as the emulator's strings do
        left = _fold(left)
        right = [_fold(v) for v in right] if isinstance(right, list) else _fold(right)
        try:
            return _COMPARE[type(node.comparator)](left, right)
        except TypeError:
            raise BadRequest(f"Cannot compare {left!r} with {right!r} in the metadata $filter.") from None
    value = _value(node, item, scope)
    if isinstance(value, bool):
        return value
    raise BadRequest("A metadata $filter must be a boolean expression.")


def _filter(text: str | None, items: list[dict], known: set[str], type_name: str) -> list[dict]:
    if text is None or not text.strip():
        return items
    tree = parse(_ENUM_LITERAL.sub(r"'\1'", text))
    scope = _Scope(known, type_name)
    return [item for item in items if _matches(tree, item, scope)]


def _shape(item: dict, select: list[str] | None, keep_type: bool) -> dict:
    out = {}
    for name, value in item.items():
        if name == "@odata.type":
            if keep_type:
                out[name] = value
        elif select is None or name in select or name == "MetadataId":
            out[name] = value
    return out


# --- resources -----------------------------------------------------------------------------------------------

def _find_table(raw: str) -> Table:
    match = _KEY.match(raw)
    if match:
        table = BY_LOGICAL_NAME.get(match.group("name"))
        if table is None:
            raise MetadataNotFound(f"The entity with a name = '{match.group('name')}' with namemapping = "
                                   f"'Logical' was not found in the MetadataCache.")
        return table
    guid = normalize_guid(raw.strip().strip("'"))
    if guid is None:
        raise BadRequest(f"'{raw}' is not a valid EntityDefinitions key: use (LogicalName='<name>') or "
                         f"(<MetadataId>).")
    for table in ALL_TABLES:
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


def _attribute_items(table: Table, attrs: list[Attribute], options: dict[str, str], type_name: str,
                     keep_type: bool) -> list[dict]:
    full = [(attr, attribute_metadata(table, attr)) for attr in attrs]
    known = {k for _, item in full for k in item if k != "@odata.type"} | {"OptionSet", "GlobalOptionSet"}
    select = _select(options.get("$select"), known, type_name)
    expands = _expand(options.get("$expand"), ("OptionSet", "GlobalOptionSet"), type_name)
    kept = {id(item) for item in _filter(options.get("$filter"), [item for _, item in full], known, type_name)}
    out = []
    for attr, item in full:
        if id(item) not in kept:
            continue
        shaped = _shape(item, select, keep_type)
        for nav, nested in expands.items():
            option_set = option_set_metadata(table, attr, global_only=nav == "GlobalOptionSet")
            nested_known = set(option_set or {}) | {"Options", "TrueOption", "FalseOption"}
            nested_select = _select(nested.get("$select"), nested_known, f"{NAMESPACE}.OptionSetMetadataBase")
            shaped[nav] = None if option_set is None else _shape(option_set, nested_select, False)
        out.append(shaped)
    return out


def _context(select: str | None, suffix: str = "") -> str:
    names = f"({select})" if select and select.strip() not in ("", "*") else ""
    return f"{names}{suffix}"


@handles("EntityDefinitions", "GET")
def entity_definitions(resource: Resource):
    match = _REST.match(resource.rest)
    if not match:
        raise ResourceNotFound(resource.path.split("/")[-1])
    options = _parse_options(list(request.args.items(multi=True)))
    base = f"{service_root()}$metadata#EntityDefinitions"
    if match.group("key") is None:
        if match.group("attributes"):
            raise ResourceNotFound("Attributes")
        return json_response({"@odata.context": base + _context(options.get("$select")),
                              "value": _entity_items(ALL_TABLES, options)})
    table = _find_table(match.group("key"))
    if not match.group("attributes"):
        if "$filter" in options:
            raise BadRequest("$filter applies to the EntityDefinitions collection, not to one entity.")
        item = _entity_items([table], options)[0]
        return json_response({"@odata.context": base + _context(options.get("$select"), "/$entity"), **item})
    types = _cast_types(match.group("cast"))
    cast = f"/{match.group('cast')}" if match.group("cast") else ""
    type_name = f"{NAMESPACE}.{match.group('cast')[len(NAMESPACE) + 1:]}" if cast else \
        f"{NAMESPACE}.AttributeMetadata"
    context = f"{base}({match.group('key')})/Attributes"
    if match.group("attr_key") is not None:
        attr = _find_attribute(table, match.group("attr_key"))
        if types is not None and attr.type not in types:
            raise ResourceNotFound(match.group("cast"))
        item = _attribute_items(table, [attr], options, type_name, keep_type=not cast)[0]
        return json_response({"@odata.context": f"{context}({match.group('attr_key')}){cast}"
                              f"{_context(options.get('$select'), '/$entity')}", **item})
    attrs = [a for a in table.attributes if types is None or a.type in types]
    value = _attribute_items(table, attrs, options, type_name, keep_type=not cast)
    return json_response({"@odata.context": f"{context}{cast}{_context(options.get('$select'))}", "value": value})


def _entity_items(tables, options: dict[str, str]) -> list[dict]:
    type_name = f"{NAMESPACE}.EntityMetadata"
    full = [(table, entity_metadata(table)) for table in tables]
    known = set(full[0][1]) | {"Attributes"}
    select = _select(options.get("$select"), known, type_name)
    expands = _expand(options.get("$expand"), ("Attributes",), type_name)
    kept = {id(item) for item in _filter(options.get("$filter"), [item for _, item in full], known, type_name)}
    value = []
    for table, item in full:
        if id(item) not in kept:
            continue
        shaped = _shape(item, select, False)
        if "Attributes" in expands:
            shaped["Attributes"] = _attribute_items(table, list(table.attributes), expands["Attributes"],
                                                    f"{NAMESPACE}.AttributeMetadata", keep_type=True)
        value.append(shaped)
    return value
