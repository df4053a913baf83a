"""Change tracking's store side: the current row version (a delta token's high-water mark), deletions remembered
with their row versions, and the deletions after a version. Changed rows need nothing of their own: every write
stamps the database-wide row version into `versionnumber`."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..clock import format_instant
from ..metadata import Table
from .database import Database
from .writer import DELETION, ROW_VERSION, next_version


def current_version(db: Database) -> int:
    """The highest row version handed out so far: every later write gets a higher one (read through the writer,
    which creates the counter on first use)."""
    with db.transaction() as conn:
        if conn.dialect.supports_sequences:
            return int(conn.execute(sa.text("SELECT last_value FROM emulator_rowversion_seq")).scalar_one())
        return int(conn.execute(sa.select(ROW_VERSION.c.value).where(ROW_VERSION.c.id == 1)).scalar_one())


def remember_deletion(conn: sa.Connection, table: Table, key: str, now: datetime) -> None:
    if table.change_tracking:
        conn.execute(DELETION.insert().values(version=next_version(conn), table_name=table.logical_name,
                                              record_id=key, deleted_on=format_instant(now)))


def deletions(db: Database, table: Table, after: int, limit: int) -> list[tuple[int, str]]:
    """(version, id) of `table`'s rows deleted after row version `after`, oldest first, at most `limit`."""
    statement = (sa.select(DELETION.c.version, DELETION.c.record_id)
                 .where(DELETION.c.table_name == table.logical_name, DELETION.c.version > after)
                 .order_by(DELETION.c.version).limit(limit))
    with db.engine.connect() as conn:
        return [(int(v), str(k)) for v, k in conn.execute(statement).all()]


def deleted_count(db: Database, table: Table, after: int) -> int:
    statement = (sa.select(sa.func.count()).select_from(DELETION)
                 .where(DELETION.c.table_name == table.logical_name, DELETION.c.version > after))
    with db.engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())
