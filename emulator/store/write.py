"""Writes: one transaction per request (which a $batch change set can widen to many requests), and create and
update of rows from Web API bodies: validate.py checks and converts them, records.py writes them."""
from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import sqlalchemy as sa

from ..errors import RecordNotFound
from ..metadata import Attribute, Table
from . import records
from .database import Database, _sqlite_pragmas
from .records import Context, delete
from .rows import record_columns
from .validate import invalid_argument, parse_body, parse_guid, payload_error
from .writer import ROW_VERSION, _row_versions_metadata

__all__ = ["Context", "change_set", "create", "delete", "fetch", "parse_guid", "payload_error", "sync_row_versions",
           "transaction", "update"]


# -- the writer: engine, lock, row versions, transactions --------------------------------------------------------
class Writer:
    """One per Database. On SQLite every write transaction starts with BEGIN IMMEDIATE (so a read-then-write never
    loses a race to another process), writers in this process queue on a lock instead of spinning on SQLITE_BUSY,
    and row versions come from a one-row counter updated in the same transaction. Elsewhere (PostgreSQL) writers
    run in parallel: rows they change are locked with SELECT ... FOR UPDATE and versions come from a sequence."""

    def __init__(self, db: Database) -> None:
        self.tables = db.tables  # no reference to `db` itself, so the registry below can forget it
        self.lock = threading.RLock() if db.is_sqlite else contextlib.nullcontext()
        database = db.url.database
        if db.is_sqlite and database and database != ":memory:" and not database.startswith("file:"):
            self.engine = sa.create_engine(db.url, connect_args={"check_same_thread": False, "timeout": 10})
            sa.event.listen(self.engine, "connect", self._connect)
            sa.event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            weakref.finalize(db, self.engine.dispose)
        else:
            self.engine = db.engine
        _row_versions_metadata.create_all(self.engine)
        with self.lock, self.engine.begin() as conn:
            self._sync_counter(conn)

    @staticmethod
    def _connect(dbapi_connection, record) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event issues BEGIN IMMEDIATE itself

    def _sync_counter(self, conn: sa.Connection) -> None:
        """Start above every versionnumber already stored (seeded rows), once per process."""
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


_writers: "weakref.WeakKeyDictionary[Database, Writer]" = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()
_current: contextvars.ContextVar["sa.Connection | None"] = contextvars.ContextVar("write_transaction", default=None)


def writer(db: Database) -> Writer:
    with _writers_lock:
        found = _writers.get(db)
        if found is None:
            found = _writers[db] = Writer(db)
        return found


def sync_row_versions(db: Database) -> None:
    """Lift the row-version counter above every stored versionnumber: for code that bulk-loads rows (a reseed)
    while the process keeps running."""
    w = writer(db)
    with w.lock, w.engine.begin() as conn:
        w._sync_counter(conn)


@contextmanager
def transaction(db: Database) -> Iterator[sa.Connection]:
    """The request's write transaction: joins an open change set, else commits on success, rolls back on error."""
    joined = _current.get()
    if joined is not None:
        yield joined
        return
    w = writer(db)
    with w.lock, w.engine.begin() as conn:
        yield conn


@dataclass
class ChangeSet:
    conn: sa.Connection
    failed: bool = False


@contextmanager
def change_set(db: Database) -> Iterator[ChangeSet]:
    """A $batch change set: every request inside runs in this one transaction; `failed` rolls all of it back."""
    w = writer(db)
    with w.lock, w.engine.connect() as conn:
        tx = conn.begin()
        state = ChangeSet(conn)
        token = _current.set(conn)
        try:
            yield state
        except BaseException:
            tx.rollback()
            raise
        finally:
            _current.reset(token)
        if state.failed:
            tx.rollback()
        else:
            tx.commit()


def fetch(conn: sa.Connection, db: Database, table: Table, key: str, attrs: list[Attribute] | None = None, *,
          lock: bool = False):
    """One row by key; `lock` holds it (SELECT ... FOR UPDATE) until the transaction ends, so a precondition
    checked on it still holds when the write lands (SQLite needs no row lock: it has one writer)."""
    sql_table = db.tables[table.logical_name]
    if attrs is None:
        statement = sa.select(sql_table).where(sql_table.c[table.primary_id] == key)
        return conn.execute(statement.with_for_update() if lock else statement).first()
    statement = sa.select(*record_columns(sql_table, attrs)).where(sql_table.c[table.primary_id] == key)
    return conn.execute(statement.with_for_update() if lock else statement).first()


def create(conn: sa.Connection, db: Database, table: Table, body: Any, ctx: Context, key: str | None = None) -> str:
    """Insert one row from a Web API body; returns its key. `key` comes from the URL of an upsert."""
    values = parse_body(conn, db, table, body, creating=True)
    body_key = values.pop(table.primary_id, None)
    if key is not None and body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}).")
    return records.create(conn, db, table, values, ctx, key or body_key)


def update(conn: sa.Connection, db: Database, table: Table, key: str, body: Any, ctx: Context,
           existing: sa.Row | None = None) -> None:
    """Change one row from a Web API body; `existing` is the row when the caller has read (and locked) it."""
    existing = existing if existing is not None else fetch(conn, db, table, key, lock=True)
    if existing is None:
        raise RecordNotFound(table.logical_name, key)
    values = parse_body(conn, db, table, body, creating=False)
    body_key = values.pop(table.primary_id, None)
    if body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}); a record's key cannot be changed.")
    records.update(conn, db, table, key, values, ctx, existing._mapping)
