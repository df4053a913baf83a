"""Settings from command-line flags and environment variables, read in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE = ".emulator/emulator.db"
API_PREFIX = "/api/data/v9.2"
API_VERSIONS = ("v9.0", "v9.1", "v9.2")
MAX_PAGE_SIZE = 5000
AUTH_MODES = ("bearer", "none")


def default_database_url() -> str:
    url = os.environ.get("EMULATOR_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(DEFAULT_DATABASE).resolve()}"


@dataclass
class Settings:
    database_url: str = field(default_factory=default_database_url)
    auth: str = field(default_factory=lambda: os.environ.get("EMULATOR_AUTH", "bearer"))
    now: str | None = field(default_factory=lambda: os.environ.get("EMULATOR_NOW") or None)
    seed: int = 42
    conversations: int = 500
    agents: int = 12

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
