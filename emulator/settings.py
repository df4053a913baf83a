"""The emulator's one configuration object, built from command-line flags, environment variables or pytest
options (the CLI, the pytest plugin and the tests make it the same way), and read in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

DEFAULT_DATABASE = ".emulator/emulator.db"
API_VERSIONS = ("v9.0", "v9.1", "v9.2")
MAX_PAGE_SIZE = 5000
AUTH_MODES = ("bearer", "none", "strict")
DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000e41a"  # the emulator's own tenant id in strict auth
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# when server.prepare loads data: into an empty database and otherwise serve what is there (serve); into an empty
# database and otherwise refuse (seed, import); in place of every row (seed --reset); never (schema only)
Load = Literal["if-empty", "refuse", "replace", "never"]
LOAD_MODES: tuple[Load, ...] = get_args(Load)


def default_database_url() -> str:
    url = os.environ.get("EMULATOR_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(DEFAULT_DATABASE).resolve()}"


def _env_int(name: str, default: int):
    def read() -> int:
        value = os.environ.get(name)
        return int(value) if value else default
    return field(default_factory=read)


def _env(name: str, default: str | None = None, secret: bool = False):
    return field(default_factory=lambda: os.environ.get(name) or default, repr=not secret)


@dataclass
class Settings:
    database_url: str = field(default_factory=default_database_url)
    auth: str = field(default_factory=lambda: os.environ.get("EMULATOR_AUTH", "bearer"))
    now: str | None = field(default_factory=lambda: os.environ.get("EMULATOR_NOW") or None)
    host: str = "127.0.0.1"  # the interface the server binds; the control plane is guarded off loopback
    # the data server.prepare loads: a scenario (seed_data name or JSON file), else the generated data set
    load: Load = "if-empty"
    scenario: str | None = None
    seed: int = 42
    conversations: int = 500
    agents: int = 12
    # an org's schema imported beside the shipped tables (docs/metadata.md): a $metadata file or a directory, and
    # its EntityDefinitions export
    metadata: str | None = None
    metadata_details: str | None = None
    # the control plane: the reset baseline saved at start, service protection limits on at start (and after a reset)
    baseline: bool = True
    service_protection: bool = False
    # processes serving this app (`serve --workers N`); above 1 the control plane keeps its state in the database
    workers: int = 1
    # limits (emulator/webapi/limits.py)
    max_url_length: int = _env_int("EMULATOR_MAX_URL_LENGTH", 32768)  # Dataverse: 32 KB
    max_body_bytes: int = _env_int("EMULATOR_MAX_BODY_BYTES", 16 * 1024 * 1024)
    max_filter_depth: int = _env_int("EMULATOR_MAX_FILTER_DEPTH", 32)
    max_filter_conditions: int = _env_int("EMULATOR_MAX_FILTER_CONDITIONS", 500)
    max_select_columns: int = _env_int("EMULATOR_MAX_SELECT_COLUMNS", 250)
    query_timeout_ms: int = _env_int("EMULATOR_QUERY_TIMEOUT_MS", 10000)  # 0: no limit
    # strict auth (emulator/webapi/tokens.py) and the control plane's admin key; secrets are never logged
    auth_clients: str | None = _env("EMULATOR_AUTH_CLIENTS", secret=True)  # JSON text, or the path of a JSON file
    tenant_id: str = _env("EMULATOR_TENANT_ID", DEFAULT_TENANT)
    token_lifetime: int = _env_int("EMULATOR_TOKEN_LIFETIME", 3600)
    admin_key: str | None = _env("EMULATOR_ADMIN_KEY", secret=True)

    @property
    def on_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.load not in LOAD_MODES:
            raise ValueError(f"load must be one of {', '.join(LOAD_MODES)}, not {self.load!r}")
