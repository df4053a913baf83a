"""System query options ($select, $filter, $orderby, $top, $count, $skiptoken) parsed and checked against the
table metadata into a QueryPlan that the store runs as one SELECT."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Hashable, Mapping

import sqlalchemy as sa

from ..errors import BadRequest, PropertyNotFound
from ..metadata import Attribute, Table
from . import paging, syntax
from .expand import parse_expand
from .filter import FilterCompiler

SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$apply"}
UNSUPPORTED = {"$skip", "$search", "$format"}
_ORDER_TERM = re.compile(r"^\s*(\S+?)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


@dataclass
class OrderTerm:
    attr: Attribute
    descending: bool = False


@dataclass
class QueryPlan:
    table: Table
    select: list[Attribute] | None = None  # None: every column
    select_names: list[str] | None = None  # as written, for @odata.context
    where: sa.ColumnElement | None = None
    where_key: Hashable | None = None  # stands for `where` (FilterCompiler.compile); None: not to be cached
    order: list[OrderTerm] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    cookie: paging.PagingCookie | None = None
    expand: list = field(default_factory=list)  # expand.ExpandItem per $expand item

    def columns(self) -> list[Attribute]:
        """Attributes to return: the selection (or all), the key always."""
        attrs = list(self.table.attributes) if self.select is None else list(self.select)
        if self.table.key not in attrs:
            attrs.append(self.table.key)
        return attrs


def check_option_names(args: Mapping[str, str]) -> None:
    for name in args:
        if not name.startswith("$"):
            continue
        if name in UNSUPPORTED:
            raise BadRequest(f"The query parameter {name} is not supported")
        if name not in SUPPORTED:
            raise BadRequest(f"The query parameter '{name}' is not supported.")


def parse_select(table: Table, text: str | None) -> tuple[list[Attribute] | None, list[str] | None]:
    if text is None or text.strip() in ("", "*"):
        return None, None
    attrs, names = [], []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            raise BadRequest(f"The $select query option '{text}' has an empty item.")
        attr = table.by_property(name)
        if attr is None:
            raise PropertyNotFound(name, table.type_name)
        if attr not in attrs:
            attrs.append(attr)
            names.append(name)
    return attrs, names


def parse_orderby(table: Table, text: str | None, aliases: Mapping[str, str]) -> list[OrderTerm]:
    if text is None or not text.strip():
        return []
    text = syntax.rewrite(text, aliases, "$orderby")
    terms: list[OrderTerm] = []
    for raw in text.split(","):
        match = _ORDER_TERM.match(raw)
        if not match:
            raise BadRequest(f"Syntax error in the $orderby query option '{text}'.")
        name, direction = match.group(1), (match.group(2) or "asc").lower()
        attr = table.by_property(name)
        if attr is None:
            raise PropertyNotFound(name, table.type_name)
        terms.append(OrderTerm(attr, direction == "desc"))
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


def build_plan(table: Table, args: Mapping[str, str], sql_tables: dict[str, sa.Table], *, now: datetime,
               user_id: str | None, dialect: str, single: bool = False) -> QueryPlan:
    """Parse every option of a request on one entity set (or, with `single`, one record)."""
    check_option_names(args)
    aliases = syntax.aliases_from(args)
    select, names = parse_select(table, args.get("$select"))
    plan = QueryPlan(table, select, names)
    plan.expand = parse_expand(table, args.get("$expand"))
    if single:
        return plan
    text = args.get("$filter")
    if text is not None and text.strip():
        compiler = FilterCompiler(table, sql_tables, now=now, user_id=user_id, dialect=dialect)
        plan.where, plan.where_key = compiler.compile(text, aliases)
    plan.order = parse_orderby(table, args.get("$orderby"), aliases)
    plan.top = parse_top(args.get("$top"))
    plan.count = parse_count(args.get("$count"))
    if args.get("$skiptoken"):
        plan.cookie = paging.decode(args["$skiptoken"])
    return plan
