"""System query options ($select, $filter, $orderby, $top, $count, $expand, $skiptoken, $apply) parsed and checked
against the table metadata, and the query plan (plan.py) of each page they ask for."""
from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ..errors import BadRequest, NotSupported, PropertyNotFound
from ..metadata import Attribute, Table
from ..plan import Order, Plan
from . import paging, syntax
from .apply import Apply
from .apply import Compiler as ApplyCompiler
from .expand import ExpandItem, parse_expand
from .filter import FilterCompiler
from .limits import FilterLimits
from .select import parse_select

SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$apply"}
UNSUPPORTED = {"$skip", "$search", "$format"}  # Dataverse itself refuses these
# Nothing is silently ignored: what Dataverse honours and the emulator does not emulate yet is refused by name (501).
NOT_EMULATED = {
    "savedquery": "saved queries (the savedQuery query parameter)",
    "userquery": "user queries (the userQuery query parameter)",
}
FETCHXML = "fetchxml"  # the fetchXml parameter (any case): a query of its own, on an entity set's GET only
SQL = "sql"  # likewise the sql parameter (odata/sql.py)
DELTATOKEN = "$deltatoken"  # a change-tracking delta (odata/changes.py), on an entity set's GET only
# System query option names written without their `$`: Dataverse is an OData 4.0 service, where these are custom
# options; ignoring them would answer unfiltered data, so they are refused (docs/decisions.md).
SYSTEM_NAMES = {"filter", "select", "orderby", "top", "skip", "expand", "count", "apply", "search", "skiptoken",
                "format", "levels", "deltatoken"}
# Beside a grouping $apply these would act on the grouped result (OASIS), which the emulator does not emulate.
AFTER_GROUPING = ("$filter", "$select", "$expand")


@dataclass
class QueryOptions:
    """A request's options on one entity set (or one record)."""

    table: Table
    select: list[Attribute] | None = None  # None: every column
    select_names: list[str] | None = None  # as written, for @odata.context
    where: sa.ColumnElement | None = None
    where_key: Hashable | None = None  # stands for `where` (FilterCompiler.compile); None: not to be cached
    order: list[Order] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    cookie: paging.PagingCookie | None = None
    expand: list[ExpandItem] = field(default_factory=list)
    apply: Apply | None = None

    def columns(self) -> list[Attribute]:
        """Attributes to return: the selection (or all), the key always."""
        attrs = list(self.table.attributes) if self.select is None else list(self.select)
        key = self.table.key
        if not any(a is key for a in attrs):  # by identity: Attribute's == compares every field
            attrs.append(key)
        return attrs

    def served_before(self, page_size: int) -> int:
        """Rows the earlier pages served."""
        return self.cookie.page * page_size if self.cookie else 0

    def plan(self, page_size: int) -> Plan:
        """The plan of the page asked for: $top caps the whole result, so the page takes what remains of it. A
        grouping $apply's groups come in one page."""
        if self.apply is not None and self.apply.grouped:
            return self.apply.plan(self.order, self.top, self.count)
        limit = page_size
        if self.top is not None:
            limit = max(0, min(page_size, self.top - self.served_before(page_size)))
        return Plan(self.table, self.columns(), where=self.where, where_key=self.where_key, order=self.order,
                    limit=limit, after=self.cookie.keys if self.cookie else None, count=self.count)

    def more(self, page_size: int, rows: int, more_rows: bool) -> bool:
        """Whether a next page follows a page of `rows` rows (`more_rows`: the query matched more)."""
        if self.top is not None and self.cookie is None and self.top <= page_size:
            return False
        if self.top is not None:
            return more_rows and self.served_before(page_size) + rows < self.top
        return more_rows


