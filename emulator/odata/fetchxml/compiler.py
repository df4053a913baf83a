"""FetchXML compiled into the query plan (plan.py) that the OData options also compile into: columns, joins and
semi-joins for link-entities, filters, orders, grouping and aggregates, and the paging FetchXML asks for."""
from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from ... import metadata
from ...errors import BadRequest
from ...lru import LRU
from ...metadata import Attribute, Table
from ...metadata import model as m
from ...plan import AGGREGATE_LIMIT, Aggregate, Group, Join, Order, Plan
from .. import paging
from ..limits import FilterLimits
from ..operand import NUMERIC_EDM
from .conditions import ARITY, NOT_EMULATED_OPERATORS, Scope
from .grammar import (
    ALIAS,
    DOCUMENT,
    INVALID_ARGUMENT,
    NO_ENTITY,
    attribute_of,
    boolean,
    check_element,
    invalid,
    not_emulated,
    parse_cookie,
    parse_xml,
    whole_number,
)

PAGE_LIMIT = 5000  # rows per page (count) and top, at most
MAX_LINKS = 15
MAX_CONDITIONS = 500  # conditions and link-entities in one query
SEMI_JOINS = ("exists", "in")  # link types of an entity's link-entity that filter without joining
FILTER_LINKS = ("any", "not any", "all", "not all")  # link types of a link-entity inside a filter
DATE_PARTS = ("day", "week", "month", "quarter", "year")
FISCAL_DATE_PARTS = ("fiscal-period", "fiscal-year")
AGGREGATE_FUNCTIONS = {"count", "countcolumn", "sum", "avg", "min", "max"}


@dataclass
class Column:
    """One column of the answer: its JSON `key`, the row label holding its value, and its column (for an aggregate,
    the column it aggregates)."""

    key: str
    label: str
    attr: Attribute
    prefix: str = ""  # `<link alias>.` for a linked column: where its row values are labelled
    aliased: bool = False  # under an alias of its own: the raw value and, asked for, its AttributeName
    function: str | None = None  # aggregate function


@dataclass
class FetchQuery:
    """A compiled FetchXML query: the plan's parts, the answer's columns and the paging it asks for."""

    table: Table
    columns: list[Column] = field(default_factory=list)
    root_columns: list[Attribute] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    where: sa.ColumnElement | None = None
    groups: list[Group] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    order: list[Order] = field(default_factory=list)
    top: int | None = None
    page_size: int = PAGE_LIMIT
    page: int = 1
    cookie: list[tuple[str, str | None]] | None = None
    count: bool = False
    aggregate_limit: int | None = None  # set on aggregate queries (aggregatelimit can only lower AGGREGATE_LIMIT)
    where_key: Hashable | None = None  # stands for `where` (equal keys, equivalent clauses); None: not to be cached

    @property
    def grouped(self) -> bool:
        return bool(self.groups or self.aggregates)

    @property
    def keyset(self) -> bool:
        """Whether pages seek after the cookie's keys: not when rows are groups or a link repeats the root row."""
        return not self.grouped and not any(j.to_many for j in self.joins)

    @property
    def paged(self) -> bool:
        return self.top is None

    def plan(self) -> Plan:
        """The page asked for: after the cookie's keys, or, paging by number, the first `page` pages (the caller
        drops all but the last: Dataverse's simple paging)."""
        after = self.cookie if self.cookie is not None and self.keyset and self.page > 1 else None
        if self.top is not None:
            limit = self.top
        else:
            limit = self.page_size if after is not None else self.page_size * self.page
        return Plan(self.table, self.root_columns, joins=list(self.joins), where=self.where,
                    where_key=self.where_key, groups=self.groups, aggregates=self.aggregates, order=self.order,
                    limit=limit, after=after, count=self.count, aggregate_limit=self.aggregate_limit)

    def skipped(self, plan: Plan) -> int:
        """Rows of the plan's answer that earlier pages served."""
        return 0 if plan.after is not None or self.top is not None else self.page_size * (self.page - 1)

    def next_cookie(self, first: list[tuple[str, object]], last: list[tuple[str, object]]) -> str:
        """The paging cookie annotation for the next page: the sort keys' values on this page's first and last rows;
        paging by number, an empty pagingcookie."""
        if not self.keyset:
            return f'<cookie pagenumber="{self.page + 1}" pagingcookie="" istracking="False" />'
        return paging.encode(self.page, last, [value for _, value in first])


