"""The emulator's own control plane under /_emulator/: never mixed into the Dataverse routes, never journalled,
faulted or throttled. `install` adds its guard off loopback and the request hooks the Web API runs through."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app

from .. import server

EXTENSION = "control"  # the app.extensions key of the control plane's state

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")


class ControlState:
    """What the control plane keeps for one app: snapshots, the reset baseline, journal, faults, limits."""

    def __init__(self, emulator: server.Emulator) -> None:
        from .faults import FaultSet
        from .journal import Journal
        from .snapshots import BASELINE, SnapshotStore
        from .throttling import ServiceProtection

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
        from ..clock import parse_instant
        from ..errors import DataverseError
        from .snapshots import BASELINE

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


def state(app: Flask | None = None) -> ControlState:
    """The control plane's state: of `app`, or of the app serving the current request."""
    return (app or current_app).extensions[EXTENSION]


def install(app: Flask) -> None:
    """The app-wide parts of the control plane, before the blueprint: its guard, its state (the reset baseline is
    saved here) and the hooks around the Web API."""
    from . import access, hooks

    emulator = server.current(app)
    access.install(app, emulator.settings)
    app.extensions[EXTENSION] = ControlState(emulator)
    hooks.register(app)


# the modules register their routes on the blueprint
from . import clock, data, faults, health, journal, simulation, snapshots, throttling  # noqa: E402,F401
