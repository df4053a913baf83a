"""Reads: GET on an entity set (query options or FetchXML, paging, counts), on one record, and on <set>/$count."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import request

from .. import metadata, server
from ..errors import BadRequest, PropertyNotFound, RecordNotFound
from ..lru import LRU
from ..metadata import Attribute
from ..odata import apply, changes, fetchxml, paging, serialize, sql
from ..odata.limits import FilterLimits
from ..odata.options import (
    DELTATOKEN,
    FETCHXML,
    SQL,
    QueryOptions,
    check_option_names,
    parse_count,
    parse_options,
)
from ..responses import empty_response, json_response, text_response
from ..store import changes as tracked
from ..store import query
from ..store.related import related_rows
from . import instance_annotations, prefer
from .routing import Resource, handles

_SAFE = "$,'()/:=@*;"
_SERVICE_ROOTS: LRU[str] = LRU(64)
MAX_CACHED_QUERY = 1000  # query strings longer than this are parsed on every request, not cached


def service_root() -> str:
    """`<scheme>://<host>/api/data/v9.x/`, from the request itself so links work whatever host the client used.
    Built once per host: werkzeug's host_url decodes the URL to an IRI on every request. Keyed by the environ
    values werkzeug derives the host from, read without computing it."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup, not one per attribute
    environ = req.environ
    key = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
           environ.get("SERVER_PORT"), req.path.split("/", 4)[3])
    root = _SERVICE_ROOTS.get(key)
    if root is None:
        root = f"{req.host_url}api/data/{key[4]}/"
        _SERVICE_ROOTS.put(key, root)
    return root


def next_link(cookie: str) -> str:
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"]
    params.append(("$skiptoken", cookie))
    query_string = "&".join(f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in params)
    return f"{request.base_url}?{query_string}"


def _limits(emulator) -> FilterLimits:
    return FilterLimits(emulator.settings.max_filter_depth, emulator.settings.max_filter_conditions)


def _options(resource: Resource, single: bool = False, args=None) -> QueryOptions:
    emulator = server.current()
    return parse_options(resource.entity_table, request.args if args is None else args, emulator.db.tables,
                         now=emulator.clock.now(),
                         user_id=emulator.caller_id, dialect=emulator.db.engine.dialect.name, single=single,
                         limits=_limits(emulator))


def _totals(body: dict, prefs: prefer.Preferences, counted: bool, page: query.Page) -> None:
    """@odata.count when asked for, and the total-record-count annotations when the Prefer header asks."""
    if counted:
        body["@odata.count"] = page.count
    if prefs.wants("Microsoft.Dynamics.CRM.totalrecordcount"):
        body["@Microsoft.Dynamics.CRM.totalrecordcount"] = page.count if counted else -1
    if prefs.wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"):
        body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = page.count_exceeded
    if prefs.wants("Microsoft.Dynamics.CRM.globalmetadataversion"):
        body["@Microsoft.Dynamics.CRM.globalmetadataversion"] = "1"


def _expansions(emulator, prefs: prefer.Preferences, options: QueryOptions, rows) -> list[serialize.Expansion]:
    """For each $expand item, the related row of every row in `rows` (one query per navigation property and
    target), each target's related rows annotated as the main rows are."""
    if not options.expand:
        return []
    table = options.table
    keys = list(dict.fromkeys(row._mapping[table.primary_id] for row in rows))
    expansions = []
    for item in options.expand:
        related: dict[str, tuple[str, object]] = {}
        attrs_by_target = {target.logical_name: item.columns(target) for target in item.targets}
        for target in item.targets if keys else ():
            related.update(related_rows(emulator.db, table, item.lookup, target,
                                        attrs_by_target[target.logical_name], keys))
        expansion = serialize.Expansion(item.name, table.primary_id, related, attrs_by_target)
        for target_name, attrs in attrs_by_target.items():
            rows_of_target = [row for name, row in related.values() if name == target_name]
            expansion.annotate[target_name] = instance_annotations.annotator(emulator, prefs, rows_of_target, attrs)
        expansions.append(expansion)
    return expansions


