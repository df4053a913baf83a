"""Database-wide row versions: a one-row counter, or a sequence where the database has them."""
from __future__ import annotations

import sqlalchemy as sa

_row_versions_metadata = sa.MetaData()
ROW_VERSION = sa.Table("emulator_rowversion", _row_versions_metadata,
                       sa.Column("id", sa.Integer, primary_key=True), sa.Column("value", sa.BigInteger))
# Where the database has sequences (PostgreSQL) row versions come from one, so writers never queue on a counter.
ROW_VERSION_SEQUENCE = sa.Sequence("emulator_rowversion_seq", metadata=_row_versions_metadata)


def next_version(conn: sa.Connection, at_least: int = 0) -> int:
    """The next database-wide row version, and never below `at_least` (the row's own version + 1), so a row's
    ETag never repeats even when rows were loaded behind the writer's back (a reseed or a snapshot restore)."""
    if conn.dialect.supports_sequences:
        version = conn.execute(sa.select(ROW_VERSION_SEQUENCE.next_value())).scalar_one()
        if version < at_least:
            conn.execute(sa.select(sa.func.setval(ROW_VERSION_SEQUENCE.name, at_least)))
            version = at_least
        return version
    bumped = ROW_VERSION.c.value + 1
    conn.execute(ROW_VERSION.update().where(ROW_VERSION.c.id == 1)
                 .values(value=sa.case((bumped > at_least, bumped), else_=at_least)))
    return conn.execute(sa.select(ROW_VERSION.c.value).where(ROW_VERSION.c.id == 1)).scalar_one()
