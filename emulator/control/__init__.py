"""The emulator's own control plane under /_emulator/: never mixed into the Dataverse routes, never journalled,
faulted or throttled. `install` adds its guard off loopback and the request hooks the Web API runs through."""
from __future__ import annotations

from flask import Flask

from .. import server
from ..clock import parse_instant
from ..errors import DataverseError
from . import access, hooks
from .faults import FaultSet
from .journal import Journal
from .plane import EXTENSION, blueprint, state
from .snapshots import BASELINE, SnapshotStore
from .throttling import ServiceProtection

# the modules register their routes on the blueprint
from . import clock, data, health, simulation  # noqa: F401  isort: skip

__all__ = ["ControlState", "blueprint", "install", "state"]


class ControlState:
    """What the control plane keeps for one app: snapshots, the reset baseline, journal, faults, limits."""

    def __init__(self, emulator: server.Emulator) -> None:
        self.emulator = emulator
        self.scenario: str | None = emulator.scenario
        self.snapshots = SnapshotStore(emulator.db)
        self.baseline_ms = None
        if emulator.settings.baseline:  # POST /_emulator/reset comes back to this
            self.baseline_ms = self.snapshots.save(BASELINE, self.scenario)["ms"]
        else:
            self.snapshots.delete(BASELINE)  # one from an earlier run would hold older data
        self.journal = Journal()
        self.faults = FaultSet()
        self.protection = ServiceProtection(enabled=emulator.settings.service_protection)

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
