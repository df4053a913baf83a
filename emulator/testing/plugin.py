"""pytest plugin for users' own suites (entry point `pytest11`): a live emulator per session (per xdist worker),
reset to its scenario before each test; the in-process Flask app; a conversation factory; scenario selection by
marker (`@pytest.mark.dataverse_scenario("minimal")`), command-line option or ini setting."""
from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..clock import format_instant

if TYPE_CHECKING:
    from ..settings import Settings

API_PREFIX = "/api/data/v9.2"
TOKEN = "pytest-dataverse-emulator"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("dataverse-emulator")
    group.addoption("--dataverse-scenario", default=None, metavar="NAME|FILE",
                    help="Scenario the dataverse_emulator fixture starts with (default: ini dataverse_scenario).")
    parser.addini("dataverse_scenario", "Scenario for the dataverse_emulator fixture (name or JSON file).",
                  default="default")
    parser.addini("dataverse_now", "Freeze the emulator clock at this UTC instant (ISO 8601); empty: real time.",
                  default="")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "dataverse_scenario(name): the scenario (seed_data name or JSON file) the "
                                       "dataverse_emulator fixture resets to for this test")


class ControlError(AssertionError):
    """A control-plane call failed; the message carries the emulator's answer."""


class _Control:
    """Calls the control plane over HTTP with the standard library (the plugin needs no HTTP client)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> Any:
        url = f"{self.url}/_emulator{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                text = response.read()
        except urllib.error.HTTPError as e:
            raise ControlError(f"{method} {path} -> {e.code}: {e.read().decode(errors='replace')}") from None
        return json.loads(text) if text else None


class Clock:
    """The emulator clock through /_emulator/clock."""

    def __init__(self, control: _Control) -> None:
        self._control = control

    def get(self) -> dict:
        return self._control.call("GET", "/clock")

    def set(self, now: datetime | str, frozen: bool = True) -> dict:
        text = now if isinstance(now, str) else format_instant(now, "auto")
        return self._control.call("PUT", "/clock", {"now": text, "frozen": frozen})

    def advance(self, seconds: float = 0, **delta: float) -> dict:
        total = seconds + timedelta(**delta).total_seconds()
        return self._control.call("POST", "/clock/advance", {"seconds": total})


class Requests:
    """The request journal: `requests()` or `requests.list(method=..., path=..., status=..., correlation_id=...)`."""

    def __init__(self, control: _Control) -> None:
        self._control = control

    def list(self, method: str | None = None, path: str | None = None, status: int | None = None,
             correlation_id: str | None = None, caller: str | None = None) -> list[dict]:
        return self._control.call("GET", "/requests", query={
            "method": method, "path": path, "status": status, "correlation_id": correlation_id,
            "caller": caller})["value"]

    __call__ = list

    def clear(self) -> None:
        self._control.call("DELETE", "/requests")


class Faults:
    """Fault rules: `faults.add(kind="error", entity_set="msdyn_ocliveworkitems", status=503)`."""

    def __init__(self, control: _Control) -> None:
        self._control = control

    def add(self, kind: str, **rule: Any) -> dict:
        return self._control.call("POST", "/faults", {"kind": kind, **rule})["value"][0]

    def list(self) -> list[dict]:
        return self._control.call("GET", "/faults")["value"]

    def clear(self) -> None:
        self._control.call("DELETE", "/faults")


class EmulatorServer:
    """One emulator per session (per xdist worker): its own SQLite file, a werkzeug server on a free port."""

    def __init__(self, settings: Settings) -> None:
        from werkzeug.serving import make_server

        from ..app import create_app
        from ..server import prepare

        assert settings.scenario, "the plugin's emulator starts from a scenario"
        self.emulator = prepare(settings)
        self.requested: str | None = settings.scenario  # the scenario the baseline holds (None: one a test seeded)
        self.app = create_app(self.emulator)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.control = _Control(self.url)
        self.cached: dict[str, str] = {}  # requested scenario -> snapshot name holding it
        self.prepared_for: str | None = None
        self.thread = threading.Thread(target=self.server.serve_forever, name="dataverse-emulator", daemon=True)
        self.thread.start()
        self._cache(settings.scenario)

    def _snapshot_name(self, scenario: str) -> str:
        return f"pytest.{uuid.uuid5(uuid.NAMESPACE_URL, scenario).hex[:16]}"

    def _cache(self, scenario: str) -> None:
        name = self._snapshot_name(scenario)
        self.control.call("POST", "/snapshots", {"name": name})
        self.cached[scenario] = name

    def prepare(self, nodeid: str, scenario: str) -> None:
        """Before a test: data, clock, faults, journal and limits back to `scenario`'s start (once per test)."""
        if self.prepared_for == nodeid:
            return
        if scenario == self.requested:
            self.control.call("POST", "/reset")
        elif scenario in self.cached:
            self.control.call("POST", f"/snapshots/{self.cached[scenario]}/restore", {"baseline": True})
            self.control.call("POST", "/reset")  # clock, faults, journal, limits
        else:
            self.control.call("POST", "/reset")
            self.control.call("POST", "/seed", {"scenario": scenario})
            self._cache(scenario)
        self.requested = scenario
        self.prepared_for = nodeid

    def stop(self) -> None:
        self.server.shutdown()
        self.emulator.db.dispose()


