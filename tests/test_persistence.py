"""Persistence: a file database keeps all its data (and snapshots) across two server processes in a row."""
import requests

from .conftest import API, AUTH, ServerProcess


def conversations(url):
    response = requests.get(f"{url}{API}/msdyn_ocliveworkitems?$select=msdyn_title,statuscode,modifiedon"
                            "&$orderby=activityid", headers=AUTH, timeout=10)
    assert response.status_code == 200
    return response.json()["value"]


def test_data_and_snapshots_survive_a_restart(tmp_path):
    database = f"sqlite:///{tmp_path / 'kept.db'}"
    first = ServerProcess(database, tmp_path / "first.log", "--scenario", "minimal")
    try:
        assert requests.get(f"{first.url}/_emulator/health", timeout=10).json()["scenario"] == "minimal"
        requests.post(f"{first.url}/_emulator/snapshots", json={"name": "minimal-data"}, timeout=10)
        seeded = requests.post(f"{first.url}/_emulator/seed", json={"conversations": 7, "agents": 2, "seed": 5},
                               timeout=60)
        assert seeded.status_code == 201
        before = conversations(first.url)
        counts = requests.get(f"{first.url}/_emulator/health", timeout=10).json()["counts"]
    finally:
        first.stop()
    assert len(before) == 7

    # The file has data: it is served, not replaced.
    second = ServerProcess(database, tmp_path / "second.log", "--scenario", "default")
    try:
        health = requests.get(f"{second.url}/_emulator/health", timeout=10).json()
        assert health["counts"] == counts
        assert conversations(second.url) == before
        snapshots = requests.get(f"{second.url}/_emulator/snapshots", timeout=10).json()["value"]
        assert [s["name"] for s in snapshots] == ["minimal-data"]
        requests.post(f"{second.url}/_emulator/snapshots/minimal-data/restore", timeout=10)
        assert len(conversations(second.url)) == 5
        requests.post(f"{second.url}/_emulator/reset", timeout=10)  # back to what this process started with
        assert conversations(second.url) == before
    finally:
        output = second.stop()
    assert "already holds data" in output
