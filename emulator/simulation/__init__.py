"""The live contact-center simulation (`serve --simulate`, POST /_emulator/simulation)."""
from __future__ import annotations

from .. import server
from .simulator import ALLOWED, DEFAULT_RATE, MAX_RATE, Simulator, Transition

EXTENSION = "simulation"


def for_app(app, *, rate: float = DEFAULT_RATE, seed: int = 1) -> Simulator:
    """The app's one simulator, made on first use (stopped until started)."""
    simulator = app.extensions.get(EXTENSION)
    if simulator is None:
        emulator = server.current(app)
        simulator = app.extensions[EXTENSION] = Simulator(emulator.db, emulator.clock, rate=rate, seed=seed)
    return simulator


__all__ = ["ALLOWED", "DEFAULT_RATE", "MAX_RATE", "Simulator", "Transition", "for_app"]