class Compiler:
    """One FetchXML text on one entity set -> FetchQuery."""

    def __init__(self, table: Table, sql_tables: Mapping[str, sa.Table], *, now: datetime, user_id: str | None,
                 dialect: str, limits: FilterLimits) -> None:
        self.table, self.sql_tables = table, sql_tables
        self.context: dict[str, Any] = {"now": now, "user_id": user_id, "dialect": dialect, "limits": limits}
        self.scopes: dict[str, Scope] = {}  # link-entity alias (or name when it has none) -> scope
        self.root: Scope | None = None
        self.links = 0
        self.conditions = 0
        self.link_orders: list[Order] = []
        self.raw_order = False
        self.aggregate = False
        self.distinct = False

    def compile(self, text: str) -> FetchQuery:
        root = parse_xml(text)
        check_element(root, DOCUMENT)
        entities = list(root)
        for child in entities:
            if child.tag == "order":
                raise not_emulated("<order> directly under <fetch> (the reports view's order)")
            check_element(child, "fetch")
        if len(entities) != 1:
            raise invalid(f"<fetch> must hold exactly one <entity>, not {len(entities)}.")
        entity = entities[0]
        name = entity.get("name") or ""
        if metadata.find(name) is None:
            raise BadRequest(f"The entity with a name = '{name}' with namemapping = 'Logical' was not found in the "
                             f"MetadataCache.", code=NO_ENTITY)
        if name != self.table.logical_name:
            raise BadRequest("The entity name specified in FetchXml does not match the entity name in the EntitySet "
                             f"or EntitySetName: '{name}' is not the table of '{self.table.entity_set}' "
                             f"('{self.table.logical_name}').")
        self.aggregate = boolean(root, "aggregate")
        self.distinct = boolean(root, "distinct") and not self.aggregate
        self.raw_order = boolean(root, "useraworderby")
        query = FetchQuery(self.table)
        self._paging(root, query)
        self.root = scope = self._scope(self.table, self.sql_tables[self.table.logical_name], None)
        query.where = self._entity(entity, scope, query, root=True)
        query.order += self.link_orders
        if self.aggregate:
            self._check_aggregate(query)
        elif self.distinct:
            self._distinct(query)
        return query

    def context_read(self) -> set[str]:
        """The clock and caller values (`now`, `user_id`) the compiled conditions depend on."""
        scopes = [*self.scopes.values(), *([self.root] if self.root is not None else [])]
        return set().union(*(scope.read for scope in scopes))

    # -- fetch ---------------------------------------------------------------------------------------------------
    def _paging(self, root: Element, query: FetchQuery) -> None:
        query.top = whole_number(root, "top", PAGE_LIMIT)
        count, page = whole_number(root, "count", PAGE_LIMIT), whole_number(root, "page", 10**6)
        query.count = boolean(root, "returntotalrecordcount")
        if query.top is not None and (count is not None or page is not None or query.count):
            raise BadRequest("The 'top' attribute of <fetch> cannot be combined with 'count', 'page' or "
                             "'returntotalrecordcount'.", code=INVALID_ARGUMENT)
        query.page_size, query.page = count or PAGE_LIMIT, page or 1
        cookie = root.get("paging-cookie")
        if cookie:
            query.cookie = parse_cookie(cookie)
        if self.aggregate:
            limit = whole_number(root, "aggregatelimit", AGGREGATE_LIMIT)
            query.aggregate_limit = limit or AGGREGATE_LIMIT

    # -- entity and link-entity ------------------------------------------------------------------------------------
    def _scope(self, table: Table, source: NamedFromClause, alias: str | None) -> Scope:
        return Scope(table, source, self.sql_tables, alias=alias, **self.context)

    def _entity(self, el: Element, scope: Scope, query: FetchQuery, root: bool = False) -> sa.ColumnElement | None:
        """Compile an entity's (or link-entity's) children: its columns, then its links, then its filter and order,
        which may name the links' aliases. The filter comes back (a link's goes into its ON clause)."""
        children = list(el)
        for child in children:
            check_element(child, el.tag)
        attrs = [c for c in children if c.tag == "attribute"]
        everything = any(c.tag == "all-attributes" for c in children)
        if everything and self.aggregate:
            raise BadRequest("<all-attributes> cannot be used in an aggregate query.", code=INVALID_ARGUMENT)
        if everything or (root and not attrs and not self.aggregate):
            for attr in scope.table.attributes:
                self._add_column(query, scope, attr, None)
        for child in attrs:
            self._attribute(child, scope, query)
        semi_joins = [self._link(c, scope, query) for c in children if c.tag == "link-entity"]
        where = [clause for clause in semi_joins if clause is not None]
        where += [self._filter(c, scope) for c in children if c.tag == "filter"]
        for child in children:
            if child.tag == "order":
                (query.order if root or child.get("entityname") else self.link_orders).append(
                    self._order(child, scope, query))
        return sa.and_(*where) if len(where) > 1 else (where[0] if where else None)

    def _link_scope(self, el: Element) -> Scope:
        """A link-entity's table under its alias (given, or `<table><N>`), registered for `entityname`."""
        self.links += 1
        self._count_condition()
        if self.links > MAX_LINKS:
            raise BadRequest("Number of link entities in query exceeded maximum limit.", code="0x8004430D")
        name = el.get("name")
        table = metadata.find(name or "")
        if table is None:
            raise BadRequest(f"The entity with a name = '{name}' with namemapping = 'Logical' was not found in the "
                             f"MetadataCache.", code=NO_ENTITY)
        alias = el.get("alias")
        if alias is not None and not ALIAS.match(alias):
            raise BadRequest(f"The link-entity alias '{alias}' is not a valid name.", code=INVALID_ARGUMENT)
        sql_alias = alias or f"{table.logical_name}{self.links}"
        if sql_alias in self.scopes or sql_alias == self.table.logical_name or \
                any(s.source.name == sql_alias for s in self.scopes.values()):
            raise BadRequest(f"The link-entity alias '{sql_alias}' already names the entity or another link-entity.",
                             code=INVALID_ARGUMENT)
        scope = self._scope(table, self.sql_tables[table.logical_name].alias(sql_alias), sql_alias)
        self.scopes[alias or table.logical_name] = scope
        return scope

    def _link(self, el: Element, parent: Scope, query: FetchQuery) -> sa.ColumnElement | None:
        """An entity's link-entity: a join (inner, outer), or a condition on the parent (exists, in)."""
        link_type = el.get("link-type", "inner")
        if link_type in SEMI_JOINS:
            return self._semi_join(el, parent, link_type)
        if link_type in FILTER_LINKS:
            raise invalid(f"The link-type '{link_type}' belongs to a link-entity inside a <filter>.")
        if link_type not in ("inner", "outer"):
            raise not_emulated(f"link-entity link-type '{link_type}'")
        scope = self._link_scope(el)
        table = scope.table
        lookup, to_many = self._relationship(el, table, parent)
        index = len(query.joins)  # the join goes before its nested links' joins, which join to its table
        query.joins.append(Join(scope.source, table, lookup, parent.source, to_many=to_many))
        where = self._entity(el, scope, query)
        query.joins[index] = Join(scope.source, table, lookup, parent.source, to_many=to_many,
                                  outer=link_type == "outer", where=where,
                                  columns=tuple(c.attr for c in query.columns if c.prefix == scope.prefix))
        return None

    def _semi_join(self, el: Element, parent: Scope, link_type: str) -> sa.ColumnElement:
        """exists / in / any / not any / all / not all: whether the parent row has linked rows (matching the link's
        filter), as an EXISTS subquery in the parent's filter; such a link returns no columns."""
        scope = self._link_scope(el)
        lookup, to_many = self._relationship(el, scope.table, parent)
        filters = []
        for child in el:
            check_element(child, el.tag)
            if child.tag == "filter":
                filters.append(self._filter(child, scope))
            elif child.tag in ("link-entity", "order"):
                raise not_emulated(f"<{child.tag}> inside a link-entity of link-type '{link_type}'")
            elif child.tag == "attribute":
                scope.attribute(child.get("name"))  # checked; a semi-join returns no columns
        on = Join(scope.source, scope.table, lookup, parent.source, to_many=to_many).on(parent.table)

        def linked(*conditions: sa.ColumnElement) -> sa.ColumnElement:
            return sa.select(sa.literal(1)).select_from(scope.source).where(on, *conditions).exists()

        if link_type == "not any":
            return sa.not_(linked(*filters))
        if link_type == "all":  # has linked rows, and none of them matches the filter
            return sa.and_(linked(), sa.not_(linked(*filters))) if filters else sa.false()
        return linked(*filters)  # exists, in, any, and "not all" (which Dataverse runs as any)

    def _relationship(self, el: Element, table: Table, parent: Scope) -> tuple[Attribute, bool]:
        """The lookup the link follows: the parent's, to the linked table's key (many-to-one), or the linked
        table's, to the parent's key (one-to-many)."""
        frm, to = el.get("from"), el.get("to")
        if frm is None and to is None:
            raise BadRequest(f"No system many-to-many relationship exists between {parent.table.logical_name} and "
                             f"{table.logical_name}.  If attempting to link through a custom many-to-many "
                             f"relationship ensure that you provide the from and to attributes.", code=NO_ENTITY)
        if frm is None:
            frm = self._other_end(attribute_of(parent.table, to), parent.table, table)
        elif to is None:
            to = self._other_end(attribute_of(table, frm), table, parent.table)
        linked, parents = attribute_of(table, frm), attribute_of(parent.table, to)
        if frm == table.primary_id and parents.is_lookup and table.logical_name in parents.targets:
            return parents, False
        if to == parent.table.primary_id and linked.is_lookup and parent.table.logical_name in linked.targets:
            return linked, True
        raise not_emulated(f"link-entity joining {table.logical_name}.{frm} to {parent.table.logical_name}.{to} "
                           f"(the emulator joins a lookup to the primary key of a table it points to)")

    @staticmethod
    def _other_end(given: Attribute, given_table: Table, other: Table) -> str:
        """The column of `other` that a link's one given column (`given`, of `given_table`) relates to: the key of
        the table a lookup points at, or the one lookup of `other` that points at `given_table`'s key."""
        if given.is_lookup and other.logical_name in given.targets:
            return other.primary_id
        lookups = [a for a in other.lookups if given_table.logical_name in a.targets]
        if given.logical_name == given_table.primary_id and len(lookups) == 1:
            return lookups[0].logical_name
        raise BadRequest(f"The link-entity between {given_table.logical_name} and {other.logical_name} names only "
                         f"'{given.logical_name}', and no single relationship gives the other column: give both "
                         f"'from' and 'to'.", code=INVALID_ARGUMENT)

    # -- attributes ------------------------------------------------------------------------------------------------
    def _add_column(self, query: FetchQuery, scope: Scope, attr: Attribute, alias: str | None) -> None:
        if scope.alias is None:
            key = alias or attr.property_name
            query.root_columns.append(attr)
            column = Column(key, attr.logical_name, attr, aliased=alias is not None)
        else:
            label = f"{scope.prefix}{attr.logical_name}"
            column = Column(alias or label, label, attr, prefix=scope.prefix, aliased=alias is not None)
        if any(c.key == column.key for c in query.columns):
            if alias is not None:
                raise BadRequest(f"The alias '{alias}' is used more than once.", code=INVALID_ARGUMENT)
            return
        query.columns.append(column)

    def _attribute(self, el: Element, scope: Scope, query: FetchQuery) -> None:
        attr, alias = scope.attribute(el.get("name")), el.get("alias")
        if alias is not None and not ALIAS.match(alias):
            raise BadRequest(f"The attribute alias '{alias}' is not a valid name.", code=INVALID_ARGUMENT)
        function, groupby = el.get("aggregate"), boolean(el, "groupby")
        if not self.aggregate:
            if function is not None or groupby:
                raise BadRequest("The 'aggregate' and 'groupby' attributes need <fetch aggregate='true'>.",
                                 code=INVALID_ARGUMENT)
            self._add_column(query, scope, attr, alias)
            return
        if alias is None:
            raise BadRequest(f"An attribute of an aggregate query needs an alias: '{attr.logical_name}'.",
                             code=INVALID_ARGUMENT)
        if any(c.key == alias for c in query.columns):
            raise BadRequest(f"The alias '{alias}' is used more than once.", code=INVALID_ARGUMENT)
        source = scope.source if scope.alias is not None else None
        if groupby == (function is not None):
            raise BadRequest(f"The attribute '{alias}' of an aggregate query needs either an 'aggregate' or "
                             f"groupby='true'.", code=INVALID_ARGUMENT)
        part = el.get("dategrouping")
        if part is not None and not groupby:
            raise BadRequest(f"The attribute '{alias}' has a dategrouping but is not groupby='true'.",
                             code=INVALID_ARGUMENT)
        if groupby:
            expr = self._date_part(scope.column(attr.logical_name).expr, attr, part) if part else None
            query.groups.append(Group(attr, alias, source, expr))
            query.columns.append(Column(alias, alias, attr, aliased=True, function="dategrouping" if part else None))
            return
        if function not in AGGREGATE_FUNCTIONS:
            raise invalid(f"The aggregate '{function}' is not one of {', '.join(sorted(AGGREGATE_FUNCTIONS))}.")
        if function in ("sum", "avg") and attr.edm_type not in NUMERIC_EDM or \
                function in ("min", "max") and attr.edm_type not in NUMERIC_EDM | {"Edm.DateTimeOffset"}:
            raise BadRequest(f"The aggregate '{function}' does not apply to '{attr.logical_name}' "
                             f"({attr.type}).", code=INVALID_ARGUMENT)
        if function == "countcolumn" and boolean(el, "distinct"):
            function = "countdistinct"
        query.aggregates.append(Aggregate(function, alias, attr, source))
        query.columns.append(Column(alias, alias, attr, function=function))

    def _date_part(self, column: sa.ColumnElement, attr: Attribute, part: str) -> sa.ColumnElement:
        """A part of a date and time column (stored as `YYYY-MM-DDTHH:MM:SSZ` text) as a whole number, in UTC (the
        user's time zone, as the query functions assume): day of month, week of year (SQL Server's DATEPART(week):
        weeks from Sunday, week 1 holds January 1), month, quarter or year."""
        if part in FISCAL_DATE_PARTS:
            raise not_emulated(f"dategrouping '{part}' (the organization's fiscal year settings)")
        if part not in DATE_PARTS:
            raise invalid(f"The dategrouping '{part}' is not one of {', '.join(DATE_PARTS + FISCAL_DATE_PARTS)}.")
        if attr.type != m.DATETIME:
            raise BadRequest(f"The dategrouping applies to date and time columns; '{attr.logical_name}' is "
                             f"{attr.type}.", code=INVALID_ARGUMENT)

        def digits(start: int, length: int) -> sa.ColumnElement:
            return sa.cast(sa.func.substr(column, start, length), sa.Integer)

        if part == "year":
            return digits(1, 4)
        if part == "month":
            return digits(6, 2)
        if part == "day":
            return digits(9, 2)
        if part == "quarter":
            return (digits(6, 2) + 2) // 3
        if self.context["dialect"] == "sqlite":
            day_of_year = sa.cast(sa.func.strftime("%j", sa.func.substr(column, 1, 10)), sa.Integer)
            january_first = sa.cast(sa.func.strftime("%w", sa.func.substr(column, 1, 4) + "-01-01"), sa.Integer)
        else:
            day = sa.cast(sa.func.substr(column, 1, 10), sa.Date)
            day_of_year = sa.cast(sa.extract("doy", day), sa.Integer)
            january_first = sa.cast(sa.extract("dow", sa.func.date_trunc("year", day)), sa.Integer)
        return (day_of_year - 1 + january_first) // 7 + 1

    # -- order -----------------------------------------------------------------------------------------------------
    def _order(self, el: Element, scope: Scope, query: FetchQuery) -> Order:
        descending = boolean(el, "descending")
        name, alias, entityname = el.get("attribute"), el.get("alias"), el.get("entityname")
        if (name is None) == (alias is None):
            raise invalid("An <order> names either an 'attribute' or an 'alias'.")
        if alias is not None:
            if self.aggregate:
                if not any(c.key == alias for c in query.columns):
                    raise BadRequest(f"The order alias '{alias}' is not the alias of an attribute.",
                                     code=INVALID_ARGUMENT)
                return Order(alias=alias, descending=descending)
            column = next((c for c in query.columns if c.key == alias and c.aliased), None)
            if column is None or column.attr is None:
                raise BadRequest(f"The order alias '{alias}' is not the alias of an attribute.",
                                 code=INVALID_ARGUMENT)
            source = self._column_source(column)
            return self._column_order(column.attr, source, descending)
        if self.aggregate:
            raise BadRequest("An aggregate query is ordered by the aliases of its attributes (<order alias=...>).",
                             code=INVALID_ARGUMENT)
        if entityname is not None:
            if scope.alias is not None:
                raise invalid("The 'entityname' attribute of <order> belongs in the root <entity>.")
            scope = self._named_scope(entityname)
        return self._column_order(scope.attribute(name), scope.source if scope.alias is not None else None,
                                  descending)

    def _column_order(self, attr: Attribute, source: NamedFromClause | None, descending: bool) -> Order:
        return Order(attr, descending, source, by_label=not self.raw_order and attr.type in m.CHOICE_TYPES)

    def _column_source(self, column: Column) -> NamedFromClause | None:
        if not column.prefix:
            return None
        return next(s.source for s in self.scopes.values() if s.prefix == column.prefix)

    def _named_scope(self, entityname: str) -> Scope:
        scope = self.scopes.get(entityname)
        if scope is None:
            raise BadRequest(f"The entityname '{entityname}' is not the alias of a link-entity.",
                             code=INVALID_ARGUMENT)
        return scope

    # -- filter ----------------------------------------------------------------------------------------------------
    def _count_condition(self) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise BadRequest("Number of conditions in query exceeded maximum limit.", code="0x8004430C")

    def _filter(self, el: Element, scope: Scope, depth: int = 1) -> sa.ColumnElement:
        kind = el.get("type", "and")
        if kind not in ("and", "or"):
            raise invalid(f"The filter type '{kind}' is not 'and' or 'or'.")
        limit = self.context["limits"].max_depth
        if depth > limit:  # before recursing further: deep XML must not exhaust the stack
            raise BadRequest(f"The recursion limit has been exceeded: the FetchXML filters nest more than {limit} "
                             f"levels deep.")
        parts = []
        for child in el:
            check_element(child, "filter")
            if child.tag == "link-entity":
                link_type = child.get("link-type", "inner")
                if link_type not in FILTER_LINKS:
                    raise invalid(f"A link-entity inside a <filter> has the link-type any, not any, all or not all, "
                                  f"not '{link_type}'.")
                parts.append(self._semi_join(child, scope, link_type))
                continue
            parts.append(self._filter(child, scope, depth + 1) if child.tag == "filter" else
                         self._condition(child, scope))
        if not parts:
            return sa.true()
        return sa.and_(*parts) if kind == "and" else sa.or_(*parts)

    def _condition(self, el: Element, scope: Scope) -> sa.ColumnElement:
        operator, name = el.get("operator"), el.get("attribute")
        for child in el:
            check_element(child, "condition")
        self._count_condition()
        if operator is None:
            raise invalid("A <condition> needs an 'operator'.")
        if operator in NOT_EMULATED_OPERATORS:
            raise not_emulated(f"the condition operator '{operator}' ({NOT_EMULATED_OPERATORS[operator]})")
        if operator not in ARITY:
            raise invalid(f"The condition operator '{operator}' is not valid.")
        if el.get("entityname") is not None:
            scope = self._named_scope(el.get("entityname") or "")
        attr = scope.attribute(name)
        other = el.get("valueof")
        if other is not None:  # another column of the row: `column`, or `alias.column` of a link
            alias, _, other = other.rpartition(".")
            other_scope = self._named_scope(alias) if alias else scope
            return scope.compare_columns(operator, attr, other_scope.column(other_scope.attribute(other).logical_name))
        values = ([el.get("value") or ""] if "value" in el.attrib else []) + [v.text or "" for v in el]
        return scope.condition(operator, attr, values)

    # -- aggregate and distinct --------------------------------------------------------------------------------------
    def _check_aggregate(self, query: FetchQuery) -> None:
        if not query.columns:
            raise BadRequest("An aggregate query needs at least one attribute with an aggregate or groupby.",
                             code=INVALID_ARGUMENT)
        self._order_every_group(query)

    def _distinct(self, query: FetchQuery) -> None:
        """`distinct`: the selected columns grouped (rows without the key), unless the key is selected and no link
        repeats a row, when every row is distinct already."""
        if self.table.key in query.root_columns and not any(j.to_many for j in query.joins):
            return
        groups: dict[str, Group] = {}  # by label: a column asked for twice (once aliased) is one group
        for column in query.columns:
            groups.setdefault(column.label, Group(column.attr, column.label, self._column_source(column)))
        ordered = []
        for order in query.order:
            group = next((g for g in groups.values() if g.attr == order.attr and g.source is order.source), None)
            if group is None:
                raise not_emulated("ordering a distinct query by a column it does not return")
            ordered.append(Order(alias=group.alias, descending=order.descending))
        query.groups, query.order, query.root_columns = list(groups.values()), ordered, []
        self._order_every_group(query)

    @staticmethod
    def _order_every_group(query: FetchQuery) -> None:
        """Groups after the asked-for order, so pages by number see one fixed order."""
        ordered = {o.alias for o in query.order}
        query.order += [Order(alias=g.alias) for g in query.groups if g.alias not in ordered]


