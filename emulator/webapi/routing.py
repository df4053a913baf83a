"""One place that says which Web API URL goes to which handler. A path under /api/data/v9.x/ resolves to a
Resource (entity set, record, property, $count, bound action, or a top-level name such as $metadata), and
handlers register for (resource kind, HTTP method)."""
from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, request

from .. import metadata
from ..errors import BadRequest, DataverseError, MethodNotAllowed, NotSupported, ResourceNotFound
from ..metadata import Table
from . import media

Handler = Callable[["Resource"], Response]
HANDLERS: dict[tuple[str, str], Handler] = {}
_PATH = re.compile(r"^(?P<name>[^/(]+)(?:\((?P<key>[^)]*)\))?(?:/(?P<rest>.*))?$")


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


def parse_key(table: Table, raw: str) -> str:
    """`<guid>`, `{<guid>}` or `<primary id>=<guid>` -> lowercase GUID."""
    text = raw.strip()
    if "=" in text:
        name, _, text = text.partition("=")
        if name.strip() != table.primary_id:
            raise BadRequest(f"'{name.strip()}' is not the key of {table.entity_set}; alternate keys are not "
                             f"defined in the emulator. Use {table.entity_set}(<{table.primary_id}>).")
        text = text.strip()
    text = text.strip("'").strip("{}")
    try:
        if len(text) != 36:
            raise ValueError
        return str(uuid.UUID(text))
    except ValueError:
        raise BadRequest(f"Bad Request - Error in query syntax: '{raw}' is not a valid GUID key for "
                         f"{table.entity_set}.") from None


def resolve(path: str) -> Resource:
    if path in ("", "/"):
        return Resource("service", path=path)
    match = _PATH.match(path)
    if not match:
        raise ResourceNotFound(path.split("/")[0])
    name, raw_key, rest = match.group("name"), match.group("key"), match.group("rest")
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
    key = parse_key(table, raw_key)
    if rest is None or rest == "":
        return Resource("entity", table, key, path=path, raw_key=raw_key)
    if "/" in rest:
        raise ResourceNotFound(rest.split("/")[1])
    return Resource("property", table, key, property=rest, path=path, raw_key=raw_key)


def dispatch(path: str, method: str) -> Response:
    resource = resolve(path)
    handler = HANDLERS.get((resource.kind, method))
    if handler is not None:
        media.check(resource.kind, method)  # a write body that is not JSON: 415, before anything is written
        return handler(resource)
    if any(kind == resource.kind for kind, _ in HANDLERS):
        if resource.kind in ("collection", "entity", "property", "count"):
            raise MethodNotAllowed(f"The requested resource does not support http method '{method}'.")
        # Dataverse's answer to a wrong verb on a function such as WhoAmI
        raise DataverseError(f"No HTTP resource was found that matches the request URI '{request.url}'.", code="",
                             status=404)
    raise NotSupported(f"The emulator does not implement {method} on '{resource.kind}' resources "
                       f"({path}) yet.")