@handles("collection", "GET")
def retrieve_multiple(resource: Resource):
    emulator = server.current()
    prefs = prefer.parse(request.headers.get("Prefer"))
    if prefs.track_changes or DELTATOKEN in request.args:
        return _track(resource, prefs)
    for name, value in request.args.items():
        if name.lower() == FETCHXML:
            return _fetch(resource, value, prefs)
        if name.lower() == SQL:
            return _fetch(resource, value, prefs, language=SQL)
    options = _options(resource)
    if options.apply is not None and options.apply.grouped:
        return _retrieve_groups(emulator, prefs, options, options.apply)
    if prefs.max_page_size is not None and options.top is not None:
        options.top = None  # documented: with odata.maxpagesize, $top is ignored
    page = query.run(emulator.db, options.plan(prefs.page_size))
    attrs = options.columns()
    annotate = instance_annotations.annotator(emulator, prefs, page.rows, attrs)
    expansions = _expansions(emulator, prefs, options, page.rows)
    body: dict = {"@odata.context": serialize.context_url(service_root(), options.table, options.select_names,
                                                          expand=[item.context for item in options.expand])}
    _totals(body, prefs, options.count, page)
    body["value"] = serialize.records(attrs, page.rows, annotate, expansions)
    if options.more(prefs.page_size, len(page.rows), page.more):
        page_number = options.cookie.page + 1 if options.cookie else 1
        body["@odata.nextLink"] = next_link(paging.encode(page_number, page.last_keys))
    return json_response(body, headers=prefs.header())


def _track(resource: Resource, prefs: prefer.Preferences):
    """A change-tracked GET: without a token, today's rows (paged as usual) and, on the last page, an
    @odata.deltaLink; with one, the rows written since it (new and changed alike, oldest first) and then the rows
    deleted since, in pages of whole row-version ranges, and a new delta link on the last page."""
    emulator = server.current()
    table = resource.entity_table
    changes.check(table, request.args)
    high = changes.DeltaToken(tracked.current_version(emulator.db), emulator.clock.now())  # before reading
    args = {k: v for k, v in request.args.items() if k != DELTATOKEN}
    options = _options(resource, args=args)
    root = service_root()
    context = serialize.context_url(root, table, options.select_names)
    token_text = request.args.get(DELTATOKEN)
    if token_text is None:
        page = query.run(emulator.db, options.plan(prefs.page_size))
        attrs = options.columns()
        body: dict = {"@odata.context": context}
        if page.more:
            body["@odata.nextLink"] = next_link(paging.encode((options.cookie.page + 1) if options.cookie else 1,
                                                              page.last_keys))
        else:
            body["@odata.deltaLink"] = _delta_link(high)
        annotate = instance_annotations.annotator(emulator, prefs, page.rows, attrs)
        body["value"] = serialize.records(attrs, page.rows, annotate, [])
        return json_response(body, headers=prefs.header())
    since = changes.parse_token(token_text, emulator.clock.now())
    attrs = options.columns()
    page = query.run(emulator.db, changes.changed_rows(table, emulator.db.tables[table.logical_name], attrs,
                                                       since.version, prefs.page_size))
    gone = tracked.deletions(emulator.db, table, since.version, prefs.page_size + 1)
    # One page covers whole row versions up to `last`: the changed rows and deletions at or below it.
    merged: list[tuple[int, Any]] = sorted([*((row._mapping["versionnumber"], row) for row in page.rows), *gone],
                                           key=lambda item: item[0])
    more = page.more or len(merged) > prefs.page_size
    last = merged[prefs.page_size - 1][0] if more else high.version
    rows = [row for version, row in merged if version <= last and not isinstance(row, str)]
    deleted = [key for version, key in merged if version <= last and isinstance(key, str)]
    annotate = instance_annotations.annotator(emulator, prefs, rows, attrs)
    body = {"@odata.context": f"{context}/$delta"}
    link = _delta_link(changes.DeltaToken(last, high.issued))
    body["@odata.nextLink" if more else "@odata.deltaLink"] = link
    body["value"] = serialize.records(attrs, rows, annotate, []) + [
        {"@odata.context": f"{root}$metadata#{table.entity_set}/$deletedEntity", "id": key, "reason": "deleted"}
        for key in deleted]
    return json_response(body, headers=prefs.header())