class DataverseEmulator:
    """What a test gets from `dataverse_emulator`: the live server's URLs and its control plane."""

    def __init__(self, server: EmulatorServer) -> None:
        self._server = server
        self.url = server.url
        self.api_url = server.url + API_PREFIX
        self.token = TOKEN
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
                        "OData-Version": "4.0", "OData-MaxVersion": "4.0"}
        self.clock = Clock(server.control)
        self.requests = Requests(server.control)
        self.faults = Faults(server.control)
        self.emulator = server.emulator  # in-process state (database, clock) for white-box checks

    def reset(self) -> dict:
        return self._server.control.call("POST", "/reset")

    def seed(self, scenario: str | dict | None = None, **generator: int) -> dict:
        """Replace the data with a scenario (name, file or object) or generated data; it becomes the test's
        reset baseline. The next test starts from its own scenario again."""
        body = {"scenario": scenario} if scenario is not None else generator
        result = self._server.control.call("POST", "/seed", body)
        self._server.requested = None  # the next test restores its own scenario
        return result

    def snapshot(self, name: str) -> dict:
        return self._server.control.call("POST", "/snapshots", {"name": name})

    def restore(self, name: str) -> dict:
        return self._server.control.call("POST", f"/snapshots/{name}/restore")

    def service_protection(self, enabled: bool = True, **limits: float) -> dict:
        """Turn Dataverse's service protection limits on (with smaller limits for tests) or off."""
        return self._server.control.call("PUT", "/service-protection", {"enabled": enabled, **limits})

    def health(self) -> dict:
        return self._server.control.call("GET", "/health")


class AppClient:
    """The Flask test client with the bearer header and the API prefix filled in."""

    def __init__(self, app) -> None:
        self.app = app
        self.http = app.test_client()

    def open(self, method: str, path: str, headers: dict | None = None, **kwargs):
        url = path if path.startswith("/") else f"{API_PREFIX}/{path}"
        return self.http.open(url, method=method, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})},
                              **kwargs)

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.open("DELETE", path, **kwargs)


@dataclass
class DataverseApp:
    app: Any
    client: AppClient
    emulator: Any


@dataclass
class FactoryConversation:
    """Ids of what `conversation_factory` created, plus the conversation row as stored."""

    id: str
    agent_id: str | None
    workstream_id: str | None
    queue_id: str | None
    customer_id: str | None
    session_id: str | None
    row: dict = field(repr=False, default_factory=dict)


