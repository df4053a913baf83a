"""Dataverse functions and actions: a registry of the emulated operations (their signatures are declared in
$metadata by discovery.csdl) and of the well-known Dataverse operations the emulator refuses by name (501).

Calls, as Dataverse takes them:
- unbound function: `GET Name(P1=@p1,P2=@p2)?@p1=...&@p2=...` (parameter aliases) or inline literals `Name(P1='x')`;
- unbound action: `POST Name` with the parameters as a JSON object;
- bound: `POST/GET <entityset>(<id>)/Microsoft.Dynamics.CRM.Name` (routing resolves it to a `bound` resource).
Each operation parses and type-checks its parameters here, so handlers get Python values."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Response, request

from .. import metadata, server
from ..errors import BadRequest, DataverseError, NotSupported, RecordNotFound, ResourceNotFound
from ..metadata import Table
from ..responses import empty_response, json_response
from ..store import write as store
from .read import service_root
from .routing import Resource, find_by_key, handles, parse_key

NAMESPACE = "Microsoft.Dynamics.CRM"
MISSING_PARAMETER = "0x80040203"  # Dataverse's InvalidArgument: "Required field 'X' is missing for RequestName='Y'"
ENTITY = "entity"  # parameter type of a record (or a record reference {"@odata.id": ...}); declared per table


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # Edm.String | Edm.Int32 | Edm.Boolean | Edm.Guid | Collection(Edm.String) | mscrm.<Enum> | entity
    optional: bool = False
    entity_type: str = "crmbaseentity"  # for ENTITY parameters: the table's logical name


@dataclass(frozen=True)
class Operation:
    name: str
    kind: str  # Function | Action
    parameters: tuple[Parameter, ...]
    handler: Callable[[dict[str, Any]], Response]
    returns: str | None = None  # the return type (mscrm.<ComplexType> or an entity type), None for no value
    bound_to: str | None = None  # the table logical name for bound operations


OPERATIONS: dict[str, Operation] = {}

# Complex and enum types the emulated operations use, declared in $metadata: name -> [(property, type)].
COMPLEX_TYPES: dict[str, list[tuple[str, str]]] = {
    "RetrieveCurrentOrganizationResponse": [("Detail", "mscrm.OrganizationDetail")],
    "OrganizationDetail": [("OrganizationId", "Edm.Guid"), ("FriendlyName", "Edm.String"),
                           ("OrganizationVersion", "Edm.String"), ("EnvironmentId", "Edm.String"),
                           ("DatacenterId", "Edm.Guid"), ("Geo", "Edm.String"), ("TenantId", "Edm.String"),
                           ("UrlName", "Edm.String"), ("UniqueName", "Edm.String"),
                           ("Endpoints", "mscrm.EndpointCollection"), ("State", "mscrm.OrganizationState")],
    "EndpointCollection": [("Count", "Edm.Int32"), ("IsReadOnly", "Edm.Boolean"),
                           ("Keys", "Collection(mscrm.EndpointType)"), ("Values", "Collection(Edm.String)")],
    "RetrieveTotalRecordCountResponse": [("EntityRecordCountCollection", "mscrm.EntityRecordCountCollection")],
    "EntityRecordCountCollection": [("Count", "Edm.Int32"), ("IsReadOnly", "Edm.Boolean"),
                                    ("Keys", "Collection(Edm.String)"), ("Values", "Collection(Edm.Int64)")],
    "FormatAddressResponse": [("Address", "Edm.String")],
    "GetTimeZoneCodeByLocalizedNameResponse": [("TimeZoneCode", "Edm.Int32")],
    "RetrieveVersionResponse": [("Version", "Edm.String")],
}
ENUM_TYPES: dict[str, tuple[str, ...]] = {
    "EndpointAccessType": ("Default", "Internet", "Intranet"),
    "EndpointType": ("OrganizationService", "OrganizationDataService", "WebApplication"),
    "OrganizationState": ("Enabled", "Disabled"),
    "TargetFieldType": ("All", "ValidForCreate", "ValidForUpdate", "ValidForRead"),
}

# Well-known Dataverse functions and actions the emulator does not emulate: answered with a named 501, not 404.
NOT_EMULATED = frozenset({
    "AddMembersTeam", "AddPrivilegesRole", "AddToQueue", "BulkDelete", "CalculateRollupField", "CancelContract",
    "CloseQuote", "ExecuteWorkflow", "ExportSolution", "FetchXmlToQueryExpression", "GetValidStatusTransition",
    "GrantAccess", "ImportSolution", "InstantiateTemplate", "IsValidStateTransition", "LoseOpportunity", "Merge",
    "ModifyAccess", "PickFromQueue", "PublishAllXml", "PublishXml", "QualifyLead", "ReleaseToQueue",
    "RemoveFromQueue", "RemoveMembersTeam", "RetrieveAadUserPrivileges", "RetrieveAadUserRoles",
    "RetrieveAadUserSetOfPrivilegesByNames", "RetrieveAttributeChangeHistory", "RetrieveDuplicates",
    "RetrievePrincipalAccess", "RetrieveRecordChangeHistory", "RetrieveSharedPrincipalsAndAccess",
    "RetrieveTeamPrivileges", "RetrieveUserPrivileges", "RetrieveUserQueues", "RevokeAccess", "RouteTo",
    "SendEmail", "WinOpportunity", "WinQuote",
})


def operation(name: str, kind: str, *parameters: Parameter, returns: str | None = None,
              bound_to: str | None = None) -> Callable[[Callable[[dict[str, Any]], Response]], Callable]:
    """Register an emulated operation; unbound ones get their top-level URL handler."""
    def register(handler: Callable[[dict[str, Any]], Response]) -> Callable[[dict[str, Any]], Response]:
        op = Operation(name, kind, tuple(parameters), handler, returns, bound_to)
        OPERATIONS[name] = op
        if bound_to is None:
            handles(name, "GET" if kind == "Function" else "POST")(lambda resource: _call_unbound(op, resource))
        return handler
    return register


def _refuse(name: str) -> DataverseError:
    return NotSupported(f"The emulator does not implement the Dataverse operation '{name}'. Emulated functions and "
                        f"actions: {', '.join(sorted(OPERATIONS))}.")


def _refuse_handler(name: str) -> Callable[[Resource], Response]:
    def refuse(resource: Resource) -> Response:
        raise _refuse(name)
    return refuse


for _name in NOT_EMULATED:
    handles(_name, "GET", "POST")(_refuse_handler(_name))


# --- parameters ------------------------------------------------------------------------------------------------

def _split_top(text: str) -> list[str]:
    """Split on commas outside quotes, brackets and braces."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":  # an escaped quote ('') toggles twice
            quote = not quote
        elif quote:
            continue
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip() or parts:
        parts.append(text[start:])
    return [p.strip() for p in parts]


