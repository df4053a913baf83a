"""One place that says which Web API URL goes to which handler. A path under /api/data/v9.x/ resolves to a
Resource (entity set, record, property, $count, bound action, or a top-level name such as $metadata), and
handlers register for (resource kind, HTTP method)."""
from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, request

from .. import metadata, server
from ..errors import DataverseError, MethodNotAllowed, NotSupported, ResourceNotFound
from ..metadata import Table
from ..store import keys
from . import media

Handler = Callable[["Resource"], Response]
HANDLERS: dict[tuple[str, str], Handler] = {}
_NAME = re.compile(r"^[^/(]+")


@dataclass
class Resource:
    kind: str  # service | collection | entity | property | count | action | <top-level name>
    table: Table | None = None
    key: str | None = None
    property: str | None = None
    action: str | None = None
    path: str = ""
    rest: str = ""  # for top-level names: what follows the name (handlers parse it)
    raw_key: str | None = None
    alternate: keys.KeyValues | None = None  # the record as its alternate key names it (`key` is set once found)

    @builtins.property  # the field `property` shadows the builtin in this class body
    def entity_table(self) -> Table:
        """The table of a resource under an entity set (resolve sets it for every such kind)."""
        assert self.table is not None, f"a {self.kind} resource has no table"
        return self.table

    @builtins.property
    def record_key(self) -> str:
        """The key of a resource that names one record."""
        assert self.key is not None, f"a {self.kind} resource names no record"
        return self.key


def handles(kind: str, *methods: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for method in methods:
            HANDLERS[(kind, method)] = handler
        return handler
    return register


def parse_key(table: Table, raw: str) -> str | keys.KeyValues:
    """`<guid>`, `{<guid>}` or `<primary id>=<guid>` -> lowercase GUID; `accountnumber='A-1'` (any alternate key of
    the table, all its parts) -> the key and its values."""
    return keys.parse(table, raw)


def split_path(path: str) -> tuple[str, str | None, str | None] | None:
    """`name(key)/rest` -> (name, key, rest); a quoted key value may hold parentheses and slashes."""
    match = _NAME.match(path)
    if not match:
        return None
    name, i = match.group(), match.end()
    raw_key = None
    if i < len(path) and path[i] == "(":
        j, quoted = i + 1, False
        while j < len(path) and (quoted or path[j] != ")"):
            if path[j] == "'":
                quoted = not quoted  # '' inside a quoted value toggles twice
            j += 1
        if j >= len(path):
            j = path.rfind(")")  # a quote left open: the key parser names it
            if j <= i:
                return None
        raw_key, i = path[i + 1:j], j + 1
    if i == len(path):
        return name, raw_key, None
    if path[i] != "/":
        return None
    return name, raw_key, path[i + 1:]


def resolve(path: str) -> Resource:
    if path in ("", "/"):
        return Resource("service", path=path)
    parts = split_path(path)
    if parts is None:
        raise ResourceNotFound(path.split("/")[0])
    name, raw_key, rest = parts
    table = metadata.by_entity_set(name)
    if table is None:
        # Top-level names ($metadata, $batch, WhoAmI, EntityDefinitions...) handle their own remainder.
        if any(kind == name for kind, _ in HANDLERS):
            return Resource(name, path=path, rest=path[len(name):], raw_key=raw_key)
        raise ResourceNotFound(name)
    if raw_key is None:
        if rest is None or rest == "":
            return Resource("collection", table, path=path)
        if rest == "$count":
            return Resource("count", table, path=path)
        if rest.startswith("Microsoft.Dynamics.CRM."):
            return Resource("action", table, action=rest[len("Microsoft.Dynamics.CRM."):], path=path)
        raise ResourceNotFound(rest.split("/")[0])
    parsed = parse_key(table, raw_key)
    key, alternate = (parsed, None) if isinstance(parsed, str) else (None, parsed)
    if rest is not None and rest.startswith("Microsoft.Dynamics.CRM."):  # an operation bound to the record
        return Resource("bound", table, key, action=rest[len("Microsoft.Dynamics.CRM."):], path=path,
                        raw_key=raw_key, alternate=alternate)
    if rest is None or rest == "":
        return Resource("entity", table, key, path=path, raw_key=raw_key, alternate=alternate)
    if "/" in rest:
        raise ResourceNotFound(rest.split("/")[1])
    return Resource("property", table, key, property=rest, path=path, raw_key=raw_key, alternate=alternate)


def find_by_key(resource: Resource) -> None:
    """A record named by an alternate key: its primary key found (404 with Dataverse's message when no row has
    those values). PATCH of such a record looks it up itself (it may create it)."""
    assert resource.alternate is not None
    db = server.current().db
    with db.engine.connect() as conn:
        found = keys.find(conn, db, resource.alternate)
    if found is None:
        raise keys.not_found(resource.entity_table)
    resource.key = found


def dispatch(path: str, method: str) -> Response:
    resource = resolve(path)
    handler = HANDLERS.get((resource.kind, method))
    if handler is not None:
        media.check(resource.kind, method)  # a write body that is not JSON: 415, before anything is written
        if resource.alternate is not None and (resource.kind, method) != ("entity", "PATCH"):
            find_by_key(resource)
        return handler(resource)
    if any(kind == resource.kind for kind, _ in HANDLERS):
        if resource.kind in ("collection", "entity", "property", "count"):
            raise MethodNotAllowed(f"The requested resource does not support http method '{method}'.")
        # Dataverse's answer to a wrong verb on a function such as WhoAmI
        raise DataverseError(f"No HTTP resource was found that matches the request URI '{request.url}'.", code="",
                             status=404)
    raise NotSupported(f"The emulator does not implement {method} on '{resource.kind}' resources "
                       f"({path}) yet.")