class ConversationFactory:
    """`conversation_factory(status="Waiting", title=..., created="-2h", agent=..., ...)` creates a coherent
    conversation: an agent (unless Open or agent=False), the test's work stream, queue and customer, and one agent
    session. `agent`, `workstream`, `queue` and `customer` take a GUID of an existing row or a dict of fields."""

    _counter = itertools.count(1)

    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self.shared: dict[str, str] = {}  # section -> GUID of the row created for this test

    def _related(self, section: str, value, default: dict, data: dict) -> str | None:
        if value is False:
            return None
        if isinstance(value, str):
            return value.lower()
        if value is None and section in self.shared:
            return self.shared[section]
        guid = str(uuid.uuid4())
        data.setdefault(section, []).append({**default, **(value or {}), "id": guid, "key": guid})
        if value is None:
            self.shared[section] = guid
        return guid

    def __call__(self, status: str | int = "Active", *, agent=None, workstream=None, queue=None, customer=None,
                 **fields: Any) -> FactoryConversation:
        from ..store import scenario as scenarios

        n = next(self._counter)
        data: dict = {"name": "conversation_factory"}
        open_ = status in ("Open", 1, "open")
        if agent is None and not open_:
            agent = {"fullname": f"Factory Agent {n}"}
        agent_id = self._related("agents", agent, {"fullname": f"Factory Agent {n}"}, data) if agent else None
        stream_id = self._related("workstreams", workstream, {"name": "Factory work stream"}, data)
        queue_id = self._related("queues", queue, {"name": "Factory queue"}, data)
        customer_id = self._related("customers", customer, {"type": "contact", "name": f"Factory Customer {n}"},
                                    data)
        conversation_id = str(uuid.uuid4())
        data["conversations"] = [{"key": conversation_id, "id": conversation_id, "status": status,
                                  "title": fields.pop("title", f"Factory conversation {n}"),
                                  "created": fields.pop("created", "-10m"), "agent": agent_id,
                                  "workstream": stream_id, "queue": queue_id, "customer": customer_id, **fields}]
        db = self.emulator.db
        scenarios.load(db, scenarios.from_dict(data, "conversation_factory"), now=self.emulator.clock.now(),
                       append=True)
        table = db.tables["msdyn_ocliveworkitem"]
        with db.engine.connect() as conn:
            row = dict(conn.execute(table.select().where(table.c.activityid == conversation_id)).mappings().one())
        return FactoryConversation(conversation_id, agent_id, stream_id, queue_id, customer_id,
                                   row.get("msdyn_lastsessionid"), row)


def _scenario(request) -> str:
    marker = request.node.get_closest_marker("dataverse_scenario")
    if marker is not None:
        if not marker.args or not isinstance(marker.args[0], str):
            raise pytest.UsageError("use @pytest.mark.dataverse_scenario(\"<name or file>\")")
        return marker.args[0]
    return _default_scenario(request.config)


def _default_scenario(config) -> str:
    return config.getoption("--dataverse-scenario") or config.getini("dataverse_scenario") or "default"


def emulator_settings(config: pytest.Config, directory: Path) -> Settings:
    """The emulator's Settings from the pytest options and ini settings, with a SQLite file in `directory`."""
    from ..settings import Settings

    return Settings(database_url=f"sqlite:///{directory / 'emulator.db'}", auth="bearer",
                    now=config.getini("dataverse_now") or None, scenario=_default_scenario(config))


@pytest.fixture(scope="session")
def dataverse_emulator_server(request, tmp_path_factory) -> Iterator[EmulatorServer]:
    """The session's emulator (one per xdist worker, each with its own database file)."""
    server = EmulatorServer(emulator_settings(request.config, tmp_path_factory.mktemp("dataverse-emulator")))
    yield server
    server.stop()


@pytest.fixture
def dataverse_emulator(request, dataverse_emulator_server) -> DataverseEmulator:
    """A live emulator on a free port, reset to the test's scenario (data, clock, faults, journal, limits)."""
    dataverse_emulator_server.prepare(request.node.nodeid, _scenario(request))
    return DataverseEmulator(dataverse_emulator_server)


@pytest.fixture
def dataverse_app(request, dataverse_emulator_server) -> DataverseApp:
    """The same emulator's Flask app and test client, in-process (no sockets), reset like dataverse_emulator."""
    dataverse_emulator_server.prepare(request.node.nodeid, _scenario(request))
    server = dataverse_emulator_server
    return DataverseApp(server.app, AppClient(server.app), server.emulator)


@pytest.fixture
def conversation_factory(request, dataverse_emulator_server) -> ConversationFactory:
    """Creates coherent conversations in the test's emulator (undone by the next test's reset)."""
    dataverse_emulator_server.prepare(request.node.nodeid, _scenario(request))
    return ConversationFactory(dataverse_emulator_server.emulator)