def _delta_link(token: changes.DeltaToken) -> str:
    params = [(k, v) for k, v in request.args.items(multi=True) if k not in (DELTATOKEN, "$skiptoken")]
    query_string = "&".join(f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in params)
    return f"{request.base_url}?{query_string}{'&' if query_string else ''}{DELTATOKEN}={token.link_value()}"


def _retrieve_groups(emulator, prefs: prefer.Preferences, options: QueryOptions, grouping: apply.Apply):
    """A grouping $apply: every group in one response (at most 50,000 rows enter the grouping), so
    odata.maxpagesize is not applied and Preference-Applied leaves it out."""
    page = query.run(emulator.db, options.plan(prefs.page_size))
    attrs = [output.attr for output in grouping.outputs]
    annotate = instance_annotations.annotator(emulator, prefs, page.rows, attrs)
    body: dict = {"@odata.context": serialize.context_url(service_root(), options.table, None)}
    _totals(body, prefs, options.count, page)
    body["value"] = apply.records(grouping.outputs, page.rows, annotate)
    prefs.applied = [p for p in prefs.applied if not p.startswith("odata.maxpagesize")]
    return json_response(body, headers=prefs.header())


def _fetch(resource: Resource, text: str, prefs: prefer.Preferences, language: str = FETCHXML):
    """GET <set>?fetchXml=: the compiled FetchXML's page, with the paging cookie and more-records annotations
    (when asked for and more rows follow) in place of a nextLink. odata.maxpagesize does not apply (nor is echoed):
    `count` sets FetchXML's page size. GET <set>?sql= runs as the FetchXML its SELECT translates to, but pages as
    OData does: odata.maxpagesize rows a page, then an @odata.nextLink whose $skiptoken carries the paging cookie."""
    emulator = server.current()
    allowed = ("$count",) if language == FETCHXML else ("$skiptoken",)
    others = [name for name in request.args if name.lower() != language and name not in allowed]
    for name in others:
        if name.startswith("$"):
            raise BadRequest(f"The query parameter {name} cannot be combined with "
                             f"{'fetchXml' if language == FETCHXML else 'sql'}: it carries the whole query.")
    check_option_names(dict.fromkeys(others, ""))  # the other Dataverse parameters: honoured, or refused by name
    if language == SQL:
        text = sql.to_fetchxml(text, resource.entity_table, now=emulator.clock.now())
    fetch = fetchxml.compile_fetch(text, resource.entity_table, emulator.db.tables, now=emulator.clock.now(),
                                   user_id=emulator.caller_id, dialect=emulator.db.engine.dialect.name,
                                   limits=_limits(emulator))
    fetch.count = fetch.count or parse_count(request.args.get("$count"))
    if language == SQL and fetch.paged:
        fetch.page_size = prefs.page_size
        if token := request.args.get("$skiptoken"):
            cookie = paging.decode(token)
            fetch.page, fetch.cookie = cookie.pagenumber, cookie.keys
    plan = fetch.plan()
    page = query.run(emulator.db, plan)
    rows = page.rows[fetch.skipped(plan):]
    columns = [(c.attr, c.label, c.prefix) for c in fetch.columns if c.function is None]
    annotate = instance_annotations.annotator(emulator, prefs, rows, columns=columns)
    names = None if fetch.grouped or len(fetch.root_columns) == len(resource.entity_table.attributes) else \
        [c.key for c in fetch.columns]
    body: dict = {"@odata.context": serialize.context_url(service_root(), resource.entity_table, names)}
    _totals(body, prefs, fetch.count, page)
    if page.more and fetch.paged and language == SQL:
        body["@odata.nextLink"] = next_link(fetch.next_cookie(page.sort_values(rows[0]), page.sort_values(rows[-1])))
    elif page.more and fetch.paged:
        if prefs.wants("Microsoft.Dynamics.CRM.fetchxmlpagingcookie"):
            body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = fetch.next_cookie(page.sort_values(rows[0]),
                                                                                     page.sort_values(rows[-1]))
        if prefs.wants("Microsoft.Dynamics.CRM.morerecords"):
            body["@Microsoft.Dynamics.CRM.morerecords"] = True
    body["value"] = fetchxml.records(fetch, rows, annotate, attribute_names=prefs.wants(fetchxml.ATTRIBUTE_NAME),
                                     formatted=prefs.wants(fetchxml.FORMATTED_VALUE))
    applied = [p for p in prefs.applied if language == SQL or not p.startswith("odata.maxpagesize")]
    return json_response(body, headers={"Preference-Applied": ",".join(applied)} if applied else None)


