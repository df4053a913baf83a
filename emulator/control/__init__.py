"""The emulator's own control plane under /_emulator/: never mixed into the Dataverse routes, never journalled,
faulted or throttled. `install` adds its guard off loopback and the request hooks the Web API runs through."""
from __future__ import annotations

import threading

from flask import Flask

from .. import server
from ..clock import parse_instant
from ..errors import DataverseError
from . import access, hooks, shared
from .faults import FaultSet, SharedFaultSet
from .journal import DEFAULT_SIZE, Journal
from .plane import EXTENSION, blueprint, state
from .shared import SharedJournal, SharedStore, SharedWrites, clock_values, load_clock
from .snapshots import BASELINE, IGNORED, SnapshotStore
from .throttling import Limits, ServiceProtection, SharedServiceProtection

# the modules register their routes on the blueprint
from . import clock, data, health, simulation  # noqa: F401  isort: skip

__all__ = ["ControlState", "blueprint", "install", "state"]


class ControlState:
    """What the control plane keeps for one app: snapshots, the reset baseline, journal, faults, limits, the clock.

    One process keeps it in memory and spends nothing per request on sharing it. With `serve --workers N`
    (settings.workers > 1) it lives in the database (shared.py): `sync()`, run before every Web API and control
    request, reads one generation number and reloads the cached parts when another worker changed them."""

    def __init__(self, emulator: server.Emulator) -> None:
        self.emulator = emulator
        self.shared: SharedStore | None = None
        self.generation = 0
        self.journal: Journal | SharedJournal
        self.faults: FaultSet | SharedFaultSet
        self.protection: ServiceProtection | SharedServiceProtection
        self.writes: SharedWrites | None = None
        self._scenario: str | None = emulator.scenario
        self._sync_lock = threading.Lock()
        settings = emulator.settings
        if settings.workers > 1 and not shared.possible(emulator.db):
            raise ValueError("--workers needs a database every worker opens (a SQLite file or a database server); "
                             "an in-memory SQLite database belongs to one process.")
        if settings.workers > 1:
            # the writer's row-version counter (a sequence on PostgreSQL) is made here, once, before the workers
            # fork: made by each worker at its first write, two would race to create it
            emulator.db.sync_row_versions()
            store = self.shared = SharedStore(emulator.db)
            store.start(emulator.clock, SharedServiceProtection.settings(settings.service_protection, Limits()),
                        self._scenario)
            self.writes = SharedWrites(store, IGNORED)
            self.snapshots = SnapshotStore(emulator.db, self.writes)
            self.journal = SharedJournal(store, DEFAULT_SIZE)
            self.faults = SharedFaultSet(store)
            self.protection = SharedServiceProtection(store)
            self.sync()
        else:
            self.snapshots = SnapshotStore(emulator.db)
            self.journal = Journal()
            self.faults = FaultSet()
            self.protection = ServiceProtection(enabled=settings.service_protection)
        self.baseline_ms = None
        if settings.baseline:  # POST /_emulator/reset comes back to this
            self.baseline_ms = self.snapshots.save(BASELINE, self.scenario)["ms"]
        else:
            self.snapshots.delete(BASELINE)  # one from an earlier run would hold older data

    def sync(self) -> None:
        """This worker's cache up to date with the shared state (a no-op in one process)."""
        store = self.shared
        if store is None:
            return
        row = store.row()
        if row.generation == self.generation:
            return
        with self._sync_lock:
            load_clock(self.emulator.clock, row)
            assert isinstance(self.protection, SharedServiceProtection) and isinstance(self.faults, SharedFaultSet)
            self.protection.load(row)
            self.faults.load()
            self._scenario = row.scenario
            if self.writes is not None:
                self.writes.load(row)
            self.generation = row.generation

    @property
    def scenario(self) -> str | None:
        return self._scenario

    @scenario.setter
    def scenario(self, name: str | None) -> None:
        self._scenario = name
        if self.shared is not None:
            self.shared.change(scenario=name)

    def clock_changed(self) -> None:
        """After the clock was set, moved or released here: every worker's clock follows."""
        if self.shared is not None:
            self.shared.change(**clock_values(self.emulator.clock))

    def after_request(self) -> None:
        """After a Web API request: tables it wrote become known to every worker's reset."""
        if self.writes is not None:
            self.writes.publish()

    def reset(self, full: bool = False) -> dict:
        """Data back to the baseline; clock, faults, journal and service protection back to the start settings."""
        if self.snapshots.find(BASELINE) is None:
            raise DataverseError("There is no baseline to reset to: the server started with --no-baseline. "
                                 "POST /_emulator/seed loads one, or restore a snapshot with {\"baseline\": true}.",
                                 code="0x80040237", status=409)
        result = self.snapshots.restore(BASELINE, full=full)
        now = self.emulator.settings.now
        if now:
            self.emulator.clock.set(parse_instant(now), frozen=True)
        else:
            self.emulator.clock.reset()
        self.clock_changed()
        self.faults.clear()
        self.journal.clear()
        self.protection.reset(enabled=self.emulator.settings.service_protection)
        return {"scenario": self.scenario, "tables": result["tables"], "ms": result["ms"]}


def install(app: Flask) -> None:
    """The app-wide parts of the control plane, before the blueprint: its guard, its state (the reset baseline is
    saved here) and the hooks around the Web API."""
    emulator = server.current(app)
    access.install(app, emulator.settings)
    app.extensions[EXTENSION] = ControlState(emulator)
    hooks.register(app)
