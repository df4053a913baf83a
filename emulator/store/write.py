"""Writes: server-set columns, row versions and one transaction per request (which a $batch change set can widen
to many requests); create, update and delete of rows from Web API bodies checked by validate.py."""
from __future__ import annotations

import contextlib
import contextvars
import threading
import uuid
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import sqlalchemy as sa

from ..clock import format_instant
from ..errors import PreconditionFailed, RecordNotFound
from ..metadata import Attribute, Table
from ..metadata import model as m
from .database import Database, _sqlite_pragmas
from .rows import record_columns
from .validate import apply_state_model, invalid_argument, parse_body, parse_guid, payload_error

__all__ = ["Context", "change_set", "create", "delete", "fetch", "parse_guid", "payload_error", "sync_row_versions",
           "transaction", "update"]

_row_versions_metadata = sa.MetaData()
ROW_VERSION = sa.Table("emulator_rowversion", _row_versions_metadata,
                       sa.Column("id", sa.Integer, primary_key=True), sa.Column("value", sa.BigInteger))
# Where the database has sequences (PostgreSQL) row versions come from one, so writers never queue on a counter.
ROW_VERSION_SEQUENCE = sa.Sequence("emulator_rowversion_seq", metadata=_row_versions_metadata)


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


@dataclass
class Context:
    """Who writes and when."""

    now: datetime
    caller_id: str


def create(conn: sa.Connection, db: Database, table: Table, body: Any, ctx: Context, key: str | None = None) -> str:
    """Insert one row from a Web API body; returns its key. `key` comes from the URL of an upsert."""
    changes = parse_body(conn, db, table, body, creating=True)
    values = changes.values
    body_key = values.pop(table.primary_id, None)
    if key is not None and body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}).")
    key = key or body_key or str(uuid.uuid4())
    sql_table = db.tables[table.logical_name]
    if fetch(conn, db, table, key, [table.key]) is not None:
        raise PreconditionFailed("Cannot insert duplicate key.", code="0x80040237")
    apply_state_model(table, changes, key, None)
    now = format_instant(ctx.now)
    for attr in table.attributes:  # metadata defaults for what the body left out
        if attr.default is not None and attr.logical_name not in values:
            values[attr.logical_name] = attr.default
    values[table.primary_id] = key
    if "createdon" in sql_table.c:
        overridden = values.get("overriddencreatedon")
        values["createdon"] = overridden or now
        if overridden:
            values["overriddencreatedon"] = now  # Dataverse keeps the migration time here
        values["modifiedon"] = now
    for column in ("createdby", "modifiedby"):
        if column in sql_table.c:
            values[column] = ctx.caller_id
    if "versionnumber" in sql_table.c:
        values["versionnumber"] = next_version(conn)
    owner = table.attribute("ownerid")
    if owner is not None and values.get("ownerid") is None:
        values["ownerid"] = ctx.caller_id
        if owner.is_polymorphic:
            values[owner.target_column] = "systemuser"
    if table.is_activity and table.attribute("activitytypecode"):
        values["activitytypecode"] = table.logical_name
    mirror = table.attribute(f"{table.logical_name}id")
    if mirror is not None and mirror is not table.key and mirror.type == m.STRING \
            and values.get(mirror.logical_name) is None:
        values[mirror.logical_name] = key  # msdyn_ocliveworkitemid equals activityid unless given
    try:
        conn.execute(sql_table.insert().values(**values))
    except sa.exc.IntegrityError:  # a parallel writer inserted the same key first (PostgreSQL)
        raise PreconditionFailed("Cannot insert duplicate key.", code="0x80040237") from None
    return key


def update(conn: sa.Connection, db: Database, table: Table, key: str, body: Any, ctx: Context,
           existing: sa.Row | None = None) -> None:
    existing = existing if existing is not None else fetch(conn, db, table, key, lock=True)
    if existing is None:
        raise RecordNotFound(table.logical_name, key)
    changes = parse_body(conn, db, table, body, creating=False)
    values = changes.values
    body_key = values.pop(table.primary_id, None)
    if body_key is not None and body_key != key:
        raise invalid_argument(f"The {table.primary_id} in the body ({body_key}) differs from the key in the URL "
                               f"({key}); a record's key cannot be changed.")
    for attr in table.attributes:
        if attr.required == "SystemRequired" and attr.logical_name in values and values[attr.logical_name] is None \
                and attr.logical_name not in ("statecode",):
            raise invalid_argument(f"Attribute: {attr.logical_name} cannot be set to NULL")
    if "ownerid" in changes.given and values.get("ownerid") is None and table.attribute("ownerid"):
        raise invalid_argument("Attribute: ownerid cannot be set to NULL")
    apply_state_model(table, changes, key, existing)
    sql_table = db.tables[table.logical_name]
    if "modifiedon" in sql_table.c:
        values["modifiedon"] = format_instant(ctx.now)
    if "modifiedby" in sql_table.c:
        values["modifiedby"] = ctx.caller_id
    if "versionnumber" in sql_table.c:
        values["versionnumber"] = next_version(conn, (existing._mapping["versionnumber"] or 0) + 1)
    conn.execute(sql_table.update().where(sql_table.c[table.primary_id] == key).values(**values))


def delete(conn: sa.Connection, db: Database, table: Table, key: str) -> bool:
    sql_table = db.tables[table.logical_name]
    return conn.execute(sql_table.delete().where(sql_table.c[table.primary_id] == key)).rowcount > 0
