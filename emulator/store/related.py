"""Rows related to a page through its lookups: the target rows of an $expand, and the primary names that the
FormattedValue annotations of lookups show. One query per target table for a whole page."""
from __future__ import annotations

import sqlalchemy as sa

from ..metadata import BY_LOGICAL_NAME, Attribute, Table
from .database import Database
from .rows import record_columns

ID_CHUNK = 5000  # ids per IN list: a whole page of 5000 rows stays one query
_PARENT = "__parent"  # label of the referencing row's key


def related_rows(db: Database, table: Table, lookup: Attribute, target: Table, attrs: list[Attribute],
                 keys: list[str]) -> dict[str, tuple[str, sa.Row]]:
    """Referencing row's key -> (target logical name, the `target` row its `lookup` points at), for the rows of
    `table` with `keys`, joining them to the target table."""
    base, target_sql = db.tables[table.logical_name], db.tables[target.logical_name]
    condition = target_sql.c[target.primary_id] == base.c[lookup.logical_name]
    if lookup.is_polymorphic:
        condition = sa.and_(condition, base.c[lookup.target_column] == target.logical_name)
    columns = record_columns(target_sql, attrs)
    found: dict[str, tuple[str, sa.Row]] = {}
    with db.engine.connect() as conn:
        for start in range(0, len(keys), ID_CHUNK):
            statement = (sa.select(base.c[table.primary_id].label(_PARENT), *columns)
                         .select_from(base.join(target_sql, condition))
                         .where(base.c[table.primary_id].in_(keys[start:start + ID_CHUNK])))
            for row in conn.execute(statement):
                found[row._mapping[_PARENT]] = (target.logical_name, row)
    return found


def primary_names(db: Database, wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """(target table, id) -> primary name for the ids of each target table in `wanted` (rows without one left out)."""
    names: dict[tuple[str, str], str] = {}
    with db.engine.connect() as conn:
        for target_name, ids in wanted.items():
            target = BY_LOGICAL_NAME[target_name]
            sql = db.tables[target_name]
            key, name = sql.c[target.primary_id], sql.c[target.primary_name]
            ordered = sorted(ids)
            for start in range(0, len(ordered), ID_CHUNK):
                statement = sa.select(key, name).where(key.in_(ordered[start:start + ID_CHUNK]))
                for row_id, row_name in conn.execute(statement):
                    if row_name is not None:
                        names[(target_name, row_id)] = row_name
    return names
