"""Runs a QueryPlan as one SELECT: filter, Dataverse ordering (primary key last, nulls lowest, lookups by the
related row's primary name) and keyset paging that seeks strictly after the paging cookie's sort values."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import BadRequest
from ..metadata import BY_LOGICAL_NAME, Attribute, Table
from ..odata.filter import case_insensitive
from ..odata.lru import LRU
from ..odata.options import QueryPlan
from .database import Database

COUNT_LIMIT = 5000


@dataclass
class SortKey:
    name: str  # the element name in the paging cookie
    expr: sa.ColumnElement
    descending: bool
    label: str  # result column carrying this key's value


@dataclass
class Page:
    rows: list[sa.Row]
    more: bool
    last_keys: list[tuple[str, object]]
    count: int | None = None
    count_exceeded: bool = False


def lookup_name(db: Database, table: Table, attr: Attribute) -> sa.ColumnElement:
    """The related row's primary name (how Dataverse sorts lookups)."""
    base = db.tables[table.logical_name]
    cases = []
    for target_name in attr.targets:
        target = BY_LOGICAL_NAME[target_name]
        target_sql = db.tables[target_name].alias()
        subquery = (sa.select(target_sql.c[target.primary_name])
                    .where(target_sql.c[target.primary_id] == base.c[attr.logical_name]).scalar_subquery())
        subquery = case_insensitive(subquery, target.attribute(target.primary_name), db.engine.dialect.name)
        if not attr.is_polymorphic:
            return subquery
        cases.append((base.c[attr.target_column] == target_name, subquery))
    return sa.case(*cases)


def sort_keys(db: Database, plan: QueryPlan) -> list[SortKey]:
    base = db.tables[plan.table.logical_name]
    keys: list[SortKey] = []
    for i, term in enumerate(plan.order):
        if term.attr.is_lookup:
            keys.append(SortKey(f"{term.attr.logical_name}.name", lookup_name(db, plan.table, term.attr),
                                term.descending, f"__sort{i}n"))
        keys.append(SortKey(term.attr.logical_name, base.c[term.attr.logical_name], term.descending, f"__sort{i}"))
    pk = plan.table.primary_id
    if not any(k.name == pk for k in keys):
        keys.append(SortKey(pk, base.c[pk], False, "__sortpk"))
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
    for key, value in zip(keys, values):
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


def _cookie_values(plan: QueryPlan, keys: list[SortKey]) -> list[object]:
    cookie = plan.cookie
    names = [k.name for k in keys]
    if [name for name, _ in cookie.keys] != names:
        raise BadRequest("The $skiptoken does not belong to this query: its sort keys "
                         f"{[n for n, _ in cookie.keys]} differ from the query's {names}.")
    values: list[object] = []
    for key, (_, raw) in zip(keys, cookie.keys):
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
        except (NotImplementedError, ValueError):
            values.append(raw)
    return values


def count_rows(conn, db: Database, plan: QueryPlan) -> tuple[int, bool]:
    """Matching rows, counted up to Dataverse's limit of 5000, and whether more matched."""
    base = db.tables[plan.table.logical_name]
    where = [plan.where] if plan.where is not None else []
    matching = sa.select(base.c[plan.table.primary_id]).where(*where).limit(COUNT_LIMIT + 1).subquery()
    total = conn.execute(sa.select(sa.func.count()).select_from(matching)).scalar_one()
    return min(total, COUNT_LIMIT), total > COUNT_LIMIT


def _statement(db: Database, plan: QueryPlan, keys: list[SortKey], limit: int) -> sa.Select:
    base = db.tables[plan.table.logical_name]
    columns = [base.c[a.logical_name] for a in plan.columns()]
    for attr in plan.columns():
        if attr.is_polymorphic:
            columns.append(base.c[attr.target_column])
    if "versionnumber" in base.c and base.c.versionnumber not in columns:
        columns.append(base.c.versionnumber)
    columns += [k.expr.label(k.label) for k in keys]
    where = [plan.where] if plan.where is not None else []
    statement = sa.select(*columns).where(*where)
    if plan.cookie is not None:
        statement = statement.where(seek(keys, _cookie_values(plan, keys)))
    return statement.order_by(*(_order_clause(k, db.is_sqlite) for k in keys)).limit(limit + 1)


# First pages' SELECTs by shape. Reusing the Select object spares building it and, since SQLAlchemy memoises a
# statement's cache key, walking it for that key (~0.1 ms).
_FIRST_PAGES: LRU[sa.Select] = LRU(128)


def run(db: Database, plan: QueryPlan, page_size: int) -> Page:
    keys = sort_keys(db, plan)

    # $top caps the whole result; the page takes what remains of it.
    limit = page_size
    if plan.top is not None:
        served = (plan.cookie.page * page_size) if plan.cookie else 0
        limit = max(0, min(page_size, plan.top - served))

    if plan.cookie is not None or (plan.where is not None and plan.where_key is None):  # seek values differ
        statement = _statement(db, plan, keys, limit)  # on every page; a long filter's clause is not worth holding
    else:
        shape = (db.tables[plan.table.logical_name], plan.where_key, tuple(a.logical_name for a in plan.columns()),
                 tuple((t.attr.logical_name, t.descending) for t in plan.order), limit)
        statement = _FIRST_PAGES.get(shape)
        if statement is None:
            statement = _statement(db, plan, keys, limit)
            _FIRST_PAGES.put(shape, statement)

    with db.engine.connect() as conn:
        rows = conn.execute(statement).all() if limit > 0 else []  # one fetchall, not a fetchone per row
        count = exceeded = None
        if plan.count:
            count, exceeded = count_rows(conn, db, plan)
    more = len(rows) > limit
    rows = rows[:limit]
    if plan.top is not None and plan.cookie is None and plan.top <= page_size:
        more = False
    elif plan.top is not None:
        served = ((plan.cookie.page if plan.cookie else 0) * page_size) + len(rows)
        more = more and served < plan.top
    last_keys = [(k.name, getattr(rows[-1], k.label)) for k in keys] if rows else []
    return Page(rows, more, last_keys, count, bool(exceeded))


def get_one(db: Database, table: Table, key: str, attrs: list[Attribute]):
    base = db.tables[table.logical_name]
    columns = [base.c[a.logical_name] for a in attrs]
    columns += [base.c[a.target_column] for a in attrs if a.is_polymorphic]
    if base.c.versionnumber not in columns:
        columns.append(base.c.versionnumber)
    with db.engine.connect() as conn:
        return conn.execute(sa.select(*columns).where(base.c[table.primary_id] == key)).first()
