"""Named snapshots of every table, kept as copy tables in the same database so they survive restarts.
Saving and restoring are `INSERT INTO t SELECT * FROM s` inside one transaction: the copy tables have the same
columns and indexes as the live ones, so SQLite copies b-tree pages directly (its transfer optimisation) and
restoring a 1,000-conversation scenario costs milliseconds. POST/GET/DELETE /_emulator/snapshots."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from flask import jsonify
from sqlalchemy.sql.elements import quoted_name

from ..clock import format_instant
from ..errors import BadRequest, ResourceNotFound
from ..store.database import Database
from .plane import blueprint, json_body, state, takes

BASELINE = "@baseline"  # what POST /_emulator/reset restores: the scenario the server started with or last seeded
IGNORED = ("_snap", "_emulator", "emulator_")  # the emulator's own bookkeeping tables, never restored
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class LocalWrites:
    """Reset's written-table set of one process: the Database's own (its engines note every write)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def dirty(self, snapshot: str) -> set[str] | None:
        return self.db.written_since(snapshot)

    def forget(self, snapshot: str) -> None:
        self.db.forget_writes(snapshot)


class WriteTracker(Protocol):
    def dirty(self, snapshot: str) -> set[str] | None: ...

    def forget(self, snapshot: str) -> None: ...


class SnapshotStore:
    """Snapshots of one Database: a registry table plus one copy table per snapshot and table."""

    def __init__(self, db: Database, writes: WriteTracker | None = None) -> None:
        self.db = db
        self.writes = writes or LocalWrites(db)
        self.metadata = sa.MetaData()
        self.registry = sa.Table(
            "_emulator_snapshot", self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("scenario", sa.String(200)),
            sa.Column("created", sa.String(30), nullable=False),
            sa.Column("tables", sa.String(2000), nullable=False))  # the live tables it holds, comma-separated
        self.registry.create(db.engine, checkfirst=True)

    def _dirty(self, name: str) -> set[str] | None:
        """The live tables written since the data equalled snapshot `name`: restoring it copies only those (a reset
        after a test that wrote one table costs one table's copy). None: copy all (the data has not equalled it
        since, or a table we do not know was written)."""
        written = self.writes.dirty(name)
        if written is None:
            return None
        written = {table for table in written if not table.startswith(IGNORED)}
        return written if written <= self.db.tables.keys() else None

    def _copy_table(self, snapshot_id: int, logical_name: str) -> sa.Table:
        """A table with the live table's columns and indexes (needed for SQLite's page-copy path)."""
        live = self.db.tables[logical_name]
        name = f"_snap{snapshot_id}_{logical_name}"
        copy = live.to_metadata(sa.MetaData(), name=name)
        for index in copy.indexes:
            index.name = quoted_name(f"_snap{snapshot_id}_{index.name}", None)
        return copy

    @staticmethod
    def _transfer(conn, source: str, target: str) -> None:
        # Table names are ours (never user input); `SELECT *` is what lets SQLite copy pages directly.
        preparer = conn.dialect.identifier_preparer
        conn.execute(sa.text(f"DELETE FROM {preparer.quote(target)}"))
        conn.execute(sa.text(f"INSERT INTO {preparer.quote(target)} SELECT * FROM {preparer.quote(source)}"))

    def find(self, name: str) -> sa.Row | None:
        with self.db.engine.connect() as conn:
            return conn.execute(sa.select(self.registry).where(self.registry.c.name == name)).first()

    def list(self) -> list[dict]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(self.registry).order_by(self.registry.c.id)).all()
        return [{"name": r.name, "scenario": r.scenario, "created": r.created} for r in rows]

    def save(self, name: str, scenario: str | None = None) -> dict:
        started = time.perf_counter()
        self.delete(name)
        created = format_instant(datetime.now(UTC), "milliseconds")
        with self.db.engine.begin() as conn:
            # an empty table is left out: restore empties a table the snapshot does not hold (an imported org's
            # 1,000 tables, mostly empty, cost no copy)
            held = _non_empty(conn, list(self.db.tables))
            key = conn.execute(self.registry.insert().values(
                name=name, scenario=scenario, created=created, tables=",".join(held))).inserted_primary_key
            assert key is not None  # a one-row insert has one
            snapshot_id = key[0]
            for logical_name in held:
                copy = self._copy_table(snapshot_id, logical_name)
                copy.create(conn)
                self._transfer(conn, logical_name, copy.name)
        self.writes.forget(name)
        return {"name": name, "scenario": scenario, "created": created,
                "ms": round((time.perf_counter() - started) * 1000, 2)}

    def restore(self, name: str, full: bool = False) -> dict:
        started = time.perf_counter()
        row = self.find(name)
        if row is None:
            raise ResourceNotFound(f"_emulator/snapshots/{name}")
        held = row.tables.split(",")
        dirty = None if full else self._dirty(name)
        with self.db.engine.begin() as conn:
            for logical_name in self.db.tables:
                if dirty is not None and logical_name not in dirty:
                    continue
                if logical_name in held:
                    self._transfer(conn, f"_snap{row.id}_{logical_name}", logical_name)
                else:  # empty when the snapshot was taken (or added since)
                    conn.execute(sa.delete(self.db.tables[logical_name]))
        self.writes.forget(name)
        return {"name": name, "scenario": row.scenario, "tables": "all" if dirty is None else sorted(dirty),
                "ms": round((time.perf_counter() - started) * 1000, 2)}

    def delete(self, name: str) -> bool:
        row = self.find(name)
        if row is None:
            return False
        with self.db.engine.begin() as conn:
            for logical_name in row.tables.split(","):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS "
                                     f"{conn.dialect.identifier_preparer.quote(f'_snap{row.id}_{logical_name}')}"))
            conn.execute(self.registry.delete().where(self.registry.c.id == row.id))
        return True


