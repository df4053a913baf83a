"""Rows related to a page through its lookups: the target rows of an $expand, and the primary names that the
FormattedValue annotations of lookups show. One plan (one query) per target table for a whole page."""
from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from .. import metadata
from ..metadata import Attribute, Table
from ..plan import Join, Plan
from . import query
from .database import Database

ID_CHUNK = 5000  # ids per IN list: a whole page of 5000 rows stays one query
_REFERENCING = "referencing"  # alias of the referencing table in the $expand plan


def related_rows(db: Database, table: Table, lookup: Attribute, target: Table, attrs: list[Attribute],
                 keys: list[str]) -> dict[str, tuple[str, sa.Row]]:
    """Referencing row's key -> (target logical name, the `target` row its `lookup` points at), for the rows of
    `table` with `keys`: a plan on the target table joined back to the referencing rows."""
    referencing = _referencing(db.tables[table.logical_name])
    parent_key = f"{_REFERENCING}.{table.primary_id}"
    found: dict[str, tuple[str, sa.Row]] = {}
    for start in range(0, len(keys), ID_CHUNK):
        join = Join(referencing, table, lookup, db.tables[target.logical_name], to_many=True,
                    columns=(table.key,))
        plan = Plan(target, attrs, joins=[join],
                    where=referencing.c[table.primary_id].in_(keys[start:start + ID_CHUNK]))
        for row in query.run(db, plan).rows:
            found[row._mapping[parent_key]] = (target.logical_name, row)
    return found


@lru_cache(maxsize=64)
def _referencing(sql_table: sa.Table) -> NamedFromClause:
    """The referencing table's alias, made once: an alias builds a proxy of every column on first use (~1 ms)."""
    return sql_table.alias(_REFERENCING)


def primary_names(db: Database, wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """(target table, id) -> primary name for the ids of each target table in `wanted` (rows without one left out)."""
    names: dict[tuple[str, str], str] = {}
    for target_name, ids in wanted.items():
        target = metadata.table(target_name)
        key = db.tables[target_name].c[target.primary_id]
        columns = [a for a in target.attributes if a.logical_name == target.primary_name]
        ordered = sorted(ids)
        for start in range(0, len(ordered), ID_CHUNK):
            plan = Plan(target, columns, where=key.in_(ordered[start:start + ID_CHUNK]))
            for row in query.run(db, plan).rows:
                value = row._mapping[target.primary_name]
                if value is not None:
                    names[(target_name, row._mapping[target.primary_id])] = value
    return names
