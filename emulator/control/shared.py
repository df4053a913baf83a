"""The control plane's state in SQL, for `serve --workers N`: several worker processes serve one database and must
answer as one emulator. Faults (with their counters), the clock, the journal, service-protection usage, the
scenario name and reset's written-table set live in a few `_emulator_*` tables that no Dataverse route sees.

Each worker caches what rarely changes (the clock, fault rules, protection limits, the scenario) and checks one
number per request, the generation, which every change bumps: one primary-key read. What changes per request is
written per request: a journal row, an atomic `UPDATE` of a matching fault's counters, a usage row while service
protection is on. On SQLite these tables live in a sibling file (`<name>.control<suffix>`), because any commit to the
data file makes every other connection drop its page cache (SQLite's WAL rule) and a journal row per request would
make every read cold; on PostgreSQL they live beside the data. A one-process server never builds this class."""
from __future__ import annotations

import os
import random
import threading
import weakref
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..clock import Clock, format_instant, parse_instant
from ..store.database import Database

CONTROL_ROW = 1


def possible(db: Database) -> bool:
    """Several processes can share state only through a database they all open: a server, or a SQLite file."""
    database = db.url.database or ""
    return not db.is_sqlite or (database not in ("", ":memory:") and not database.startswith("file:"))


def control_file(db: Database) -> Path:
    path = Path(db.url.database or "")
    return path.with_name(f"{path.stem}.control{path.suffix}")