def check_option_names(args: Mapping[str, str]) -> None:
    for name in args:
        if name.startswith("@"):  # a parameter alias
            continue
        if name.lower() in (FETCHXML, SQL) or name == DELTATOKEN:
            raise BadRequest(f"The query parameter {name} applies to a GET on an entity set (a collection) only.")
        missing = NOT_EMULATED.get(name if name.startswith("$") else name.lower())
        if missing:
            raise NotSupported(f"The emulator does not implement {missing} yet; the query was not run.")
        if name.startswith("$"):
            if name in UNSUPPORTED:
                raise BadRequest(f"The query parameter {name} is not supported")
            if name not in SUPPORTED:
                raise BadRequest(f"The query parameter '{name}' is not supported.")
        elif name.lower() in SYSTEM_NAMES:
            raise BadRequest(f"The query parameter '{name}' is not supported: system query options start with '$' "
                             f"(write '${name.lower()}').")


def parse_orderby(table: Table, text: str | None, aliases: Mapping[str, str]) -> list[Order]:
    if text is None or not text.strip():
        return []
    text = syntax.rewrite(text, aliases, "$orderby")
    terms: list[Order] = []
    for raw in text.split(","):
        match = syntax.ORDER_TERM.match(raw)
        if not match:
            raise BadRequest(f"Syntax error in the $orderby query option '{text}'.")
        name, direction = match.group(1), (match.group(2) or "asc").lower()
        attr = table.by_property(name)
        if attr is None:
            raise PropertyNotFound(name, table.type_name)
        terms.append(Order(attr, direction == "desc"))
    return terms


def parse_top(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"\s*\d{1,10}\s*", text) or int(text) > 2147483647:  # Edm.Int32, as Dataverse
        raise BadRequest(f"Invalid value '{text}' for $top query option found. The $top query option requires a "
                         f"non-negative integer value.")
    return int(text)


def parse_count(text: str | None) -> bool:
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise BadRequest(f"'{text}' is not a valid count option. $count takes true or false.")
    return value == "true"


def parse_options(table: Table, args: Mapping[str, str], sql_tables: Mapping[str, sa.Table], *, now: datetime,
                  user_id: str | None, dialect: str, limits: FilterLimits, single: bool = False) -> QueryOptions:
    """Parse every option of a request on one entity set (or, with `single`, one record)."""
    check_option_names(args)
    aliases = syntax.aliases_from(args)

    def filters() -> FilterCompiler:
        return FilterCompiler(table, sql_tables, now=now, limits=limits, user_id=user_id, dialect=dialect)

    apply = None
    text = args.get("$apply")
    if text is not None and text.strip():
        if single:
            raise BadRequest("The query option $apply applies to collections, not to a single record.")
        apply = ApplyCompiler(table, sql_tables, filters, aliases).compile(text)
        if apply.grouped:
            return _grouped(table, apply, args, aliases)
    select, names = parse_select(table, args.get("$select"))
    options = QueryOptions(table, select, names, apply=apply)
    options.expand = parse_expand(table, args.get("$expand"))
    if single:
        return options
    if apply is not None:  # filter() steps only: they filter the rows, as $filter does
        options.where, options.where_key = apply.where, apply.where_key
    text = args.get("$filter")
    if text is not None and text.strip():
        where, key = filters().compile(text, aliases)
        if options.where is None:
            options.where, options.where_key = where, key
        else:
            options.where = sa.and_(options.where, where)
            options.where_key = None if None in (options.where_key, key) else (options.where_key, key)
    options.order = parse_orderby(table, args.get("$orderby"), aliases)
    options.top = parse_top(args.get("$top"))
    options.count = parse_count(args.get("$count"))
    if args.get("$skiptoken"):
        options.cookie = paging.decode(args["$skiptoken"])
    return options


def _grouped(table: Table, apply: Apply, args: Mapping[str, str], aliases: Mapping[str, str]) -> QueryOptions:
    """The options beside a grouping $apply: $orderby by its group properties, $top, $count."""
    for name in AFTER_GROUPING:
        if (args.get(name) or "").strip():
            raise NotSupported(f"The emulator does not implement {name} together with a $apply that groups or "
                               f"aggregates; the query was not run.")
    if args.get("$skiptoken"):
        raise BadRequest("The $skiptoken does not belong to this query: grouped $apply results come in one page.")
    options = QueryOptions(table, apply=apply)
    options.order = apply.parse_orderby(args.get("$orderby"), aliases)
    options.top = parse_top(args.get("$top"))
    options.count = parse_count(args.get("$count"))
    return options
