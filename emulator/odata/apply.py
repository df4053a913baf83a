"""$apply (OData data aggregation, Dataverse's subset): filter(), groupby((paths)[,aggregate(...)]) and aggregate(...)
chained with `/`, compiled into the one query plan (plan.py); and the grouped rows as Web API JSON. Rules:
../shared/spec/query-extras.md §1, decisions: docs/decisions.md ($apply)."""
from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from ..errors import BadRequest, NotSupported, PropertyNotFound
from ..metadata import Attribute, Table
from ..metadata import model as m
from ..plan import AGGREGATE_LIMIT, Aggregate, Group, Join, Order, Plan
from . import syntax
from .expand import is_collection_navigation, single_navigation, split_top_level
from .filter import FilterCompiler
from .serialize import Annotator

# OASIS transformations Dataverse does not document: valid OData the emulator does not emulate (501).
OASIS_TRANSFORMATIONS = {"topcount", "topsum", "toppercent", "bottomcount", "bottomsum", "bottompercent", "identity",
                         "concat", "expand", "search", "compute", "nest", "ancestors", "descendants", "traverse",
                         "orderby", "skip", "top", "join", "outerjoin", "rolluprecursive"}
# `<path> with <method> as <alias>` -> SQL aggregate function (plan.AGGREGATES)
METHODS = {"sum": "sum", "average": "avg", "min": "min", "max": "max", "countdistinct": "countdistinct"}
NUMERIC = frozenset({m.INTEGER, m.BIGINT, m.DECIMAL, m.DOUBLE, m.MONEY})
ORDERED = NUMERIC | {m.DATETIME}  # what min and max accept
OPEN_PROPERTY = "The query node SingleValueOpenPropertyAccess is not supported."  # Dataverse's words, [A]
_TRANSFORMATION = re.compile(r"\s*([A-Za-z_$][\w.$]*)\s*\(", re.DOTALL)
_WITH = re.compile(r"\s*(\S+)\s+with\s+(\S+)\s+as\s+(\S+)\s*", re.DOTALL)
_COUNT = re.compile(r"\s*\$count\s+as\s+(\S+)\s*", re.DOTALL)
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Output:
    """A column of the grouped result: `attr` is the column as served (its logical name is the SQL label, its
    property name the JSON key), `method` the aggregate method (None for a group key)."""

    attr: Attribute
    method: str | None = None


@dataclass
class Apply:
    """A compiled $apply: the filters' clause, and for a grouping one the joins, groups, aggregates and outputs."""

    table: Table
    where: sa.ColumnElement | None = None
    where_key: Hashable | None = None
    joins: dict[str, Join] = field(default_factory=dict)  # by navigation property
    groups: list[Group] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # group path as written -> its SQL label

    @property
    def grouped(self) -> bool:
        return bool(self.groups or self.aggregates)

    def plan(self, order: list[Order], top: int | None, count: bool) -> Plan:
        """The grouped plan: every group key sorts ascending after the $orderby terms (the documented examples'
        order), all groups in one page (at most 50,000 rows enter the aggregation)."""
        ordered = [t.alias for t in order]
        order = [*order, *(Order(alias=label) for label in self.paths.values() if label not in ordered)]
        return Plan(self.table, joins=list(self.joins.values()), where=self.where, groups=self.groups,
                    aggregates=self.aggregates, order=order, limit=top, count=count,
                    aggregate_limit=AGGREGATE_LIMIT)

    def parse_orderby(self, text: str | None, aliases: Mapping[str, str]) -> list[Order]:
        """$orderby after grouping: by group paths only; anything else (aggregate aliases included) is an open
        property to ODataLib, which Dataverse refuses."""
        if text is None or not text.strip():
            return []
        terms = []
        for raw in syntax.rewrite(text, aliases, "$orderby").split(","):
            match = syntax.ORDER_TERM.match(raw)
            if not match:
                raise BadRequest(f"Syntax error in the $orderby query option '{text}'.")
            label = self.paths.get(match.group(1))
            if label is None:
                raise BadRequest(OPEN_PROPERTY)
            terms.append(Order(alias=label, descending=(match.group(2) or "").lower() == "desc"))
        return terms


