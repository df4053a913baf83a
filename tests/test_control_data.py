"""Control plane: health, reset, seed and snapshots, over the Flask test client on real SQLite files."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from emulator.app import create_app
from emulator.server import prepare
from emulator.settings import Settings

from .conftest import NOW, Client


@pytest.fixture
def minimal(tmp_path):
    emulator = prepare(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}", now=NOW.isoformat(), scenario="minimal"))
    yield emulator
    emulator.db.dispose()


@pytest.fixture
def api(minimal):
    return Client(create_app(minimal))


def titles(api):
    return sorted(r["msdyn_title"] for r in api.values("msdyn_ocliveworkitems?$select=msdyn_title"))


def rename_all(emulator, title="changed"):
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    with emulator.db.engine.begin() as conn:
        conn.execute(table.update().values(msdyn_title=title))


def test_health_reports_scenario_and_counts(api):
    body = api.get("/_emulator/health").get_json()
    assert body["ready"] is True
    assert body["scenario"] == "minimal"
    assert body["counts"]["msdyn_ocliveworkitem"] == 5
    assert body["now"] == "2026-01-15T12:00:00Z"


def test_reset_undoes_writes_and_copies_only_written_tables(api, minimal):
    before = titles(api)
    assert api.request("POST", "/_emulator/reset").get_json()["tables"] == []  # nothing written yet
    rename_all(minimal)
    table = minimal.db.tables["contact"]
    with minimal.db.engine.begin() as conn:
        conn.execute(table.delete())
    assert titles(api) == ["changed"] * 5
    body = api.request("POST", "/_emulator/reset").get_json()
    assert body["scenario"] == "minimal"
    assert body["tables"] == ["contact", "msdyn_ocliveworkitem"]
    assert titles(api) == before
    assert minimal.db.count("contact") == 2


def test_full_reset_copies_every_table_even_unseen_writes(api, minimal, tmp_path):
    import sqlite3

    with sqlite3.connect(tmp_path / "e.db") as other_process:  # a write the server's engine does not see
        other_process.execute("UPDATE msdyn_ocliveworkitem SET msdyn_title = 'outside'")
    assert api.request("POST", "/_emulator/reset").get_json()["tables"] == []
    assert titles(api) == ["outside"] * 5
    body = api.request("POST", "/_emulator/reset", json={"full": True}).get_json()
    assert body["tables"] == "all"
    assert "outside" not in titles(api)
    assert api.request("POST", "/_emulator/reset", json={"full": "yes"}).status_code == 400


def test_reset_restores_clock_and_clears_faults_journal_and_limits(api, minimal):
    minimal.clock.advance(timedelta(days=2))
    api.request("POST", "/_emulator/faults", json={"kind": "error", "status": 500})
    api.request("PUT", "/_emulator/service-protection", json={"requests": 1})
    api.get("msdyn_ocliveworkitems")
    api.request("POST", "/_emulator/reset")
    assert minimal.clock.now() == NOW
    assert api.get("/_emulator/faults").get_json()["value"] == []
    assert api.get("/_emulator/requests").get_json()["value"] == []
    assert api.get("/_emulator/service-protection").get_json()["enabled"] is False
    assert api.get("msdyn_ocliveworkitems").status_code == 200


def test_seed_by_name_becomes_the_reset_baseline(api, minimal):
    response = api.request("POST", "/_emulator/seed", json={"scenario": "default"})
    assert response.status_code == 201
    assert response.get_json()["counts"]["msdyn_ocliveworkitem"] == 500
    rename_all(minimal)
    api.request("POST", "/_emulator/reset")
    assert minimal.db.count("msdyn_ocliveworkitem") == 500
    assert "changed" not in titles(api)
    assert api.get("/_emulator/health").get_json()["scenario"] == "default"


def test_seed_with_generator_parameters_and_inline_scenario(api, minimal):
    body = api.request("POST", "/_emulator/seed", json={"conversations": 7, "agents": 2, "seed": 3}).get_json()
    assert body["counts"]["msdyn_ocliveworkitem"] == 7
    assert body["counts"]["systemuser"] == 3  # two agents plus the administrator WhoAmI reports
    inline = {"name": "one", "conversations": [{"title": "Only one", "status": "Waiting"}]}
    body = api.request("POST", "/_emulator/seed", json={"scenario": inline}).get_json()
    assert body["scenario"] == "one"
    assert titles(api) == ["Only one"]


@pytest.mark.parametrize("body, words", [
    ({"scenario": "no-such-scenario"}, "unknown scenario 'no-such-scenario'"),
    ({"scenario": {"conversations": [{"status": "Wating"}]}}, "conversations[0].status: 'Wating'"),
    ({"conversations": 5, "scenario": "minimal"}, "not both"),
    ({"size": 5}, "Unknown field 'size'"),
])
def test_seed_errors_are_dataverse_shaped_400s(api, minimal, body, words):
    response = api.request("POST", "/_emulator/seed", json=body)
    assert response.status_code == 400
    assert words in response.get_json()["error"]["message"]
    assert minimal.db.count("msdyn_ocliveworkitem") == 5  # nothing changed


def test_snapshots_save_list_restore_delete(api, minimal):
    created = api.request("POST", "/_emulator/snapshots", json={"name": "before-rename"})
    assert created.status_code == 201
    rename_all(minimal)
    assert [s["name"] for s in api.get("/_emulator/snapshots").get_json()["value"]] == ["before-rename"]
    restored = api.request("POST", "/_emulator/snapshots/before-rename/restore")
    assert restored.status_code == 200
    assert "changed" not in titles(api)
    assert api.request("DELETE", "/_emulator/snapshots/before-rename").status_code == 204
    assert api.get("/_emulator/snapshots").get_json()["value"] == []
    missing = api.request("POST", "/_emulator/snapshots/before-rename/restore")
    assert missing.status_code == 404
    for name in ("a", "b"):
        api.request("POST", "/_emulator/snapshots", json={"name": name})
    assert api.request("DELETE", "/_emulator/snapshots").status_code == 204
    listed = api.get("/_emulator/snapshots").get_json()
    assert listed["value"] == [] and listed["baseline"]["scenario"] == "minimal"  # the baseline stays
    assert api.request("POST", "/_emulator/reset").status_code == 200


def test_restore_as_baseline_changes_what_reset_returns_to(api, minimal):
    rename_all(minimal, "renamed")
    api.request("POST", "/_emulator/snapshots", json={"name": "renamed"})
    api.request("POST", "/_emulator/reset")
    assert "renamed" not in titles(api)
    api.request("POST", "/_emulator/snapshots/renamed/restore", json={"baseline": True})
    rename_all(minimal, "again")
    api.request("POST", "/_emulator/reset")
    assert titles(api) == ["renamed"] * 5


@pytest.mark.parametrize("name", ["", "a b", "@baseline", "x" * 65])
def test_snapshot_names_are_checked(api, name):
    response = api.request("POST", "/_emulator/snapshots", json={"name": name})
    assert response.status_code == 400
    assert "snapshot name" in response.get_json()["error"]["message"]


def test_snapshots_live_in_the_database_file(api, minimal, tmp_path):
    api.request("POST", "/_emulator/snapshots", json={"name": "kept"})
    other = prepare(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}", now=NOW.isoformat(), load="never"))
    names = [s["name"] for s in Client(create_app(other)).get("/_emulator/snapshots").get_json()["value"]]
    other.db.dispose()
    assert names == ["kept"]


def test_control_plane_is_not_under_the_web_api(api):
    response = api.get("/api/data/v9.2/_emulator/health")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "0x8006088a"


def test_reset_of_1000_conversations_restores_every_row(tmp_path):
    from .conftest import make_emulator

    emulator = make_emulator(tmp_path / "big.db", conversations=1000)
    api = Client(create_app(emulator))
    table = emulator.db.tables["msdyn_ocsession"]
    with emulator.db.engine.begin() as conn:
        expected = conn.execute(sa.select(table).order_by(table.c.activityid)).all()
        conn.execute(table.delete().where(table.c.statecode == 1))
    api.request("POST", "/_emulator/reset")
    with emulator.db.engine.connect() as conn:
        assert conn.execute(sa.select(table).order_by(table.c.activityid)).all() == expected
    emulator.db.dispose()


def test_writes_through_another_engine_on_the_same_database_are_restored(api, minimal):
    table = minimal.db.tables["msdyn_ocliveworkitem"]
    with minimal.db.transaction() as conn:  # the writer's own engine (BEGIN IMMEDIATE), not db.engine
        conn.execute(table.update().values(msdyn_title="elsewhere"))
    assert api.request("POST", "/_emulator/reset").get_json()["tables"] == ["msdyn_ocliveworkitem"]
    assert "elsewhere" not in titles(api)


def test_without_a_baseline_reset_is_a_409_until_a_seed(minimal):
    minimal.settings.baseline = False
    api = Client(create_app(minimal))
    response = api.request("POST", "/_emulator/reset")
    assert response.status_code == 409
    assert "--no-baseline" in response.get_json()["error"]["message"]
    assert api.get("/_emulator/snapshots").get_json()["baseline"] is None
    api.request("POST", "/_emulator/seed", json={"scenario": "minimal"})
    assert api.request("POST", "/_emulator/reset").status_code == 200
