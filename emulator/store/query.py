"""The one executor of query plans (emulator/plan.py): any plan as one SELECT with its joins, filter, grouping and
aggregates, Dataverse ordering (primary key last, nulls lowest, lookups by the related row's primary name) and keyset
paging that seeks strictly after the paging cookie's sort values; plus the matching rows' count and one record."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from .. import metadata
from ..errors import BadRequest
from ..lru import LRU
from ..metadata import Attribute, Table
from ..plan import AGGREGATES, Aggregate, Plan, case_insensitive
from .database import Database
from .prepared import Prepared, prepare
from .rows import record_columns, record_names

COUNT_LIMIT = 5000


@dataclass
class SortKey:
    name: str  # the element name in the paging cookie
    expr: sa.ColumnElement
    descending: bool
    label: str | None  # result column carrying this key's value (None: a group or aggregate, already returned)


@dataclass
class Page:
    rows: Sequence[sa.Row]
    more: bool
    last_keys: list[tuple[str, object]]
    count: int | None = None
    count_exceeded: bool = False
    sort_labels: list[tuple[str, str]] = field(default_factory=list)  # (sort key name, its row label)

    def sort_values(self, row: sa.Row) -> list[tuple[str, object]]:
        """A row's value of every sort key, named as the paging cookie names them."""
        return [(name, row._mapping[label]) for name, label in self.sort_labels]


def lookup_name(db: Database, source: sa.FromClause, attr: Attribute) -> sa.ColumnElement:
    """The related row's primary name (how Dataverse sorts lookups)."""
    cases = []
    for target_name in attr.targets:
        target = metadata.table(target_name)
        target_sql = db.tables[target_name].alias()
        name = case_insensitive(sa.select(target_sql.c[target.primary_name])
                                .where(target_sql.c[target.primary_id] == source.c[attr.logical_name])
                                .scalar_subquery(), target.attribute(target.primary_name), db.engine.dialect.name)
        if not attr.is_polymorphic:
            return name
        cases.append((source.c[attr.target_column] == target_name, name))
    return sa.case(*cases)


def _selected(db: Database, plan: Plan) -> dict[str, sa.ColumnElement]:
    """A grouped plan's result columns by alias: its groups, then its aggregates."""
    out: dict[str, sa.ColumnElement] = {
        g.alias: g.expr if g.expr is not None else
        (g.source if g.source is not None else _root(db, plan)).c[g.attr.logical_name] for g in plan.groups}
    out.update((a.alias, _aggregate(db, plan, a)) for a in plan.aggregates)
    return out


def _aggregate(db: Database, plan: Plan, aggregate: Aggregate) -> sa.ColumnElement:
    if aggregate.function == "count":
        return sa.func.count()
    if aggregate.attr is None:
        raise ValueError(f"the aggregate {aggregate.function} ({aggregate.alias}) needs a column")
    column = (aggregate.source if aggregate.source is not None else _root(db, plan)).c[aggregate.attr.logical_name]
    if aggregate.function == "countcolumn":
        return sa.func.count(column)
    if aggregate.function == "countdistinct":
        return sa.func.count(sa.distinct(column))
    if aggregate.function in AGGREGATES:  # sum, avg, min, max: SQL's functions of those names
        return getattr(sa.func, aggregate.function)(column)
    raise ValueError(f"unknown aggregate function {aggregate.function}")


def _root(db: Database, plan: Plan) -> sa.Table:
    return db.tables[plan.table.logical_name]


def sort_keys(db: Database, plan: Plan) -> list[SortKey]:
    if plan.grouped:
        selected = _selected(db, plan)
        aliases = [t.alias for t in plan.order]
        if not all(alias in selected for alias in aliases):
            raise ValueError("a grouped plan is ordered by the aliases of its groups and aggregates")
        return [SortKey(alias, selected[alias], t.descending, None)
                for alias, t in zip(aliases, plan.order, strict=True) if alias is not None]
    root = _root(db, plan)
    keys: list[SortKey] = []
    for i, term in enumerate(plan.order):
        if term.attr is None:
            raise ValueError("an ungrouped plan is ordered by columns")
        source = term.source if term.source is not None else root
        name = term.attr.logical_name if term.source is None else f"{term.source.name}.{term.attr.logical_name}"
        if term.attr.is_lookup:
            keys.append(SortKey(f"{name}.name", lookup_name(db, source, term.attr), term.descending, f"__sort{i}n"))
        if term.by_label and term.attr.option_set is not None:
            labels = {o.value: o.label for o in term.attr.option_set.options}
            keys.append(SortKey(f"{name}.label", sa.case(labels, value=source.c[term.attr.logical_name]),
                                term.descending, f"__sort{i}l"))
        keys.append(SortKey(name, source.c[term.attr.logical_name], term.descending, f"__sort{i}"))
    pk = plan.table.primary_id
    if not any(k.name == pk for k in keys):
        keys.append(SortKey(pk, root.c[pk], False, "__sortpk"))
    return keys