class Compiler:
    """Compiles one $apply text for one table; `filters()` gives a FilterCompiler for each filter()."""

    def __init__(self, table: Table, sql_tables: Mapping[str, sa.Table], filters: Callable[[], FilterCompiler],
                 aliases: Mapping[str, str]) -> None:
        self.table = table
        self.sql_tables = sql_tables
        self.root = sql_tables[table.logical_name]
        self.filters = filters
        self.aliases = dict(aliases)
        self.result = Apply(table)

    def compile(self, text: str) -> Apply:
        steps = transformations(text)
        keys: list[Hashable | None] = []
        clauses: list[sa.ColumnElement] = []
        for name, argument in steps:
            if self.result.grouped:
                raise NotSupported(f"The emulator does not implement the $apply transformation '{name}' after "
                                   f"groupby or aggregate; put filter() first.")
            if name == "filter":
                clause, key = self.filters().compile(argument, self.aliases)
                clauses.append(clause)
                keys.append(key)
            elif name == "groupby":
                self.groupby(argument)
            elif name == "aggregate":
                self.aggregate(argument)
            else:
                unknown(name)
        if clauses:
            self.result.where = sa.and_(*clauses) if len(clauses) > 1 else clauses[0]
            self.result.where_key = None if None in keys else ("$apply", *keys)
        return self.result

    def groupby(self, argument: str) -> None:
        parts = split_top_level(argument, ",", "$apply")
        paths = parenthesized(parts[0])
        if paths is None:
            raise BadRequest(f"Syntax error in the $apply transformation 'groupby({argument})': the grouping "
                             f"properties go in parentheses, as in groupby((statuscode)).")
        if len(parts) > 2:
            raise BadRequest(f"Syntax error in the $apply transformation 'groupby({argument})'.")
        for raw in split_top_level(paths, ",", "$apply"):
            self.group(raw.strip())
        if len(parts) == 2:
            inner = transformations(parts[1])
            for name, _ in inner:
                if name != "aggregate":
                    unknown(name, "inside groupby")
            if len(inner) > 1:
                raise NotSupported("The emulator does not implement more than one transformation inside $apply "
                                   "groupby; it implements groupby((...),aggregate(...)).")
            self.aggregate(inner[0][1])

    def group(self, path: str) -> None:
        if not path:
            raise BadRequest("The groupby transformation has an empty property.")
        if path.startswith("rollup(") or path.startswith("rollup ("):
            raise NotSupported("The emulator does not implement rollup in $apply groupby.")
        if path in self.result.paths:
            raise BadRequest(f"The property '{path}' is listed more than once in groupby.")
        attr, source, target = self.resolve(path)
        if attr.type == m.DATETIME:
            raise BadRequest(f"groupby with datetime values is not supported: '{path}' is a date and time column.")
        label = attr.logical_name if target is None else f"{target.logical_name}_{attr.logical_name}"
        served = replace(attr, logical_name=label)
        self.check_label(label, served.property_name)
        self.result.groups.append(Group(attr, label, source))
        if attr.is_polymorphic:  # the target table of each value: for its formatted value and lookuplogicalname
            target_column = replace(attr, logical_name=attr.target_column, type=m.ENTITYNAME, targets=(),
                                    navigation=())
            self.result.groups.append(Group(target_column, served.target_column, source))
        self.result.outputs.append(Output(served))
        self.result.paths[path] = label

    def aggregate(self, argument: str) -> None:
        for raw in split_top_level(argument, ",", "$apply"):
            count = _COUNT.fullmatch(raw)
            if count:
                alias = self.alias(count.group(1))
                self.result.aggregates.append(Aggregate("count", alias))
                self.result.outputs.append(Output(number_column(alias, m.INTEGER), "$count"))
                continue
            match = _WITH.fullmatch(raw)
            if not match:
                if re.fullmatch(r"\s*\S+\s+with\s+\S+\s+from\s+.*", raw, re.DOTALL):
                    raise NotSupported("The emulator does not implement 'from' in $apply aggregate.")
                raise BadRequest(f"Syntax error in the $apply aggregate expression '{raw.strip()}': write "
                                 f"'<property> with <method> as <alias>' or '$count as <alias>'.")
            path, method, alias = match.groups()
            function = METHODS.get(method)
            if function is None:
                raise BadRequest(f"The aggregation method '{method}' is not supported. Use sum, average, min, max, "
                                 f"countdistinct, or $count as <alias>.")
            attr, source, _ = self.resolve(path)
            allowed = NUMERIC if method in ("sum", "average") else ORDERED if method in ("min", "max") else None
            if allowed is not None and attr.type not in allowed:
                raise BadRequest(f"The aggregation method '{method}' cannot be applied to the property '{path}' of "
                                 f"type '{attr.edm_type}'.")
            alias = self.alias(alias)
            self.result.aggregates.append(Aggregate(function, alias, attr, source))
            self.result.outputs.append(Output(served_aggregate(attr, method, alias), method))

    def alias(self, name: str) -> str:
        if not _ALIAS.fullmatch(name):
            raise BadRequest(f"'{name}' is not a valid alias in $apply: an alias is a name such as 'total'.")
        if self.table.by_property(name) is not None or self.table.attribute(name) is not None:
            raise BadRequest(f"The alias '{name}' is the name of a property of "
                             f"'{self.table.type_name}'; choose another alias.")
        self.check_label(name, name)
        return name

    def check_label(self, label: str, key: str) -> None:
        """Each SQL label (the hidden target columns' too) and each JSON key is used once."""
        taken = {*(g.alias for g in self.result.groups), *(a.alias for a in self.result.aggregates),
                 *(o.attr.property_name for o in self.result.outputs)}
        if label in taken or key in taken:
            raise BadRequest(f"The name '{key}' is used more than once in the $apply result.")

    def resolve(self, path: str) -> tuple[Attribute, NamedFromClause | None, Table | None]:
        """A property path: an own column (None source), or `<navigation>/<column>` of the related table through a
        left outer join (so rows with an empty lookup still count, their group value null)."""
        segments = path.split("/")
        if len(segments) == 1:
            attr = self.table.by_property(path)
            if attr is not None:
                return attr, None, None
            self.navigation(path)  # a navigation property itself, or no property at all
            raise NotSupported(f"The emulator does not implement $apply on the navigation property '{path}' "
                               f"itself; name a column of it ('{path}/<column>') or the lookup's _x_value.")
        if len(segments) > 2:
            raise NotSupported(f"The emulator does not implement $apply paths of more than one navigation "
                               f"property ('{path}').")
        nav, name = segments
        lookup, targets = self.navigation(nav)
        if len(targets) != 1:
            raise NotSupported(f"The emulator does not implement $apply on the navigation property '{nav}', which "
                               f"may point to several tables.")
        target = targets[0]
        attr = target.by_property(name)
        if attr is None:
            raise PropertyNotFound(name, target.type_name)
        join = self.result.joins.get(nav)
        if join is None:
            join = Join(self.sql_tables[target.logical_name].alias(nav), target, lookup, self.root, outer=True)
            self.result.joins[nav] = join
        return attr, join.source, target

    def navigation(self, name: str) -> tuple[Attribute, tuple[Table, ...]]:
        found = single_navigation(self.table, name)
        if found is not None:
            return found
        if is_collection_navigation(self.table, name):
            raise NotSupported(f"The emulator does not implement $apply on the collection-valued navigation "
                               f"property '{name}'.")
        raise PropertyNotFound(name, self.table.type_name)


