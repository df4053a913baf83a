"""The running emulator's state, shared by the Web API and the control plane: database, clock, settings."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, g, has_request_context

from .clock import Clock, parse_instant
from .settings import Settings
from .store.database import Database
from .store.seed import ADMIN_USER_ID


@dataclass
class Emulator:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=Clock)
    default_caller_id: str = ADMIN_USER_ID  # the systemuser requests act as (WhoAmI) unless auth says otherwise
    scenario: str | None = "default"  # the scenario the data came from (the control plane's reset baseline)
    service_protection: bool = False  # service protection limits on at start (and after a reset)
    baseline: bool = True  # snapshot the data at start so POST /_emulator/reset can return to it

    @property
    def caller_id(self) -> str:
        """The systemuser of the current request: the one its token maps to (--auth strict), else the default."""
        return request_caller() or self.default_caller_id

    @caller_id.setter
    def caller_id(self, value: str) -> None:
        self.default_caller_id = value

    @classmethod
    def from_settings(cls, settings: Settings) -> "Emulator":
        clock = Clock(parse_instant(settings.now)) if settings.now else Clock()
        db = Database(settings.database_url)
        db.create_schema()
        return cls(settings, db, clock)


def request_caller() -> str | None:
    """The one place the per-request caller is kept (set by strict auth)."""
    return g.get("caller_id") if has_request_context() else None


def current() -> Emulator:
    return current_app.extensions["emulator"]
