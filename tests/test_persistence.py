"""Persistence: a file database keeps all its data (and snapshots) across two server processes in a row."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from .conftest import API, AUTH

CLI = [sys.executable, "-c", "from emulator.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`dataverse-emulator serve` in a child process, stopped with SIGTERM like a developer's Ctrl+C."""

    def __init__(self, database: str, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([*CLI, "serve", "--port", str(self.port), "--database", database, *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        cwd=Path(__file__).resolve().parents[1])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stdout.read()}")
            try:
                if requests.get(f"{self.url}/_emulator/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_C_EVENT)
        output, _ = self.process.communicate(timeout=30)
        return output


def conversations(url):
    response = requests.get(f"{url}{API}/msdyn_ocliveworkitems?$select=msdyn_title,statuscode,modifiedon"
                            "&$orderby=activityid", headers=AUTH, timeout=10)
    assert response.status_code == 200
    return response.json()["value"]


def test_data_and_snapshots_survive_a_restart(tmp_path):
    database = f"sqlite:///{tmp_path / 'kept.db'}"
    first = ServerProcess(database, "--scenario", "minimal", "--now", "2026-01-15T12:00:00Z")
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

    second = ServerProcess(database, "--scenario", "default")  # the file has data: it is served, not replaced
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
