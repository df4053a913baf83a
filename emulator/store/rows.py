"""The SQL columns that make up a record: the chosen attributes, the hidden target column of each polymorphic lookup
and the row version (for the ETag). Names are compared, not Column objects: `==` on a Column builds SQL."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..metadata import Attribute


def record_names(attrs: Iterable[Attribute], version: bool = True) -> list[str]:
    attrs = list(attrs)
    names = [a.logical_name for a in attrs] + [a.target_column for a in attrs if a.is_polymorphic]
    if version and "versionnumber" not in names:
        names.append("versionnumber")
    return names


def record_columns(sql: sa.FromClause, attrs: Iterable[Attribute]) -> list[sa.ColumnElement]:
    return [sql.c[name] for name in record_names(attrs, version="versionnumber" in sql.c)]