_ENUM_LITERAL = re.compile(r"^(?:Microsoft\.Dynamics\.CRM\.|mscrm\.)(?P<enum>\w+)'(?P<member>[^']*)'$")


def _literal(text: str) -> Any:
    """One OData URL literal as a Python value (enum literals stay as text for the parameter's type to read)."""
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text.startswith(("[", "{")):
        # JSON, or JSON with single-quoted strings as clients write it: ['a','b'], {'@odata.id':'accounts(<id>)'}
        try:
            return orjson.loads(_double_quoted(text))
        except (orjson.JSONDecodeError, ValueError):
            raise BadRequest(f"Bad Request - Error in query syntax: the parameter value {text} is not a valid "
                             f"collection or object literal.") from None
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return float(text)
    return _Raw(text)


def _double_quoted(text: str) -> str:
    """Rewrite the single-quoted strings of a JSON-like literal ('' is an escaped quote) as JSON strings."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':  # a JSON string: copied as it is
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i:end + 1])
            i = end + 1
        elif ch == "'":
            chars: list[str] = []
            i += 1
            while True:
                if i >= len(text):
                    raise ValueError("unterminated string")
                if text[i] == "'":
                    if text[i + 1:i + 2] == "'":
                        chars.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                chars.append(text[i])
                i += 1
            out.append(orjson.dumps("".join(chars)).decode())
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Raw(str):
    """A literal that is neither quoted nor a number: a GUID, an enum literal, or an error."""


def _function_arguments(op: Operation, rest: str) -> dict[str, Any]:
    """`(Name=value,...)` after the function name, with `@alias` values taken from the query string."""
    text = rest.strip()
    if text in ("", "()"):
        inner = ""
    elif text.startswith("(") and text.endswith(")"):
        inner = text[1:-1].strip()
    else:
        raise ResourceNotFound(op.name)
    values: dict[str, Any] = {}
    for part in _split_top(inner) if inner else []:
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadRequest(f"Bad Request - Error in query syntax: '{part}' is not of the form Name=value in the "
                             f"call of the function '{op.name}'.")
        raw = raw.strip()
        if raw.startswith("@"):
            if raw not in request.args:
                raise BadRequest(f"The parameter alias '{raw}' of '{name}' is not in scope: give its value in the "
                                 f"query string ({raw}=...).")
            raw = request.args[raw]
        values[name] = _literal(raw.strip())
    return values


def _type_error(op: Operation, param: Parameter, value: Any) -> DataverseError:
    found = "Edm.String" if isinstance(value, str) else type(value).__name__
    return BadRequest(f"Invalid value for the parameter '{param.name}' of '{op.name}': expected {param.type}, got "
                      f"{found} ({value!r}).")


def _entity_reference(op: Operation, param: Parameter, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(op, param, value)
    return value


def _convert(op: Operation, param: Parameter, value: Any) -> Any:
    t = param.type
    if value is None:
        raise BadRequest(f"Required field '{param.name}' is missing for RequestName='{op.name}'",
                         code=MISSING_PARAMETER)
    if t == "Edm.String":
        if not isinstance(value, str) or isinstance(value, _Raw):
            raise _type_error(op, param, value)
        return str(value)
    if t in ("Edm.Int32", "Edm.Int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(op, param, value)
        return value
    if t == "Edm.Boolean":
        if not isinstance(value, bool):
            raise _type_error(op, param, value)
        return value
    if t == "Edm.Guid":
        try:
            if len(str(value)) != 36:
                raise ValueError
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise _type_error(op, param, value) from None
    if t == "Collection(Edm.String)":
        if not isinstance(value, list) or not all(isinstance(v, str) and not isinstance(v, _Raw) for v in value):
            raise _type_error(op, param, value)
        return [str(v) for v in value]
    if t.startswith("mscrm."):
        enum = t[len("mscrm."):]
        members = ENUM_TYPES[enum]
        text = str(value)
        match = _ENUM_LITERAL.match(text)
        if match:
            if match.group("enum") != enum:
                raise _type_error(op, param, value)
            text = match.group("member")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(members):
            return members[value]
        if text not in members:
            raise BadRequest(f"The value '{text}' of the parameter '{param.name}' is not a member of "
                             f"{NAMESPACE}.{enum} ({', '.join(members)}).")
        return text
    if t == ENTITY:
        return _entity_reference(op, param, value)
    raise AssertionError(f"unknown parameter type {t}")


def _arguments(op: Operation, given: dict[str, Any]) -> dict[str, Any]:
    known = {p.name: p for p in op.parameters}
    for name in given:
        if name not in known and not name.startswith("@"):
            raise BadRequest(f"'{name}' is not a parameter of the {op.kind.lower()} '{op.name}'. Its parameters: "
                             f"{', '.join(known) or 'none'}.")
    arguments: dict[str, Any] = {}
    for param in op.parameters:
        if param.name not in given or given[param.name] is None:
            if param.optional:
                continue
            raise BadRequest(f"Required field '{param.name}' is missing for RequestName='{op.name}'",
                             code=MISSING_PARAMETER)
        arguments[param.name] = _convert(op, param, given[param.name])
    return arguments


def _action_body() -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"Invalid JSON in the body of the action. {e}") from None
    if not isinstance(body, dict):
        raise BadRequest("The body of an action is a JSON object of its parameters.")
    return body


def _call_unbound(op: Operation, resource: Resource) -> Response:
    if op.kind == "Function":
        given = _function_arguments(op, resource.rest)
    else:
        if resource.rest not in ("", "/"):
            raise ResourceNotFound(resource.path.split("/")[0])
        given = _action_body()
    return op.handler(_arguments(op, given))


def response(type_name: str, body: dict[str, Any]) -> Response:
    return json_response({"@odata.context": f"{service_root()}$metadata#{NAMESPACE}.{type_name}", **body})


# --- record references --------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"^/?(?P<set>[A-Za-z_][\w]*)\((?P<key>[^)]*)\)$")


def reference(op: Operation, name: str, value: dict[str, Any]) -> tuple[Table, str]:
    """`{"@odata.id": "accounts(<id>)"}` (or a full URL) -> (table, key)."""
    odata_id = value.get("@odata.id")
    if not isinstance(odata_id, str):
        raise BadRequest(f"The parameter '{name}' of '{op.name}' must reference a record: "
                         f"{{\"@odata.id\": \"<entityset>(<id>)\"}}.", code=MISSING_PARAMETER)
    path = odata_id.split("/api/data/", 1)[-1]
    path = path.split("/", 1)[1] if path.startswith("v9.") else path
    match = _REFERENCE.match(path)
    table = metadata.by_entity_set(match.group("set")) if match else None
    if match is None or table is None:
        raise BadRequest(f"'{odata_id}' in the parameter '{name}' of '{op.name}' is not a record URL "
                         f"(<entityset>(<id>)).")
    parsed = parse_key(table, match.group("key"))
    if isinstance(parsed, str):
        return table, parsed
    record = Resource("entity", table, None, alternate=parsed)  # named by an alternate key: find its row
    find_by_key(record)
    return table, record.record_key


def context() -> store.Context:
    emulator = server.current()
    return store.Context(now=emulator.clock.now(), caller_id=emulator.caller_id)


def fetch_record(table: Table, key: str):
    emulator = server.current()
    with emulator.db.engine.connect() as conn:
        row = store.fetch(conn, emulator.db, table, key)
    if row is None:
        raise RecordNotFound(table.logical_name, key)
    return row


def no_content() -> Response:
    return empty_response(204)


@handles("bound", "GET", "POST")
def bound_operation(resource: Resource) -> Response:
    """`<entityset>(<id>)/Microsoft.Dynamics.CRM.Name`: an operation bound to one record. Its handler gets the
    record as the `@target` argument, (table, key)."""
    segment = resource.action or ""
    name, _, rest = segment.partition("(")
    op = OPERATIONS.get(name)
    if op is None or op.bound_to != resource.entity_table.logical_name:
        if name in NOT_EMULATED:
            raise _refuse(name)
        raise ResourceNotFound(f"{NAMESPACE}.{name}")
    if (op.kind == "Function") != (request.method in ("GET", "HEAD")):
        raise DataverseError(f"No HTTP resource was found that matches the request URI '{request.url}'.", code="",
                             status=404)
    given = _function_arguments(op, f"({rest}" if rest else "") if op.kind == "Function" else _action_body()
    arguments = _arguments(op, given)
    if resource.alternate is not None:  # the record named by an alternate key
        find_by_key(resource)
    arguments["@target"] = (resource.entity_table, resource.record_key)
    return op.handler(arguments)
