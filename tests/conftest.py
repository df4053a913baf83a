"""Shared fixtures: a seeded emulator on a real SQLite file with a fixed clock, reached through the Flask test
client (real HTTP handling in-process) or through a live server on a free port."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from werkzeug.serving import make_server

from emulator.server import Emulator
from emulator.settings import Settings
from emulator.store.seed import seed
from emulator.webapi import create_app

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=timezone.utc)
API = "/api/data/v9.2"
AUTH = {"Authorization": "Bearer test-token"}


def make_emulator(path, *, conversations: int = 500, agents: int = 12, seed_value: int = 42,
                  auth: str = "bearer") -> Emulator:
    emulator = Emulator.from_settings(Settings(database_url=f"sqlite:///{path}", auth=auth,
                                               now=NOW.isoformat()))
    if conversations:
        seed(emulator.db, conversations=conversations, agents=agents, seed=seed_value, now=NOW)
    return emulator


class Client:
    """The Flask test client with the bearer header and the API prefix filled in."""

    def __init__(self, app) -> None:
        self.app = app
        self.http = app.test_client()

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs):
        url = path if path.startswith("/") else f"{API}/{path}"
        return self.http.open(url, method=method, headers={**AUTH, **(headers or {})}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def values(self, path: str, **kwargs) -> list[dict]:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["value"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Emulator:
    """The default data set (500 conversations, seed 42) at NOW, shared by a test module (read-only use)."""
    emulator = make_emulator(tmp_path_factory.mktemp("db") / "emulator.db")
    yield emulator
    emulator.db.dispose()


@pytest.fixture(scope="module")
def client(seeded) -> Client:
    return Client(create_app(seeded))


@pytest.fixture
def fresh(tmp_path) -> Emulator:
    """An empty emulator of its own (schema only), for tests that write."""
    emulator = make_emulator(tmp_path / "emulator.db", conversations=0)
    yield emulator
    emulator.db.dispose()


class LiveServer:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def live(seeded) -> LiveServer:
    server = LiveServer(create_app(seeded))
    yield server
    server.stop()


def pytest_addoption(parser):
    """Point the getConversations contract suite (tests/test_contract.py) at a real org instead of the emulator."""
    group = parser.getgroup("contract", "getConversations contract suite against a real org")
    group.addoption("--org-url", default=None, help="org URL, e.g. https://contoso.crm.dynamics.com "
                                                     "(env OMNICHANNEL_ORG_URL)")
    group.addoption("--org-token", default=None, help="bearer token for the org (env OMNICHANNEL_TOKEN)")
    group.addoption("--org-agents", default=None, help="three existing systemuser ids, comma-separated "
                                                        "(env OMNICHANNEL_AGENT_IDS)")