def _non_empty(conn: sa.Connection, names: list[str]) -> list[str]:
    """The tables of `names` holding a row, a few statements for any number of tables (SQLite takes at most 500
    terms in one compound SELECT). Names are ours (the catalog's), quoted by the dialect."""
    quote = conn.dialect.identifier_preparer.quote
    found: set[str] = set()
    for start in range(0, len(names), 400):
        chunk = names[start:start + 400]
        terms = [f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {quote(n)})" for i, n in enumerate(chunk)]
        found.update(chunk[i] for (i,) in conn.execute(sa.text(" UNION ALL ".join(terms))))
    return [n for n in names if n in found]


def _name(value) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise BadRequest("A snapshot name is 1 to 64 letters, digits, '_', '.', ':' or '-'; "
                         f"got {value!r}.")
    return value




@blueprint.get("/snapshots")
def list_snapshots():
    store = state().snapshots
    return jsonify({"value": [s for s in store.list() if s["name"] != BASELINE],
                    "baseline": next((s for s in store.list() if s["name"] == BASELINE), None)})


@blueprint.post("/snapshots")
@takes(body=True)
def save_snapshot():
    name = _name(json_body('{"name": "before-test"}', fields=("name",)).get("name"))
    control = state()
    return jsonify(control.snapshots.save(name, control.scenario)), 201


@blueprint.post("/snapshots/<name>/restore")
@takes(body=True)
def restore_snapshot(name: str):
    """Restores the data; with {"baseline": true} the snapshot also becomes what /reset goes back to."""
    control = state()
    baseline = json_body('{"baseline": true}', fields=("baseline",), required=False).get("baseline", False)
    if not isinstance(baseline, bool):
        raise BadRequest("'baseline' must be true or false.")
    result = control.snapshots.restore(_name(name))
    if baseline:
        control.snapshots.save(BASELINE, result["scenario"])
        control.scenario = result["scenario"]
    return jsonify(result)


@blueprint.delete("/snapshots/<name>")
def delete_snapshot(name: str):
    if not state().snapshots.delete(_name(name)):
        raise ResourceNotFound(f"_emulator/snapshots/{name}")
    return "", 204


@blueprint.delete("/snapshots")
def delete_all_snapshots():
    store = state().snapshots
    for snapshot in store.list():
        if snapshot["name"] != BASELINE:
            store.delete(snapshot["name"])
    return "", 204