@dataclass(frozen=True)
class _RecordQuery:
    """What a single-record GET's query string asks for, parsed once per catalog, table and query string: it
    depends on nothing else (no $filter, clock or caller applies to one record)."""

    options: QueryOptions  # read only
    attrs: list[Attribute]  # the columns to return
    context: str  # @odata.context after the service root
    expand_given: bool  # `$expand` is in the query string (even empty): no 304 then


_RECORD_QUERIES: LRU[_RecordQuery] = LRU(256)


def _record_query(resource: Resource, query_string: bytes) -> _RecordQuery:
    table = resource.entity_table
    key = (metadata.current(), table.logical_name, query_string) if len(query_string) <= MAX_CACHED_QUERY else None
    found = _RECORD_QUERIES.get(key) if key is not None else None
    if found is None:
        options = _options(resource, single=True)
        found = _RecordQuery(options, options.columns(),
                             serialize.context_url("", table, options.select_names, single=True,
                                                   expand=[item.context for item in options.expand]),
                             "$expand" in request.args)
        if key is not None:
            _RECORD_QUERIES.put(key, found)
    return found


@handles("entity", "GET")
def retrieve(resource: Resource):
    emulator = server.current()
    req = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup, not one per attribute
    headers = req.headers
    prefs = prefer.parse(headers.get("Prefer"))
    asked = _record_query(resource, req.query_string)
    attrs = asked.attrs
    row = query.get_one(emulator.db, resource.entity_table, resource.record_key, attrs)
    if row is None:
        raise RecordNotFound(resource.entity_table.logical_name, resource.record_key)
    if _not_modified(row, prefs, headers.get("If-None-Match"), asked.expand_given):
        return empty_response(304)
    body = {"@odata.context": service_root() + asked.context}
    body.update(serialize.record(attrs, row, instance_annotations.annotator(emulator, prefs, [row], attrs),
                                 _expansions(emulator, prefs, asked.options, [row])))
    return json_response(body, headers=prefs.header())


def _not_modified(row, prefs, header: str | None, expand_given: bool) -> bool:
    """Conditional GET: If-None-Match with the row's current ETag -> 304, never when annotations or $expand are
    asked for. The literal `If-None-Match: null` that some clients send on every request is no precondition."""
    header = (header or "").strip()
    if not header or header == "null" or prefs.annotations or expand_given:
        return False
    return serialize.etag(row._mapping["versionnumber"]) in [tag.strip() for tag in header.split(",")]


@handles("property", "GET")
def retrieve_property(resource: Resource):
    emulator = server.current()
    attr = resource.entity_table.by_property(resource.property or "")
    if attr is None:
        raise PropertyNotFound(resource.property or "", resource.entity_table.type_name)
    row = query.get_one(emulator.db, resource.entity_table, resource.record_key, [attr])
    if row is None:
        raise RecordNotFound(resource.entity_table.logical_name, resource.record_key)
    value = row._mapping[attr.logical_name]
    table = resource.entity_table
    context = f"{service_root()}$metadata#{table.entity_set}({resource.record_key})/{attr.property_name}"
    return json_response({"@odata.context": context, "value": value})


@handles("count", "GET")
def count(resource: Resource):
    emulator = server.current()
    token_text = request.args.get(DELTATOKEN)
    if token_text is not None:  # the number of changes since the token
        table = resource.entity_table
        changes.check(table, {k: v for k, v in request.args.items() if k != DELTATOKEN})
        since = changes.parse_token(token_text, emulator.clock.now())
        plan = changes.changed_rows(table, emulator.db.tables[table.logical_name], [table.key], since.version, 0)
        changed, _ = query.count(emulator.db, plan)
        return text_response(str(changed + tracked.deleted_count(emulator.db, table, since.version)))
    total, _ = query.count(emulator.db, _options(resource).plan(page_size=0))  # counts what the filter matches
    return text_response(str(total))