# (SQL table, dialect, limits, FetchXML text) -> (the compiled query, the clock and caller values its conditions
# read). Compiling is most of a simple query's cost; the query holds bound literals, never data, so writes cannot
# stale it. Longer texts are compiled again rather than held (their clauses are large).
_COMPILED: LRU[tuple[FetchQuery, tuple[tuple[str, object], ...]]] = LRU(256)
MAX_CACHED_TEXT = 4000


def compile_fetch(text: str, table: Table, sql_tables: Mapping[str, sa.Table], *, now: datetime, user_id: str | None,
                  dialect: str, limits: FilterLimits) -> FetchQuery:
    """The FetchXML's query on `table`'s entity set, reused from an earlier request with the same text while the
    clock and caller values its conditions read are unchanged. A copy: the caller may set its `count`."""
    key = (sql_tables[table.logical_name], dialect, limits, text)
    context = {"now": now.astimezone(UTC).replace(microsecond=0), "user_id": user_id}
    cached = _COMPILED.get(key)
    if cached is not None and all(context[name] == value for name, value in cached[1]):
        return replace(cached[0])
    compiler = Compiler(table, sql_tables, now=now, user_id=user_id, dialect=dialect, limits=limits)
    query = compiler.compile(text)
    read = tuple((name, context[name]) for name in sorted(compiler.context_read()))
    if len(text) <= MAX_CACHED_TEXT:
        query.where_key = (key, read)
        _COMPILED.put(key, (query, read))
    return replace(query)
