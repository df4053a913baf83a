"""The database: its engines (SQLite file in WAL mode by default, any SQLAlchemy URL), schema, single writer,
per-query time limit and the tables written since the data last matched a snapshot."""
from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.sql.dml import UpdateBase

from .. import metadata
from . import ddl
from .schema import build_metadata
from .timelimit import QueryTimeLimit
from .writer import ChangeSet, Writer

CACHE_KIB = 262144  # 256 MiB of page cache a connection (see _sqlite_pragmas)
LOAD_CACHE_KIB, SORT_CACHE_KIB = 131072, 2048  # while bulk loading and building its indexes (see bulk_load)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Per connection. The page cache is private to the connection and the pool keeps connections (QueuePool,
    one per gunicorn worker, made after the fork), so hot pages stay in the process however long the server idles:
    measured at 1M rows after 3 idle minutes, a fresh connection's first getConversations query took 5-13 ms
    (1.4-2 ms when the OS still caches the file: the rest is re-reading pages the OS dropped) and a warm pooled
    one's 0.5 ms. mmap_size stays 0: mapped pages are the OS's file cache, the very pages dropped when idle.
    Memory grows only with the pages read, up to 256 MiB a connection; a write by any connection makes the others
    start their caches again (SQLite's WAL rule)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


def _sqlite_write_connection(dbapi_connection, record) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.isolation_level = None  # the engine's begin event issues BEGIN IMMEDIATE itself


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message names it (without its password)."""


class Database:
    """The engines plus the SQL tables for every metadata table. Reads use `engine`; writes go through
    `transaction()` (one writer, on its own engine on a SQLite file); statements of both engines that insert,
    update or delete are noted (see `written_since`)."""

    def __init__(self, url: str, catalog: metadata.Catalog = metadata.SHIPPED) -> None:
        self.base_catalog = catalog  # shipped or imported; the custom part stored in the database goes on top
        self.catalog = catalog  # the tables this database holds; swapped whole when the schema changes
        self.catalog_generation = 0  # of the stored custom part this catalog includes (store/ddl.py)
        self.url = make_url(url)
        if self.url.drivername in ("postgresql", "postgres"):
            self.url = self.url.set(drivername="postgresql+psycopg")  # the driver the package installs
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict = {}
        database = self.url.database or ""
        is_file = self.is_sqlite and database not in ("", ":memory:") and not database.startswith("file:")
        if is_file:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        self.engine = sa.create_engine(self.url, **kwargs)
        self._write_engine = self.engine
        self._time_limit: QueryTimeLimit | None = None
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self._time_limit = QueryTimeLimit(self.engine)
        if is_file:  # its own engine, so that every write transaction starts with BEGIN IMMEDIATE
            self._write_engine = sa.create_engine(self.url, **kwargs)
            sa.event.listen(self._write_engine, "connect", _sqlite_write_connection)
            sa.event.listen(self._write_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        self.metadata, self.tables = build_metadata(catalog)
        self.catalog_probe = ddl.GenerationProbe(self.engine)
        self._written: set[str] = set()
        self._snapshot: str | None = None  # the snapshot the data equalled when `_written` was emptied
        for engine in {self.engine, self._write_engine}:
            sa.event.listen(engine, "after_execute", self._note_write)
        self._writer: Writer | None = None
        self._writer_lock = threading.Lock()
        # DB-API connections of `engine` kept for `read`, taken out of its pool (see _reader); on SQLite files and
        # PostgreSQL only: an in-memory SQLite database lives in its pool's one connection per thread
        self._readers: list = []
        self._own_readers = isinstance(self.engine.pool, sa.pool.QueuePool)
        self._abandoned: list = []  # a forked child's inherited readers: never used nor closed (see dispose)

    def create_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    self._ensure_citext(conn)
                # one query for the tables there are; only the missing ones are built and created
                existing = set(sa.inspect(conn).get_table_names())
                missing = [self.tables[name] for name in self.tables if name not in existing]
                self.metadata.create_all(conn, tables=missing)
            ddl.load(self)  # the custom part stored by earlier runs and other processes
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as e:
            reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
            raise DatabaseUnavailable(f"cannot use the database {self.describe()}: {reason}") from None

    def use_catalog(self, catalog: metadata.Catalog, generation: int) -> None:
        """Swap in a catalog after a schema change (store/ddl.py): its SQL tables replace the old ones whole."""
        sql_metadata, tables = build_metadata(catalog)
        self.catalog, self.metadata, self.tables, self.catalog_generation = catalog, sql_metadata, tables, generation
        if self._writer is not None:
            self._writer.tables = tables

    def refresh_catalog(self) -> None:
        """Take in a schema change another process stored (one indexed read when nothing changed)."""
        ddl.refresh(self)

    def _ensure_citext(self, conn) -> None:
        """citext goes into `public`, once per database, not into the emulator's own schema: dropping one emulator's
        schema (CASCADE) would otherwise drop the extension and every citext column of the emulators beside it."""
        if conn.execute(sa.text("SELECT to_regtype('citext')")).scalar() is not None:
            return
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS citext SCHEMA public"))
        if conn.execute(sa.text("SELECT to_regtype('citext')")).scalar() is None:
            schema = conn.execute(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                          "WHERE extname = 'citext'")).scalar()
            raise DatabaseUnavailable(f"cannot use the database {self.describe()}: the citext extension is "
                                      f"installed in schema {schema}, which is not on the connection's search_path")

    def count(self, logical_name: str) -> int:
        table = self.tables[logical_name]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    def is_empty(self) -> bool:
        return self.count("msdyn_ocliveworkitem") == 0

    def counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in self.tables}

    def dispose(self, close: bool = True) -> None:
        """Closes the pooled connections; `close=False` (in a forked child) only forgets the parent's."""
        readers, self._readers = self._readers, []
        for reader in readers:
            if close:
                reader.close()
            else:  # closing would end the parent's PostgreSQL session; keep them referenced, unused
                self._abandoned.append(reader)
        if close:
            self.catalog_probe.close()
        else:
            self.catalog_probe.abandon()
        for engine in {self.engine, self._write_engine}:
            engine.dispose(close=close)

    # -- reads -----------------------------------------------------------------------------------------------------
    def read(self, sql: str, parameters: tuple | dict) -> list[tuple]:
        """Every row of a SELECT that SQLAlchemy compiled (`sql`, with the bound `parameters` it sent the driver:
        see store/prepared.py), run on a DB-API cursor of `engine`, under the thread's query time limit. Nothing
        is left open: the statement is read to its end, so no snapshot outlives it."""
        readers = self._readers
        try:
            reader = readers.pop()
        except IndexError:
            reader = self._reader()
        try:
            if self._time_limit is not None:
                self._time_limit.arm()
            cursor = reader.cursor()
            try:
                cursor.execute(sql, parameters)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        except BaseException as error:
            self._release(reader, healthy=False)
            if self._time_limit is not None and (timeout := self._time_limit.timeout(error)) is not None:
                raise timeout from None
            raise
        self._release(reader, healthy=True)
        return rows

    def _reader(self):
        """A DB-API connection of `engine` (set up by its connect events: pragmas, the time limit's handler). On a
        pool of its own (QueuePool), taken out of it for good, and on PostgreSQL in autocommit, so that a read
        leaves no transaction open between requests."""
        fairy = self.engine.raw_connection()
        if not self._own_readers:
            return fairy  # returned to its pool after each read
        fairy.detach()
        if not self.is_sqlite:
            fairy.rollback()
            fairy.dbapi_connection.autocommit = True
        return fairy

    def _release(self, reader, healthy: bool) -> None:
        if self._own_readers and healthy:
            self._readers.append(reader)
            return
        if not self._own_readers and healthy:
            reader.close()
            return
        with contextlib.suppress(Exception):  # a broken connection: dropped (pooled ones the pool checks)
            if self._own_readers:
                reader.close()
            else:
                reader.invalidate()

    def describe(self) -> str:
        """The URL without any password, safe for logs."""
        return self.url.render_as_string(hide_password=True)

    # -- the single writer ---------------------------------------------------------------------------------------
    def _writer_made(self) -> Writer:
        """Made at the first write (it needs the schema): its row-version counter starts above the stored rows."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = Writer(self._write_engine, self.tables, serial=self.is_sqlite)
            return self._writer

    def transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """The request's write transaction: joins an open change set, else commits on success, rolls back on
        error."""
        return self._writer_made().transaction()

    def change_set(self) -> contextlib.AbstractContextManager[ChangeSet]:
        """A $batch change set: every request inside runs in this one transaction; `failed` rolls all of it back."""
        return self._writer_made().change_set()

    def sync_row_versions(self) -> None:
        """Lift the row-version counter above every stored versionnumber: for code that bulk-loads rows (a reseed)
        while the process keeps running."""
        self._writer_made().sync_row_versions()

    # -- the per-query time limit ----------------------------------------------------------------------------------
    def limit_queries(self, time_limit_ms: int | None) -> None:
        """From now on each statement this thread runs on `engine` stops after `time_limit_ms` (None or 0: no
        limit) with QueryTimeout. SQLite only: on PostgreSQL the server's own statement_timeout applies."""
        if self._time_limit is not None:
            self._time_limit.set(time_limit_ms)

    # -- write tracking --------------------------------------------------------------------------------------------
    def _note_write(self, _conn, statement, *_args) -> None:
        if isinstance(statement, UpdateBase) and isinstance(statement.table, sa.TableClause):  # insert, update, delete
            self._written.add(statement.table.name)

    def mark_written(self, names: Iterable[str]) -> None:
        """For rows written past the statement level (a bulk load's DB-API cursor)."""
        self._written.update(names)

    def written_since(self, snapshot: str) -> set[str] | None:
        """Names of the tables this Database's engines wrote to (any table, also the emulator's own) since its data
        last equalled `snapshot`; None if it has not since. Writes by other processes or connections are unseen."""
        return set(self._written) if snapshot == self._snapshot else None

    def forget_writes(self, snapshot: str) -> None:
        """The data now equals `snapshot` (just saved or restored)."""
        self._snapshot, self._written = snapshot, set()


@contextmanager
def bulk_load(db: Database, tables: Iterable[str]) -> Iterator[sa.Connection]:
    """One transaction for a large load. The secondary indexes of `tables` are dropped first and built once at
    the end, which is cheaper than maintaining them row by row; on SQLite, ANALYZE then gives the planner the
    statistics of the loaded data.

    On SQLite, when this is the only connection to the file, the load runs with a rollback journal instead of
    WAL: pages appended past the file's original end need no journal entry, so each page is written once (WAL
    writes it to the log and again at the checkpoint). A failed or killed load still rolls back (on the next
    open), and the file is back in WAL mode afterwards. Otherwise (a server's other connections) it stays in WAL.
    The page cache is smaller while loading (the load needs its primary-key indexes hot, not every page it
    wrote; peak memory stays flat) and tiny while building indexes (the sorter sorts runs of the cache's size:
    small runs sort in the CPU cache, in a helper thread, and merge faster than one big sort)."""
    tables = tuple(tables)
    db.mark_written(tables)
    indexes = [index for name in tables for index in db.tables[name].indexes]
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection if db.is_sqlite else None
        switched = raw is not None and _rollback_journal(raw)
        try:
            _pragmas(raw, f"cache_size=-{LOAD_CACHE_KIB}")
            with conn.begin():
                if raw is not None:  # pysqlite BEGINs only at the first INSERT; the DROP INDEXes belong in it too
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                for index in indexes:
                    index.drop(conn)
                yield conn
                _pragmas(raw, f"cache_size=-{SORT_CACHE_KIB}", "threads=2")
                for index in indexes:
                    index.create(conn)
                _pragmas(raw, f"cache_size=-{LOAD_CACHE_KIB}", "threads=0")
                if raw is not None:
                    conn.exec_driver_sql("ANALYZE")
        finally:
            _pragmas(raw, f"cache_size=-{CACHE_KIB}", "threads=0", *(["journal_mode=WAL"] if switched else []))


def _pragmas(raw, *settings: str) -> None:
    for setting in settings if raw is not None else ():
        raw.execute(f"PRAGMA {setting}")  # constants of this module only


def _rollback_journal(raw) -> bool:
    """Switch to a rollback journal if no other connection has the file open (that switch never waits)."""
    busy = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout=0")
    try:
        return raw.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    except sqlite3.OperationalError:
        return False
    finally:
        _pragmas(raw, f"busy_timeout={busy}")
