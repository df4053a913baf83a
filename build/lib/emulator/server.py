"""The running emulator's state, shared by the Web API and the control plane: database, clock, settings."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from .clock import Clock, parse_instant
from .settings import Settings
from .store.database import Database
from .store.seed import ADMIN_USER_ID


@dataclass
class Emulator:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=Clock)
    caller_id: str = ADMIN_USER_ID  # the systemuser requests act as (WhoAmI)
    scenario: str | None = "default"  # the scenario the data came from (the control plane's reset baseline)
    service_protection: bool = False  # service protection limits on at start (and after a reset)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Emulator":
        clock = Clock(parse_instant(settings.now)) if settings.now else Clock()
        db = Database(settings.database_url)
        db.create_schema()
        return cls(settings, db, clock)


def current() -> Emulator:
    return current_app.extensions["emulator"]
