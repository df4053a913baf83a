"""SQL (`?sql=`): the read-only SELECT subset Dataverse's Web API accepts (the official Python SDK's
`client.query.sql`), parsed with sqlglot's T-SQL dialect, checked against that subset (spec query-extras.md §4.3)
and translated into FetchXML, which compiles into the one query plan: SQL is one more front-end, never a new SQL
path. What the subset leaves out is refused by name, before anything runs."""
from __future__ import annotations

import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.etree.ElementTree import Element, SubElement, tostring

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .. import metadata
from ..clock import format_instant, parse_instant
from ..errors import BadRequest
from ..metadata import Table

TOP_LIMIT = 5000
COMPARISONS: dict[type[exp.Expression], str] = {exp.EQ: "eq", exp.NEQ: "ne", exp.LT: "lt", exp.GT: "gt",
                                                exp.LTE: "le", exp.GTE: "ge"}
MIRRORED = {"eq": "eq", "ne": "ne", "lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}  # literal on the left
AGGREGATES: dict[type[exp.Expression], str] = {exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max"}
# Constructs outside the subset, by the name the error gives them (checked anywhere in the statement).
REFUSED = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT",
           exp.With: "WITH (common table expressions)", exp.Subquery: "subqueries", exp.Exists: "EXISTS",
           exp.Case: "CASE", exp.Window: "window functions", exp.Having: "HAVING", exp.Offset: "OFFSET",
           exp.Fetch: "OFFSET ... FETCH", exp.Into: "SELECT ... INTO"}
DATE_UNITS = {"week": 7, "wk": 7, "ww": 7, "day": 1, "dd": 1, "d": 1, "hour": 1 / 24, "hh": 1 / 24,
              "minute": 1 / 1440, "mi": 1 / 1440, "n": 1 / 1440, "second": 1 / 86400, "ss": 1 / 86400, "s": 1 / 86400}
CALENDAR_UNITS = {"year": 12, "yy": 12, "yyyy": 12, "month": 1, "mm": 1, "m": 1}  # in months


def refuse(message: str) -> BadRequest:
    return BadRequest(f"The SQL query is not supported: {message}")


@dataclass
class Scope:
    """A table of the query under its alias, and the FetchXML element (entity or link-entity) that stands for it."""

    table: Table
    element: Element
    root: bool = False


@dataclass
class Translation:
    """The FetchXML the SQL stands for, and the select list's aliases (an ORDER BY may name them)."""

    fetch: Element
    aliases: dict[str, tuple[Scope, str] | None] = field(default_factory=dict)  # -> its column; None: an aggregate

    @property
    def text(self) -> str:
        return tostring(self.fetch, encoding="unicode")


def to_fetchxml(text: str, table: Table, *, now: datetime) -> str:
    """The FetchXML for `text`, a SELECT on `table` (the entity set's table), or a 400 naming what is outside the
    subset. `now` is the clock GETUTCDATE() reads."""
    try:
        statements = [s for s in sqlglot.parse(text, read="tsql") if s is not None]
    except SqlglotError as e:
        raise BadRequest(f"The SQL query could not be parsed: {str(e).splitlines()[0]}") from None
    if len(statements) != 1:
        raise refuse(f"exactly one SELECT statement is accepted, not {len(statements)}.")
    statement = typing.cast(exp.Expression, statements[0])
    return _Translator(table, now).translate(statement).text


class _Translator:
    def __init__(self, table: Table, now: datetime) -> None:
        self.table, self.now = table, now
        self.scopes: dict[str, Scope] = {}
        self.aggregate = False

    def translate(self, select: exp.Expression) -> Translation:
        for kind, name in REFUSED.items():
            if select.find(kind) is not None:
                raise refuse(f"{name} is not in the subset Dataverse accepts.")
        if not isinstance(select, exp.Select):
            raise refuse(f"only SELECT is accepted, not {select.key.upper()}; the Web API's SQL is read-only.")
        fetch = Element("fetch")
        translation = Translation(fetch)
        self._from(select, fetch)
        for join in select.args.get("joins") or []:
            self._join(join)
        self._select(select, translation)
        if where := select.args.get("where"):
            self._root.element.append(self._filter(where.this))
        self._group(select, translation)
        self._order(select, translation)
        if limit := select.args.get("limit"):
            fetch.set("top", str(self._top(limit)))
        if select.args.get("distinct") is not None and not self.aggregate:
            fetch.set("distinct", "true")
        if self.aggregate:
            fetch.set("aggregate", "true")
        return translation

    @property
    def _root(self) -> Scope:
        return next(s for s in self.scopes.values() if s.root)

    # -- FROM and JOIN -------------------------------------------------------------------------------------------
    def _from(self, select: exp.Select, fetch: Element) -> None:
        source = select.args.get("from_") or select.args.get("from")
        if source is None or not isinstance(source.this, exp.Table):
            raise refuse("the statement needs FROM <table>.")
        name = _name(source.this)
        if name != self.table.logical_name:
            raise BadRequest(f"The SQL query's table '{name}' is not the table of the entity set "
                             f"'{self.table.entity_set}' ('{self.table.logical_name}').")
        entity = SubElement(fetch, "entity", name=name)
        self.scopes[source.this.alias_or_name.lower()] = Scope(self.table, entity, root=True)

    def _join(self, join: exp.Join) -> None:
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        if side in ("RIGHT", "FULL") or kind == "CROSS" or not isinstance(join.this, exp.Table):
            raise refuse(f"{' '.join(p for p in (side, kind) if p) or 'this'} JOIN; INNER JOIN and LEFT JOIN are.")
        on = join.args.get("on")
        if on is None:
            raise refuse("a JOIN needs ON <table>.<column> = <table>.<column>; FROM a, b and CROSS JOIN are not.")
        name = _name(join.this)
        table = metadata.find(name)
        if table is None:
            raise BadRequest(f"The SQL query's table '{name}' does not exist.")
        alias = join.this.alias_or_name.lower()
        if alias in self.scopes:
            raise refuse(f"the alias '{alias}' is used twice.")
        parts = list(_conjuncts(on))
        links = [p for p in parts if isinstance(p, exp.EQ) and all(isinstance(s, exp.Column) for s in p.args.values())]
        if len(links) != 1:
            raise refuse("a JOIN's ON needs exactly one equality between a column of the joined table and a column "
                         "of a table before it (further conditions may filter the joined table).")
        mine, theirs = links[0].this, links[0].expression
        if (mine.table or "").lower() != alias:
            mine, theirs = theirs, mine
        parent = self.scopes.get((theirs.table or "").lower())
        if (mine.table or "").lower() != alias or parent is None:
            raise refuse("a JOIN's ON equality must name the joined table's column and an earlier table's column "
                         "with their table aliases.")
        link = SubElement(parent.element, "link-entity", {
            "name": name, "alias": alias, "from": _name(mine), "to": _name(theirs),
            "link-type": "outer" if side == "LEFT" else "inner"})
        scope = Scope(table, link)
        self.scopes[alias] = scope
        extra = [p for p in parts if p is not links[0]]
        if extra:
            filter_ = Element("filter", type="and")
            for part in extra:
                condition = self._filter(part)
                for named in condition.iter("condition"):
                    if named.get("entityname") not in (None, alias):
                        raise refuse("a JOIN's extra ON conditions may filter only the joined table.")
                    named.attrib.pop("entityname", None)
                filter_.append(condition)
            link.append(filter_)

    # -- SELECT, GROUP BY, ORDER BY, TOP --------------------------------------------------------------------------
    def _select(self, select: exp.Select, translation: Translation) -> None:
        for item in select.expressions:
            alias = item.alias.lower() if isinstance(item, exp.Alias) else None
            value = item.this if isinstance(item, exp.Alias) else item
            if isinstance(value, exp.Star) or (isinstance(value, exp.Column) and isinstance(value.this, exp.Star)):
                raise refuse("SELECT * is not accepted: name the columns.")
            if isinstance(value, exp.Column):
                scope, column = self._column(value)
                attribute = SubElement(scope.element, "attribute", name=column)
                if alias:
                    attribute.set("alias", alias)
                    translation.aliases[alias] = (scope, column)
            elif isinstance(value, exp.Count) or type(value) in AGGREGATES:
                self._aggregate(value, alias, translation)
            else:
                raise refuse(f"'{value.sql(dialect='tsql')}' in the select list: only columns and COUNT, SUM, AVG, "
                             f"MIN, MAX of a column are accepted.")

    def _aggregate(self, value: exp.Expression, alias: str | None, translation: Translation) -> None:
        self.aggregate = True
        argument, distinct = value.this, False
        if isinstance(argument, exp.Distinct):
            argument, distinct = (argument.expressions or [None])[0], True
        if isinstance(value, exp.Count) and isinstance(argument, exp.Star):
            scope, column, function = self._root, self.table.primary_id, "count"
        elif isinstance(argument, exp.Column):
            scope, column = self._column(argument)
            function = "countcolumn" if isinstance(value, exp.Count) else AGGREGATES[type(value)]
        else:
            raise refuse(f"'{value.sql(dialect='tsql')}': an aggregate takes a column (or * for COUNT).")
        alias = alias or f"{function}_{column}"  # Dataverse names an aggregate by its alias; SQL may leave it out
        translation.aliases[alias] = None
        attribute = SubElement(scope.element, "attribute", name=column, alias=alias, aggregate=function)
        if distinct:
            attribute.set("distinct", "true")

    def _group(self, select: exp.Select, translation: Translation) -> None:
        group = select.args.get("group")
        grouped = set()
        for item in group.expressions if group else []:
            if not isinstance(item, exp.Column):
                raise refuse(f"GROUP BY '{item.sql(dialect='tsql')}': only columns can be grouped by.")
            scope, column = self._column(item)
            grouped.add((id(scope), column))
            found = [a for a in scope.element.findall("attribute") if a.get("name") == column and
                     a.get("aggregate") is None]
            if not found:
                found = [SubElement(scope.element, "attribute", name=column)]
            for attribute in found:
                alias = attribute.get("alias") or column
                attribute.set("groupby", "true")
                attribute.set("alias", alias)
                translation.aliases[alias] = (scope, column)
        if group:
            self.aggregate = True
        if not self.aggregate:
            return
        for scope in self.scopes.values():
            for attribute in scope.element.findall("attribute"):
                if attribute.get("aggregate") is None and (id(scope), attribute.get("name")) not in grouped:
                    raise refuse(f"column '{attribute.get('name')}' is in the select list but neither in an "
                                 f"aggregate function nor in the GROUP BY clause.")

    def _order(self, select: exp.Select, translation: Translation) -> None:
        order = select.args.get("order")
        for item in order.expressions if order else []:
            value, descending = item.this, "true" if item.args.get("desc") else "false"
            if not isinstance(value, exp.Column):
                raise refuse(f"ORDER BY '{value.sql(dialect='tsql')}': only columns (or select-list aliases) can "
                             f"be ordered by.")
            aliased = not value.table and value.name.lower() in translation.aliases
            if self.aggregate:
                if not aliased:
                    raise refuse("an aggregate query orders by the aliases of its select list.")
                SubElement(self._root.element, "order", alias=value.name.lower(), descending=descending)
                continue
            target = translation.aliases[value.name.lower()] if aliased else self._column(value)
            if target is not None:  # (an alias of an aggregate made the query an aggregate one)
                SubElement(target[0].element, "order", attribute=target[1], descending=descending)

    def _top(self, limit: exp.Expression) -> int:
        value = limit.args.get("expression")
        if not (isinstance(value, exp.Literal) and value.is_int):
            raise refuse("TOP takes a whole number.")
        top = int(value.this)
        if not 0 < top <= TOP_LIMIT:
            raise refuse(f"TOP {top}: it must be between 1 and {TOP_LIMIT}; page larger answers with "
                         f"Prefer: odata.maxpagesize.")
        return top

    # -- WHERE ---------------------------------------------------------------------------------------------------
    def _filter(self, node: exp.Expression) -> Element:
        """A condition tree as FetchXML: and/or into nested filters; each comparison a condition (on a joined table,
        with `entityname`)."""
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.And | exp.Or):
            kind = "and" if isinstance(node, exp.And) else "or"
            filter_ = Element("filter", type=kind)
            for part in (_conjuncts(node) if kind == "and" else _disjuncts(node)):
                child = self._filter(part)
                filter_.append(child)
            return filter_
        filter_ = Element("filter", type="and")
        filter_.append(self._condition(node))
        return filter_

    def _condition(self, node: exp.Expression) -> Element:
        negated = False
        if isinstance(node, exp.Not):
            negated, node = True, node.this
            while isinstance(node, exp.Paren):
                node = node.this
        if isinstance(node, exp.Like):
            negated ^= bool(node.args.get("negate"))
            return self._compare(node.this, "not-like" if negated else "like", [node.expression])
        if isinstance(node, exp.In):
            if node.args.get("query") is not None:
                raise refuse("subqueries are not in the subset Dataverse accepts.")
            return self._compare(node.this, "not-in" if negated else "in", node.expressions)
        if isinstance(node, exp.Between):
            return self._compare(node.this, "not-between" if negated else "between",
                                 [node.args["low"], node.args["high"]])
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            return self._compare(node.this, "not-null" if negated else "null", [])
        if type(node) in COMPARISONS and not negated:
            operator = COMPARISONS[type(node)]
            left, right = node.this, node.expression
            if not isinstance(left, exp.Column) and isinstance(right, exp.Column):
                left, right, operator = right, left, MIRRORED[operator]
            if isinstance(right, exp.Null):  # `= NULL` matches nothing in Dataverse (use IS NULL)
                scope, _ = self._column(left) if isinstance(left, exp.Column) else (self._root, "")
                return self._condition_element(scope, scope.table.primary_id, "null", [])
            return self._compare(left, operator, [right])
        raise refuse(f"the condition '{node.sql(dialect='tsql')}': WHERE compares a column with literals "
                     f"(=, <>, <, >, <=, >=, LIKE, IN, BETWEEN, IS NULL, and NOT of those).")

    def _compare(self, column: exp.Expression, operator: str, values: list[exp.Expression]) -> Element:
        if not isinstance(column, exp.Column):
            raise refuse(f"'{column.sql(dialect='tsql')}': a condition's left side must be a column (no functions "
                         f"or arithmetic on columns).")
        scope, name = self._column(column)
        return self._condition_element(scope, name, operator, [self._literal(v) for v in values])

    def _condition_element(self, scope: Scope, column: str, operator: str, values: list[str]) -> Element:
        condition = Element("condition", attribute=column, operator=operator)
        if not scope.root:
            condition.set("entityname", scope.element.get("alias") or "")
        if operator in ("in", "not-in", "between", "not-between"):
            for value in values:
                SubElement(condition, "value").text = value
        elif values:
            condition.set("value", values[0])
        return condition

    def _literal(self, node: exp.Expression) -> str:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Literal):
            return str(node.this)
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
            return f"-{node.this.this}"
        if isinstance(node, exp.Boolean):
            return "1" if node.this else "0"
        if moment := self._date(node):
            return format_instant(moment)
        if isinstance(node, exp.Column):
            raise refuse(f"'{node.sql(dialect='tsql')}': a column compared with a column (compare with literals).")
        raise refuse(f"'{node.sql(dialect='tsql')}' is not a literal; only GETUTCDATE() and DATEADD over literals "
                     f"are computed.")

    def _date(self, node: exp.Expression) -> datetime | None:
        """GETUTCDATE() and DATEADD(unit, n, <date>) over literals, computed with the emulator's clock."""
        if isinstance(node, exp.Anonymous) and node.name.upper() in ("GETUTCDATE", "GETDATE", "SYSUTCDATETIME"):
            return self.now.replace(microsecond=0)
        if isinstance(node, exp.CurrentTimestamp | exp.CurrentDate):
            return self.now.replace(microsecond=0)
        if isinstance(node, exp.DateAdd):
            unit_node = node.args.get("unit")
            unit = (unit_node.name if unit_node is not None else "day").lower()
            if unit not in DATE_UNITS and unit not in CALENDAR_UNITS:
                raise refuse(f"DATEADD's unit '{unit}'.")
            amount = float(self._literal(node.expression))
            base = self._date(node.this)
            if base is None:
                base = _parse_date(self._literal(node.this))
            if unit in CALENDAR_UNITS:
                return _add_months(base, int(amount) * CALENDAR_UNITS[unit])
            return base + timedelta(days=amount * DATE_UNITS[unit])
        return None

    # -- names ---------------------------------------------------------------------------------------------------
    def _column(self, column: exp.Column) -> tuple[Scope, str]:
        """The scope and logical name of `[alias.]column`; an unqualified column belongs to the FROM table, or else to
        the one joined table that has it."""
        name = column.name.lower()
        if column.table:
            scope = self.scopes.get(column.table.lower())
            if scope is None:
                raise BadRequest(f"The SQL query names the table alias '{column.table}', which no FROM or JOIN "
                                 f"declares.")
            candidates = [scope]
        else:
            candidates = [s for s in self.scopes.values() if s.table.attribute(name) is not None]
            candidates.sort(key=lambda s: not s.root)
            if not candidates:
                candidates = [self._root]
            elif len(candidates) > 1 and not candidates[0].root:
                raise BadRequest(f"The SQL query's column '{name}' is ambiguous: qualify it with a table alias.")
        scope = candidates[0]
        if scope.table.attribute(name) is None:
            raise BadRequest(f"'{scope.table.logical_name}' entity doesn't contain attribute with Name = '{name}'.",
                             code="0x80041103")
        return scope, name


def _name(node: exp.Expression) -> str:
    return node.name.lower()


def _operands(node: exp.Expression, kind: type[exp.Expression]):
    """The operands of a chain of `kind` (And or Or), parentheses looked through."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, kind):
        yield from _operands(node.this, kind)
        yield from _operands(node.expression, kind)
    else:
        yield node


def _conjuncts(node: exp.Expression):
    return _operands(node, exp.And)


def _disjuncts(node: exp.Expression):
    return _operands(node, exp.Or)


def _parse_date(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError:
        raise refuse(f"'{text}' is not a date DATEADD can add to.") from None


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