def number_column(name: str, type_: str) -> Attribute:
    """A computed whole-number column (a count)."""
    return Attribute(name, type_, name)


def served_aggregate(attr: Attribute, method: str, alias: str) -> Attribute:
    """How an aggregate's value is served and formatted: a distinct count as a whole number, the others as the
    column they aggregate (so a whole-number column's average is whole, as FetchXML's is)."""
    if method == "countdistinct":
        return number_column(alias, m.INTEGER)
    return replace(attr, logical_name=alias)


def unknown(name: str, where: str = "") -> None:
    place = f" {where}" if where else ""
    if name in OASIS_TRANSFORMATIONS or name in ("filter", "groupby"):
        raise NotSupported(f"The emulator does not implement the $apply transformation '{name}'{place}; it "
                           f"implements filter, groupby and aggregate, as Dataverse documents.")
    raise BadRequest(f"'{name}' is not a valid $apply transformation{place}.")


def parenthesized(text: str) -> str | None:
    """The inside of `( ... )` when the whole of `text` is one parenthesised group, else None."""
    text = text.strip()
    if not text.startswith("("):
        return None
    depth = 0
    quoted = False
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return text[1:-1] if i == len(text) - 1 else None
    return None


def transformations(text: str) -> list[tuple[str, str]]:
    """`name(argument)` steps separated by `/` outside parentheses and strings."""
    steps = []
    for part in split_top_level(text, "/", "$apply"):
        match = _TRANSFORMATION.match(part)
        inner = parenthesized(part[match.end() - 1:]) if match else None
        if match is None or inner is None:
            raise BadRequest(f"Syntax error in the $apply query option '{text}': '{part.strip()}' is not a "
                             f"transformation such as filter(...), groupby((...)) or aggregate(...).")
        steps.append((match.group(1), inner))
    return steps


def value(output: Output, raw: Any) -> Any:
    """An aggregate's JSON value: whole-number columns' whole (an average truncated, as Dataverse's FetchXML docs
    show), decimals' sum, min and max rounded to the column's precision (SQLite sums them as floats)."""
    if raw is None or output.method is None or output.method in ("$count", "countdistinct"):
        return raw
    if output.attr.type in (m.INTEGER, m.BIGINT):
        return int(raw)
    if output.attr.type == m.DECIMAL and output.method != "average":
        return round(float(raw), output.attr.precision if output.attr.precision is not None else 2)
    if output.attr.type in (m.DECIMAL, m.DOUBLE):
        return float(raw)
    return raw


def records(outputs: Sequence[Output], rows: Sequence, annotate: Annotator | None = None) -> list[dict]:
    """Grouped rows as JSON objects: no etag, no key; a null value is left out, as Dataverse's examples show for
    group keys (and FetchXML's rows for every column)."""
    out = []
    for row in rows:
        item: dict = {}
        for output in outputs:
            raw = row._mapping[output.attr.logical_name]
            if raw is None:
                continue
            if annotate is not None:
                annotate(item, output.attr, row)
            item[output.attr.property_name] = value(output, raw)
        out.append(item)
    return out