def _order_clause(key: SortKey, sqlite: bool):
    # SQL Server (Dataverse) sorts nulls lowest: first ascending, last descending. SQLite does the same natively.
    clause = key.expr.desc() if key.descending else key.expr.asc()
    if not sqlite:
        clause = clause.nulls_last() if key.descending else clause.nulls_first()
    return clause


def seek(keys: list[SortKey], values: list[object]) -> sa.ColumnElement:
    """Rows strictly after `values` in the sort order (null = lowest value)."""
    alternatives = []
    equal_so_far: list[sa.ColumnElement] = []
    after: sa.ColumnElement
    equal: sa.ColumnElement
    for key, value in zip(keys, values, strict=True):
        if value is None:
            after = key.expr.is_not(None) if not key.descending else sa.false()
            equal = key.expr.is_(None)
        else:
            if isinstance(value, bool):  # SQLAlchemy refuses `<`/`>` against Python True/False; bind it
                value = sa.literal(value, sa.Boolean())
            after = (key.expr < value) if key.descending else (key.expr > value)
            if key.descending:
                after = sa.or_(after, key.expr.is_(None))
            equal = key.expr == value
        alternatives.append(sa.and_(*equal_so_far, after))
        equal_so_far.append(equal)
    return sa.or_(*alternatives)


def _after_values(after: list[tuple[str, str | None]], keys: list[SortKey]) -> list[object]:
    """The paging cookie's texts as values of the sort keys' types."""
    names = [k.name for k in keys]
    if [name for name, _ in after] != names:
        raise BadRequest("The paging cookie ($skiptoken or paging-cookie) does not belong to this query: its sort keys "
                         f"{[n for n, _ in after]} differ from the query's {names}.")
    values: list[object] = []
    for key, (_, raw) in zip(keys, after, strict=True):
        if raw is None:
            values.append(None)
            continue
        try:  # python_type raises NotImplementedError for TypeDecorators such as Instant: those are text
            python_type = key.expr.type.python_type
        except (AttributeError, NotImplementedError):
            python_type = str
        try:
            if python_type is bool:
                values.append(raw == "1")
            elif python_type in (int, float):
                values.append(python_type(raw))
            else:
                values.append(raw)
        except ValueError:  # a hand-made or damaged cookie: never compare a number column with text
            raise BadRequest(f"The paging cookie's value '{raw}' for '{key.name}' is not valid.") from None
    return values


def _from(db: Database, plan: Plan) -> sa.FromClause:
    root = _root(db, plan)
    tables: dict[sa.FromClause, Table] = {root: plan.table}
    clause: sa.FromClause = root
    for join in plan.joins:
        clause = clause.join(join.source, join.on(tables[join.parent]), isouter=join.outer)
        tables[join.source] = join.table
    return clause


def _filtered(db: Database, plan: Plan, columns: list) -> sa.Select:
    statement = sa.select(*columns).select_from(_from(db, plan))  # explicit: a grouped count selects no column
    if plan.where is not None:
        statement = statement.where(plan.where)
    if plan.grouped:
        statement = statement.group_by(*(_selected(db, plan)[g.alias] for g in plan.groups))
    return statement


def _statement(db: Database, plan: Plan, keys: list[SortKey]) -> sa.Select:
    columns: list[Any]
    if plan.grouped:
        columns = [expr.label(alias) for alias, expr in _selected(db, plan).items()]
    else:
        key = plan.table.key
        attrs = plan.columns if any(a.logical_name == key.logical_name for a in plan.columns) else [*plan.columns, key]
        columns = record_columns(_root(db, plan), attrs)
        for join in plan.joins:  # labelled `<alias>.<column>`, with a polymorphic lookup's target column
            columns += [join.source.c[name].label(f"{join.source.name}.{name}")
                        for name in record_names(join.columns, version=False)]
        columns += [k.expr.label(k.label) for k in keys]
    statement = _filtered(db, plan, columns)
    if plan.after is not None:
        if plan.grouped:
            raise ValueError("keyset paging applies to ungrouped plans")
        statement = statement.where(seek(keys, _after_values(plan.after, keys)))
    statement = statement.order_by(*(_order_clause(k, db.is_sqlite) for k in keys))
    return statement.limit(plan.limit + 1) if plan.limit is not None else statement


def check_aggregate_limit(conn: sa.Connection, db: Database, plan: Plan) -> None:
    """Refuse a grouped plan that more than its `aggregate_limit` rows would enter, as Dataverse does."""
    if not plan.grouped or plan.aggregate_limit is None:
        return
    statement = sa.select(sa.literal(1)).select_from(_from(db, plan))
    if plan.where is not None:
        statement = statement.where(plan.where)
    source = statement.limit(plan.aggregate_limit + 1).subquery()
    if conn.execute(sa.select(sa.func.count()).select_from(source)).scalar_one() > plan.aggregate_limit:
        raise BadRequest("AggregateQueryRecordLimit exceeded. Cannot perform this operation.", code="0x8004e023")


