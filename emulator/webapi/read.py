"""Reads: GET on an entity set (query options, paging, counts), on one record, and on <set>/$count."""
from __future__ import annotations

from urllib.parse import quote

from flask import request

from .. import server
from ..errors import PropertyNotFound, RecordNotFound
from ..odata import expand, paging, serialize
from ..odata.options import build_plan
from ..responses import empty_response, json_response, text_response
from ..store import query
from . import instance_annotations, prefer
from .routing import Resource, handles

_SAFE = "$,'()/:=@*;"


def service_root() -> str:
    """`<scheme>://<host>/api/data/v9.x/`, from the request itself so links work whatever host the client used."""
    version = request.path.split("/")[3]
    return f"{request.host_url}api/data/{version}/"


def next_link(cookie: str) -> str:
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"]
    params.append(("$skiptoken", cookie))
    query_string = "&".join(f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in params)
    return f"{request.base_url}?{query_string}"


def _plan(resource: Resource, single: bool = False):
    emulator = server.current()
    return build_plan(resource.table, request.args, emulator.db.tables, now=emulator.clock.now(),
                      user_id=emulator.caller_id, dialect=emulator.db.engine.dialect.name, single=single)


def _expansions(emulator, prefs: prefer.Preferences, plan, rows) -> list[serialize.Expansion]:
    """The $expand items fetched for `rows`, each target's related rows annotated as the main rows are."""
    expansions = expand.fetch(emulator.db, plan.table, plan.expand, rows)
    for expansion in expansions:
        for target, attrs in expansion.attrs.items():
            related = [row for name, row in expansion.related.values() if name == target]
            expansion.annotate[target] = instance_annotations.annotator(emulator, prefs, related, attrs)
    return expansions


@handles("collection", "GET")
def retrieve_multiple(resource: Resource):
    emulator = server.current()
    prefs = prefer.parse(request.headers.get("Prefer"))
    plan = _plan(resource)
    if prefs.max_page_size is not None and plan.top is not None:
        plan.top = None  # documented: with odata.maxpagesize, $top is ignored
    page = query.run(emulator.db, plan, prefs.page_size)
    attrs = plan.columns()
    annotate = instance_annotations.annotator(emulator, prefs, page.rows, attrs)
    expansions = _expansions(emulator, prefs, plan, page.rows)
    body: dict = {"@odata.context": serialize.context_url(service_root(), plan.table, plan.select_names,
                                                          expand=[item.context for item in plan.expand])}
    if plan.count:
        body["@odata.count"] = page.count
    if prefs.wants("Microsoft.Dynamics.CRM.totalrecordcount"):
        body["@Microsoft.Dynamics.CRM.totalrecordcount"] = page.count if plan.count else -1
    if prefs.wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"):
        body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = page.count_exceeded
    if prefs.wants("Microsoft.Dynamics.CRM.globalmetadataversion"):
        body["@Microsoft.Dynamics.CRM.globalmetadataversion"] = "1"
    body["value"] = serialize.records(attrs, page.rows, annotate, expansions)
    if page.more:
        page_number = plan.cookie.page + 1 if plan.cookie else 1
        body["@odata.nextLink"] = next_link(paging.encode(page_number, page.last_keys))
    return json_response(body, headers=prefs.header())


@handles("entity", "GET")
def retrieve(resource: Resource):
    emulator = server.current()
    prefs = prefer.parse(request.headers.get("Prefer"))
    plan = _plan(resource, single=True)
    attrs = plan.columns()
    row = query.get_one(emulator.db, resource.table, resource.key, attrs)
    if row is None:
        raise RecordNotFound(resource.table.logical_name, resource.key)
    if _not_modified(row, prefs):
        return empty_response(304)
    body = {"@odata.context": serialize.context_url(service_root(), plan.table, plan.select_names, single=True,
                                                    expand=[item.context for item in plan.expand])}
    body.update(serialize.record(attrs, row, instance_annotations.annotator(emulator, prefs, [row], attrs),
                                 _expansions(emulator, prefs, plan, [row])))
    return json_response(body, headers=prefs.header())


def _not_modified(row, prefs) -> bool:
    """Conditional GET: If-None-Match with the row's current ETag -> 304, never when annotations or $expand are
    asked for. The literal `If-None-Match: null` that some clients send on every request is no precondition."""
    header = (request.headers.get("If-None-Match") or "").strip()
    if not header or header == "null" or prefs.annotations or "$expand" in request.args:
        return False
    return serialize.etag(row._mapping["versionnumber"]) in [tag.strip() for tag in header.split(",")]


@handles("property", "GET")
def retrieve_property(resource: Resource):
    emulator = server.current()
    attr = resource.table.by_property(resource.property)
    if attr is None:
        raise PropertyNotFound(resource.property, resource.table.type_name)
    row = query.get_one(emulator.db, resource.table, resource.key, [attr])
    if row is None:
        raise RecordNotFound(resource.table.logical_name, resource.key)
    value = row._mapping[attr.logical_name]
    context = f"{service_root()}$metadata#{resource.table.entity_set}({resource.key})/{attr.property_name}"
    return json_response({"@odata.context": context, "value": value})


@handles("count", "GET")
def count(resource: Resource):
    emulator = server.current()
    plan = _plan(resource)
    with emulator.db.engine.connect() as conn:
        total, _ = query.count_rows(conn, emulator.db, plan)
    return text_response(str(total))

