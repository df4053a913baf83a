"""The database: engine set-up (SQLite file in WAL mode by default, any SQLAlchemy URL) and schema creation."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .schema import build_metadata


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
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
    cursor.close()


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message names it (without its password)."""


class Database:
    """One engine plus the SQL tables for every metadata table."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.drivername in ("postgresql", "postgres"):
            self.url = self.url.set(drivername="postgresql+psycopg")  # the driver the package installs
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict = {}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.metadata, self.tables = build_metadata()

    def create_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS citext"))
                self.metadata.create_all(conn)
        except sa.exc.OperationalError as e:
            reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
            raise DatabaseUnavailable(f"cannot use the database {self.describe()}: {reason}") from None

    def drop_schema(self) -> None:
        self.metadata.drop_all(self.engine)

    def count(self, logical_name: str) -> int:
        table = self.tables[logical_name]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()

    def is_empty(self) -> bool:
        return self.count("msdyn_ocliveworkitem") == 0

    def counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in self.tables}

    def dispose(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """The URL without any password, safe for logs."""
        return self.url.render_as_string(hide_password=True)
