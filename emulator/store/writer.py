"""A Database's single writer: one transaction per request (which a $batch change set widens to many requests) and
database-wide row versions."""
from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

_row_versions_metadata = sa.MetaData()
ROW_VERSION = sa.Table("emulator_rowversion", _row_versions_metadata,
                       sa.Column("id", sa.Integer, primary_key=True), sa.Column("value", sa.BigInteger))
# Deleted rows of change-tracked tables, each with the row version of its deletion: the `$deletedEntity` entries of
# a change-tracking delta (store/changes.py).
DELETION = sa.Table("emulator_deletion", _row_versions_metadata,
                    sa.Column("version", sa.BigInteger, primary_key=True), sa.Column("table_name", sa.String(128)),
                    sa.Column("record_id", sa.String(36)), sa.Column("deleted_on", sa.String(20)),
                    sa.Index("ix_emulator_deletion_table_version", "table_name", "version"))
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


@dataclass
class ChangeSet:
    conn: sa.Connection
    failed: bool = False


class Writer:
    """On SQLite the engine starts every transaction with BEGIN IMMEDIATE (so a read-then-write never loses a race
    to another process), writers in this process queue on a lock instead of spinning on SQLITE_BUSY, and row
    versions come from a one-row counter updated in the same transaction. Elsewhere (PostgreSQL) writers run in
    parallel: rows they change are locked with SELECT ... FOR UPDATE and versions come from a sequence."""

    def __init__(self, engine: sa.Engine, tables: Mapping[str, sa.Table], *, serial: bool) -> None:
        self.engine = engine
        self.tables = tables
        self.lock: contextlib.AbstractContextManager = threading.RLock() if serial else contextlib.nullcontext()
        # The open change set of this context (thread): requests inside a $batch change set join its transaction.
        self._change_set: contextvars.ContextVar[ChangeSet | None] = contextvars.ContextVar("change_set",
                                                                                            default=None)
        _row_versions_metadata.create_all(engine)
        self.sync_row_versions()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        joined = self._change_set.get()
        if joined is not None:
            yield joined.conn
            return
        with self.lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def change_set(self) -> Iterator[ChangeSet]:
        with self.lock, self.engine.connect() as conn:
            tx = conn.begin()
            state = ChangeSet(conn)
            token = self._change_set.set(state)
            try:
                yield state
            except BaseException:
                tx.rollback()
                raise
            finally:
                self._change_set.reset(token)
            if state.failed:
                tx.rollback()
            else:
                tx.commit()

    def sync_row_versions(self) -> None:
        """Start above every versionnumber already stored (seeded or bulk-loaded rows)."""
        with self.lock, self.engine.begin() as conn:
            highest = 1000
            for sql_table in self.tables.values():
                if "versionnumber" in sql_table.c:
                    value = conn.execute(sa.select(sa.func.max(sql_table.c.versionnumber))).scalar()
                    highest = max(highest, value or 0)
            if conn.dialect.supports_sequences:
                conn.execute(sa.text("SELECT setval('emulator_rowversion_seq', GREATEST(:highest, "
                                     "(SELECT last_value FROM emulator_rowversion_seq)))"), {"highest": highest})
                return
            current = conn.execute(sa.select(ROW_VERSION.c.value).where(ROW_VERSION.c.id == 1)).scalar()
            if current is None:
                conn.execute(ROW_VERSION.insert().values(id=1, value=highest))
            elif current < highest:
                conn.execute(ROW_VERSION.update().where(ROW_VERSION.c.id == 1).values(value=highest))
