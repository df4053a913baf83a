"""The running emulator's state, shared by the Web API and the control plane (database, clock, settings); how it is
prepared from Settings; and the one accessor for it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, g, has_request_context

from .clock import Clock, parse_instant
from .metadata.catalog import use
from .settings import Settings
from .store import scenario as scenarios
from .store.database import Database
from .store.imported import add_missing_columns, imported_catalog
from .store.seed import ADMIN_USER_ID, SeedResult, seed

EXTENSION = "emulator"  # the app.extensions key create_app keeps the emulator under


@dataclass
class Emulator:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=Clock)
    default_caller_id: str = ADMIN_USER_ID  # the systemuser requests act as (WhoAmI) unless auth says otherwise
    scenario: str | None = "default"  # the scenario the data came from (the control plane's reset baseline)
    loaded: SeedResult | scenarios.LoadResult | None = None  # what prepare() put in (None: it kept what was there)

    @property
    def caller_id(self) -> str:
        """The systemuser of the current request: the one its token maps to (--auth strict), else the default."""
        return request_caller() or self.default_caller_id

    @caller_id.setter
    def caller_id(self, value: str) -> None:
        self.default_caller_id = value


def prepare(settings: Settings, note: Callable[[str], None] = lambda _: None) -> Emulator:
    """The emulator `settings` describe, its database ready: schema created and the data loaded as `settings.load`
    says (a scenario, or the generated data set). The CLI, the pytest plugin and the tests all start here; `note`
    hears why data already there was kept. Raises DatabaseUnavailable, ScenarioError or ValueError."""
    emulator = Emulator(settings, Database(settings.database_url, imported_catalog(settings)),
                        Clock(parse_instant(settings.now)) if settings.now else Clock())
    db = emulator.db
    db.create_schema()
    add_missing_columns(db)
    if settings.load == "never":
        return emulator
    if settings.load == "if-empty" and not (db.is_empty() and not db.count("systemuser")):
        emulator.scenario = None  # the data is whatever the database holds; reset comes back to it
        if settings.scenario:
            note(f"The database already holds data; serving it (scenario {settings.scenario} not loaded; use "
                 f"`dataverse-emulator seed --reset --scenario {settings.scenario}` to replace it).")
        return emulator
    reset, now = settings.load == "replace", emulator.clock.now()
    try:
        with use(db.catalog):
            if settings.scenario:
                emulator.loaded = scenarios.load(db, scenarios.read(settings.scenario), now=now, reset=reset)
                emulator.scenario = emulator.loaded.name
            else:
                emulator.loaded = seed(db, conversations=settings.conversations, agents=settings.agents,
                                       seed=settings.seed, now=now, reset=reset)
    except Exception:
        db.dispose()
        raise
    return emulator


def request_caller() -> str | None:
    """The one place the per-request caller is kept (set by strict auth)."""
    return g.get("caller_id") if has_request_context() else None


def current(app: Flask | None = None) -> Emulator:
    """The running emulator: of `app`, or of the app serving the current request."""
    return (app or current_app).extensions[EXTENSION]