def count_rows(conn: sa.Connection, db: Database, plan: Plan, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """Rows (or groups) the plan matches, counted up to `limit` (Dataverse's 5000), and whether more matched."""
    matching = _filtered(db, plan, [_root(db, plan).c[plan.table.primary_id]] if not plan.grouped else
                         [sa.literal(1)]).limit(limit + 1).subquery()
    total = conn.execute(sa.select(sa.func.count()).select_from(matching)).scalar_one()
    return min(total, limit), total > limit


def count(db: Database, plan: Plan, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    with db.engine.connect() as conn:
        check_aggregate_limit(conn, db, plan)
        return count_rows(conn, db, plan, limit)


# First pages' SELECTs by shape, prepared (store/prepared.py) at their first run: a repeated query skips building
# the statement, its cache key and SQLAlchemy's execution path. Plans with joins or groups carry expressions of their
# own, so only plans on one table, with a cacheable filter, are kept.
_FIRST_PAGES: LRU[_Cached] = LRU(128)


@dataclass(frozen=True)
class _Cached:
    statement: Prepared | sa.Select  # a Select when it could not be prepared: it still skips the building
    labels: list[tuple[str, str]]  # (sort key name, its row label)


def _shape(db: Database, plan: Plan) -> tuple | None:
    if plan.after is not None or plan.joins or plan.grouped or (plan.where is not None and plan.where_key is None):
        return None
    return (_root(db, plan), plan.where_key, tuple(a.logical_name for a in plan.columns),
            tuple((t.attr.logical_name, t.descending, t.by_label) for t in plan.order if t.attr is not None),
            plan.limit)


def _labels(keys: list[SortKey]) -> list[tuple[str, str]]:
    return [(k.name, k.label or k.name) for k in keys]


def run(db: Database, plan: Plan) -> Page:
    """The plan's rows (at most `limit`), whether more follow, the last row's sort values, and the count if asked."""
    shape = _shape(db, plan)
    cached = _FIRST_PAGES.get(shape) if shape is not None else None
    rows: Sequence[sa.Row]
    if cached is not None and isinstance(cached.statement, Prepared):
        labels = cached.labels
        rows = cached.statement.rows(db) if plan.limit != 0 else []
    elif shape is not None and cached is None and plan.limit != 0:
        keys = sort_keys(db, plan)
        labels = _labels(keys)
        statement = _statement(db, plan, keys)
        prepared, rows = prepare(db, statement)
        _FIRST_PAGES.put(shape, _Cached(prepared or statement, labels))
    else:
        if cached is not None:
            statement, labels = cast(sa.Select, cached.statement), cached.labels
        else:
            keys = sort_keys(db, plan)
            statement, labels = _statement(db, plan, keys), _labels(keys)
        with db.engine.connect() as conn:
            check_aggregate_limit(conn, db, plan)
            rows = conn.execute(statement).all() if plan.limit != 0 else []  # one fetchall, not a fetchone per row
            counted, exceeded = count_rows(conn, db, plan) if plan.count else (None, False)
        return _page(plan, rows, labels, counted, exceeded)
    counted, exceeded = count(db, plan) if plan.count else (None, False)
    return _page(plan, rows, labels, counted, exceeded)


def _page(plan: Plan, rows: Sequence[sa.Row], labels: list[tuple[str, str]], counted: int | None,
          exceeded: bool) -> Page:
    more = plan.limit is not None and len(rows) > plan.limit
    rows = rows[:plan.limit]
    page = Page(rows, more, [], counted, exceeded, labels)
    page.last_keys = page.sort_values(rows[-1]) if rows else []
    return page


# Single-record SELECTs by shape (table, columns), the key a bound parameter: built and prepared once, not per
# request.
_RECORDS: LRU[Prepared | sa.Select] = LRU(256)


def get_one(db: Database, table: Table, key: str, attrs: list[Attribute]) -> sa.Row | None:
    base = db.tables[table.logical_name]
    shape = (base, tuple(a.logical_name for a in attrs))
    statement = _RECORDS.get(shape)
    if isinstance(statement, Prepared):
        rows: Sequence[sa.Row] = statement.rows(db, key)
    elif statement is None:
        statement = sa.select(*record_columns(base, attrs)).where(base.c[table.primary_id] == sa.bindparam("key"))
        prepared, rows = prepare(db, statement, {"key": key}, key)
        _RECORDS.put(shape, prepared or statement)
    else:
        with db.engine.connect() as conn:
            rows = conn.execute(statement, {"key": key}).all()
    return rows[0] if rows else None