def _sqlite_connection(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_write_connection(dbapi_connection, record) -> None:
    _sqlite_connection(dbapi_connection, record)
    dbapi_connection.isolation_level = None  # the engine's begin event issues BEGIN IMMEDIATE itself


class SharedStore:
    """The tables and the engines that reach them. Reads go through `engine`; every change through `writing()`, a
    transaction that holds the write lock from its first statement (SQLite: BEGIN IMMEDIATE; PostgreSQL: the control
    row locked FOR UPDATE when the change reads before it writes)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        metadata = sa.MetaData()
        self.control = sa.Table(
            "_emulator_control", metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("generation", sa.BigInteger, nullable=False),
            sa.Column("clock_fixed", sa.String(40)),  # the frozen instant, or NULL: real time plus the offset
            sa.Column("clock_offset_us", sa.BigInteger, nullable=False),
            sa.Column("protection", sa.Text, nullable=False),  # {"enabled": ..., limits}
            sa.Column("scenario", sa.String(200)),
            sa.Column("written_snapshot", sa.String(64)),  # the snapshot the data equalled when `written` emptied
            sa.Column("written_epoch", sa.Integer, nullable=False))
        self.faults = sa.Table(
            "_emulator_fault", metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("rule", sa.Text, nullable=False),  # the rule as posted (checked)
            sa.Column("matched", sa.Integer, nullable=False, default=0),
            sa.Column("fired", sa.Integer, nullable=False, default=0),
            sa.Column("draws", sa.Integer, nullable=False, default=0),  # random draws taken (probability rules)
            sqlite_autoincrement=True)
        self.journal = sa.Table(
            "_emulator_journal", metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("entry", sa.Text, nullable=False),
            sqlite_autoincrement=True)
        self.usage = sa.Table(
            "_emulator_usage", metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("caller", sa.String(500), nullable=False, index=True),
            sa.Column("started", sa.Float, nullable=False),  # time.monotonic(): one clock for all processes
            sa.Column("ended", sa.Float),
            sa.Column("ms", sa.Float))
        self.written = sa.Table(
            "_emulator_written", metadata,
            sa.Column("name", sa.String(128), primary_key=True))
        if db.is_sqlite:
            url = db.url.set(database=str(control_file(db)))
            args: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 10}}
            self.engine = sa.create_engine(url, **args)
            sa.event.listen(self.engine, "connect", _sqlite_connection)
            self.write_engine = sa.create_engine(url, **args)
            sa.event.listen(self.write_engine, "connect", _sqlite_write_connection)
            sa.event.listen(self.write_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            if hasattr(os, "register_at_fork"):  # gunicorn forks the workers after the app is built
                os.register_at_fork(after_in_child=partial(_forget_connections, weakref.ref(self)))
        else:
            self.engine = self.write_engine = db.engine  # its pool is already renewed in each worker
        metadata.create_all(self.engine)
        self.insert = (sqlite.insert if db.is_sqlite else postgresql.insert)(self.written)

    def writing(self):
        return self.write_engine.begin()

    def start(self, clock: Clock, protection: dict, scenario: str | None) -> None:
        """A server starting: the state its settings give, nothing left from an earlier run."""
        with self.writing() as conn:
            for table in (self.faults, self.journal, self.usage, self.written, self.control):
                conn.execute(sa.delete(table))
            fixed, offset = clock.state()
            conn.execute(sa.insert(self.control).values(
                id=CONTROL_ROW, generation=1, clock_fixed=_instant(fixed), clock_offset_us=_microseconds(offset),
                protection=orjson.dumps(protection).decode(), scenario=scenario, written_snapshot=None,
                written_epoch=0))

    def row(self) -> sa.Row:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(self.control).where(self.control.c.id == CONTROL_ROW)).one()

    def change(self, conn: sa.Connection | None = None, **values: Any) -> None:
        """Sets control-row values and bumps the generation, so every worker reloads its cache."""
        statement = (sa.update(self.control).where(self.control.c.id == CONTROL_ROW)
                     .values(generation=self.control.c.generation + 1, **values))
        if conn is not None:
            conn.execute(statement)
            return
        with self.writing() as conn:
            conn.execute(statement)

    def lock(self, conn: sa.Connection) -> None:
        """Serialises read-then-write changes on PostgreSQL (SQLite's BEGIN IMMEDIATE already has)."""
        if not self.db.is_sqlite:
            conn.execute(sa.select(self.control.c.id).where(self.control.c.id == CONTROL_ROW).with_for_update())


def _forget_connections(store: weakref.ref[SharedStore]) -> None:
    """In a forked worker: the parent's pooled connections stay the parent's."""
    alive = store()
    if alive is not None:
        for engine in {alive.engine, alive.write_engine}:
            engine.dispose(close=False)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value, "microseconds")


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def load_clock(clock: Clock, row: sa.Row) -> None:
    fixed = parse_instant(row.clock_fixed) if row.clock_fixed else None
    clock.load(fixed, timedelta(microseconds=row.clock_offset_us))


def clock_values(clock: Clock) -> dict:
    fixed, offset = clock.state()
    return {"clock_fixed": _instant(fixed), "clock_offset_us": _microseconds(offset)}


class SharedWrites:
    """Reset's written-table set for all workers: each worker publishes the tables it wrote after every Web API
    request (a set lookup, and one INSERT the first time a table is written after a reset)."""

    def __init__(self, store: SharedStore, ignored: tuple[str, ...]) -> None:
        self.store = store
        self.ignored = ignored
        self.snapshot: str | None = None
        self.epoch = -1
        self.published: set[str] = set()
        self.lock = threading.Lock()

    def load(self, row: sa.Row) -> None:
        """A worker's view after another worker emptied the set (a save or a restore): start again from it."""
        with self.lock:
            if row.written_epoch != self.epoch:
                self.epoch, self.snapshot, self.published = row.written_epoch, row.written_snapshot, set()
                self.store.db.forget_writes(row.written_snapshot or "")

    def publish(self) -> None:
        if self.snapshot is None:
            return
        written = self.store.db.written_since(self.snapshot)
        if not written or written <= self.published:
            return
        with self.lock:
            new = {name for name in written - self.published if not name.startswith(self.ignored)}
            self.published |= written
        if new:
            with self.store.writing() as conn:
                conn.execute(self.store.insert.values([{"name": name} for name in sorted(new)])
                             .on_conflict_do_nothing())

    def dirty(self, snapshot: str) -> set[str] | None:
        """The tables any worker wrote since the data equalled `snapshot`; None: unknown (copy them all)."""
        self.publish()
        row = self.store.row()
        if row.written_snapshot != snapshot:
            return None
        with self.store.engine.connect() as conn:
            return set(conn.execute(sa.select(self.store.written.c.name)).scalars())

    def forget(self, snapshot: str) -> None:
        """The data now equals `snapshot`, for every worker."""
        store = self.store
        with store.writing() as conn:
            conn.execute(sa.delete(store.written))
            store.change(conn, written_snapshot=snapshot, written_epoch=store.control.c.written_epoch + 1)
        self.load(store.row())


class SharedJournal:
    """The journal as rows: ids in commit order, so every worker's requests are listed in the order they ended."""

    def __init__(self, store: SharedStore, size: int) -> None:
        self.store = store
        self.size = size

    def record(self, entry: dict) -> None:
        table = self.store.journal
        with self.store.writing() as conn:
            key = conn.execute(sa.insert(table).values(entry=orjson.dumps(entry).decode())).inserted_primary_key
            if key is not None and key[0] % 100 == 0:  # trim now and then, not per request
                conn.execute(sa.delete(table).where(table.c.id <= key[0] - self.size))

    def clear(self) -> None:
        with self.store.writing() as conn:
            conn.execute(sa.delete(self.store.journal))

    def entries(self) -> list[dict]:
        table = self.store.journal
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.entry).order_by(table.c.id.desc())
                                .limit(self.size)).all()
        return [{"id": row.id, **orjson.loads(row.entry)} for row in reversed(rows)]


class Draws:
    """The n-th value of Random(seed) for a probability rule, whatever worker takes draw n: each worker walks its own
    copy of the sequence forward, so the rule fires on the same draws as in one process."""

    def __init__(self) -> None:
        self.sequences: dict[int, tuple[random.Random, int]] = {}
        self.lock = threading.Lock()

    def value(self, rule_id: int, seed: int | None, draw: int) -> float:
        with self.lock:
            rng, taken = self.sequences.get(rule_id) or (random.Random(seed), 0)
            if draw <= taken:  # cannot happen (draws only grow), but never walk backwards
                rng, taken = random.Random(seed), 0
            value = 0.0
            while taken < draw:
                value = rng.random()
                taken += 1
            self.sequences[rule_id] = (rng, taken)
            return value
