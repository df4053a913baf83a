"""server.prepare, the one way to start an emulator from Settings (CLI, pytest plugin, tests), and the app factory
around it: what data each load mode leaves, on SQLite and PostgreSQL."""
import pytest

from emulator import control, server
from emulator.app import create_app
from emulator.server import prepare
from emulator.settings import Settings
from emulator.store.scenario import ScenarioError

from .conftest import BACKENDS, NOW, database_url, drop_database


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path) -> str:
    return database_url(tmp_path / "prepare.db", request.param)


def start(url: str, **settings) -> server.Emulator:
    return prepare(Settings(database_url=url, now=NOW.isoformat(), **settings))


def test_if_empty_loads_then_keeps_what_is_there(url):
    first = start(url, conversations=7, agents=2)
    assert first.loaded.conversations == 7 and first.scenario == "default"
    first.db.dispose()
    notes: list[str] = []
    second = prepare(Settings(database_url=url, now=NOW.isoformat(), scenario="minimal"), note=notes.append)
    try:
        assert second.loaded is None and second.scenario is None
        assert second.db.count("msdyn_ocliveworkitem") == 7
        assert len(notes) == 1 and "scenario minimal not loaded" in notes[0]
    finally:
        drop_database(second)


def test_a_scenario_names_the_data(url):
    emulator = start(url, scenario="minimal")
    try:
        assert emulator.scenario == emulator.loaded.name == "minimal"
        assert emulator.db.count("msdyn_ocliveworkitem") == emulator.loaded.counts["msdyn_ocliveworkitem"]
    finally:
        drop_database(emulator)


def test_refuse_replace_and_never(url):
    start(url, conversations=3).db.dispose()
    with pytest.raises(ValueError, match="--reset"):
        start(url, load="refuse")
    replaced = start(url, load="replace", conversations=5)
    assert replaced.db.count("msdyn_ocliveworkitem") == 5
    replaced.db.dispose()
    kept = start(url, load="never")
    try:
        assert kept.loaded is None and kept.db.count("msdyn_ocliveworkitem") == 5
    finally:
        drop_database(kept)


def test_schema_only(url):
    emulator = start(url, load="never")
    try:
        assert not any(emulator.db.counts().values())
    finally:
        drop_database(emulator)


def test_an_unknown_scenario_is_an_error(tmp_path):
    with pytest.raises(ScenarioError, match="unknown scenario"):
        start(f"sqlite:///{tmp_path / 'e.db'}", scenario="no-such-scenario")


def test_an_unknown_load_mode_is_refused():
    with pytest.raises(ValueError, match="load must be one of"):
        Settings(load="sometimes")


def test_the_app_serves_the_prepared_emulator(tmp_path):
    emulator = start(f"sqlite:///{tmp_path / 'e.db'}", scenario="minimal", baseline=False)
    try:
        app = create_app(emulator)
        assert server.current(app) is emulator
        assert set(app.blueprints) >= {"webapi", "control", "pages"}
        assert control.state(app).baseline_ms is None  # baseline=False: no snapshot at start
        with app.test_request_context("/"):
            assert server.current() is emulator
    finally:
        emulator.db.dispose()
