"""Writes: POST (create), PATCH (update/upsert), DELETE, single-property PUT/DELETE, ETag preconditions, and the
CreateMultiple/UpdateMultiple bound actions. Validation lives in store/validate.py, persistence in store/write.py."""
from __future__ import annotations

import contextvars

import orjson
from flask import request

from .. import server
from ..errors import BadRequest, DataverseError, NotSupported, PreconditionFailed, PropertyNotFound, RecordNotFound
from ..metadata import Table
from ..odata import serialize
from ..odata.options import parse_select
from ..responses import empty_response, json_response
from ..store import write as store
from . import instance_annotations, prefer
from .read import service_root
from .routing import Resource, handles

# The entity URL of the last record a request created or updated, for $batch Content-ID references.
last_entity_url: contextvars.ContextVar[str | None] = contextvars.ContextVar("last_entity_url", default=None)


def _context() -> store.Context:
    emulator = server.current()
    return store.Context(now=emulator.clock.now(), caller_id=emulator.caller_id)


def _body(table: Table):
    raw = request.get_data()
    if not raw.strip():
        raise store.payload_error(table, "The request body is empty: send the record's columns as a JSON object.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise store.payload_error(table, f"Invalid JSON. {e}") from None


def _entity_url(table: Table, key: str) -> str:
    url = f"{service_root()}{table.entity_set}({key})"
    last_entity_url.set(url)
    return url


def _etags(header: str | None) -> list[str] | None:
    """The entity tags of an If-Match / If-None-Match header; None when absent (or the literal `null` that
    dataverse-webapi sends on every request)."""
    if header is None or header.strip() in ("", "null"):
        return None
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _check_if_match(tags: list[str] | None, row) -> None:
    if tags is None or "*" in tags:
        return
    if serialize.etag(row._mapping["versionnumber"]) not in tags:
        raise PreconditionFailed("The version of the existing record doesn't match the RowVersion property provided.")


def _missing(table: Table, key: str) -> DataverseError:
    """PATCH with If-Match on a missing row: Dataverse's documented 404 (its code is empty)."""
    return DataverseError(f"{table.logical_name} With Id = {key} Does Not Exist", code="", status=404)


def _representation(conn, table: Table, key: str, status: int, prefs: prefer.Preferences):
    attrs, names = parse_select(table, request.args.get("$select"))
    if attrs is not None and table.key not in attrs:
        attrs.append(table.key)
    attrs = attrs or list(table.attributes)
    row = store.fetch(conn, server.current().db, table, key, attrs)
    body = {"@odata.context": serialize.context_url(service_root(), table, names, single=True)}
    body.update(serialize.record(attrs, row, instance_annotations.annotator(server.current(), prefs, [row], attrs)))
    return json_response(body, status=status, headers=prefs.header())


@handles("collection", "POST")
def create(resource: Resource):
    table = resource.entity_table
    emulator = server.current()
    prefs = prefer.parse(request.headers.get("Prefer"))
    body = _body(table)
    with emulator.db.transaction() as conn:
        key = store.create(conn, emulator.db, table, body, _context())
        url = _entity_url(table, key)
        if prefs.return_representation:
            return _representation(conn, table, key, 201, prefs)
    return empty_response(204, {"OData-EntityId": url})


@handles("entity", "PATCH")
def update_or_upsert(resource: Resource):
    table, key = resource.entity_table, resource.record_key
    emulator = server.current()
    prefs = prefer.parse(request.headers.get("Prefer"))
    if_match = _etags(request.headers.get("If-Match"))
    if_none_match = _etags(request.headers.get("If-None-Match"))
    body = _body(table)
    with emulator.db.transaction() as conn:
        existing = store.fetch(conn, emulator.db, table, key, lock=True)
        if existing is None:
            if if_match is not None:
                raise _missing(table, key)
            store.create(conn, emulator.db, table, body, _context(), key=key)
            status = 201
        else:
            if if_none_match is not None and "*" in if_none_match:
                raise PreconditionFailed("A record with matching key values already exists.")
            _check_if_match(if_match, existing)
            store.update(conn, emulator.db, table, key, body, _context(), existing)
            status = 200
        url = _entity_url(table, key)
        if prefs.return_representation:
            return _representation(conn, table, key, status, prefs)
    return empty_response(204, {"OData-EntityId": url})


@handles("entity", "DELETE")
def delete(resource: Resource):
    table, key = resource.entity_table, resource.record_key
    emulator = server.current()
    if_match = _etags(request.headers.get("If-Match"))
    with emulator.db.transaction() as conn:
        existing = store.fetch(conn, emulator.db, table, key, [table.key], lock=True)
        if existing is None:
            raise RecordNotFound(table.logical_name, key)
        _check_if_match(if_match, existing)
        store.delete(conn, emulator.db, table, key, now=emulator.clock.now())
    return empty_response(204)


def _property(resource: Resource):
    attr = resource.entity_table.by_property(resource.property or "")
    if attr is None:
        raise PropertyNotFound(resource.property or "", resource.entity_table.type_name)
    if attr.is_lookup:
        raise BadRequest(f"'{resource.property}' is a lookup: set it with "
                         f"'<navigation property>@odata.bind' in a PATCH of the record.")
    return attr


def _update_property(resource: Resource, value):
    table, key = resource.entity_table, resource.record_key
    attr = _property(resource)
    emulator = server.current()
    with emulator.db.transaction() as conn:
        existing = store.fetch(conn, emulator.db, table, key, lock=True)
        if existing is None:
            raise RecordNotFound(table.logical_name, key)
        _check_if_match(_etags(request.headers.get("If-Match")), existing)
        store.update(conn, emulator.db, table, key, {attr.property_name: value}, _context(), existing)
        _entity_url(table, key)
    return empty_response(204)


@handles("property", "PUT")
def put_property(resource: Resource):
    body = _body(resource.entity_table)
    if not isinstance(body, dict) or "value" not in body:
        raise store.payload_error(resource.entity_table,
                                  "A single-property PUT needs a body of the form {\"value\": ...}.")
    return _update_property(resource, body["value"])


@handles("property", "DELETE")
def delete_property(resource: Resource):
    return _update_property(resource, None)


def _targets(table: Table) -> list:
    body = _body(table)
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list) or not targets or not all(isinstance(t, dict) for t in targets):
        raise BadRequest("The 'Targets' parameter is required: a non-empty array of records, each with "
                         f"\"@odata.type\": \"{table.type_name}\".", code="0x80040203")
    return targets


@handles("action", "POST")
def bound_action(resource: Resource):
    table = resource.entity_table
    emulator = server.current()
    if resource.action == "CreateMultiple":
        targets = _targets(table)
        with emulator.db.transaction() as conn:
            ids = [store.create(conn, emulator.db, table, target, _context()) for target in targets]
        return json_response({"@odata.context": f"{service_root()}$metadata#Microsoft.Dynamics.CRM."
                                                f"CreateMultipleResponse", "Ids": ids})
    if resource.action == "UpdateMultiple":
        targets = _targets(table)
        with emulator.db.transaction() as conn:
            for target in targets:
                key = store.parse_guid(target.get(table.primary_id))
                if key is None:
                    raise BadRequest(f"Every target of UpdateMultiple needs its '{table.primary_id}'.",
                                     code="0x80040203")
                store.update(conn, emulator.db, table, key, target, _context())
        return empty_response(204)
    raise NotSupported(f"The emulator does not implement the action 'Microsoft.Dynamics.CRM.{resource.action}' "
                       f"bound to {table.entity_set}; CreateMultiple and UpdateMultiple are supported.")
