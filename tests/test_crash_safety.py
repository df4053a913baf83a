"""Crash safety: the server runs as a real process on a SQLite file under a write load from several threads, is
killed with SIGKILL mid-load, and restarted. The file must pass PRAGMA integrity_check, and every write that was
acknowledged (a 2xx received) must be there: created rows exist, updates hold, deleted rows are gone."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import requests

from .conftest import API, start_server_process

CONV = "msdyn_ocliveworkitems"
THREADS = 8




class Ledger:
    """What the server acknowledged, per row: created, the subject it holds, deleted. An update or delete whose
    answer never came may or may not have happened, so its value is allowed too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created: set[str] = set()
        self.subject: dict[str, str] = {}
        self.maybe_subject: dict[str, set[str]] = {}
        self.deleted: set[str] = set()
        self.maybe_deleted: set[str] = set()
        self.acks = 0
        self.updates = 0


def writer(url: str, ledger: Ledger, number: int, stop: threading.Event) -> None:
    session = requests.Session()
    mine: list[str] = []
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if mine and i % 5 == 0:  # delete one of this thread's rows
                key = mine.pop(0)
                ledger.maybe_deleted.add(key)
                response = session.delete(f"{url}{API}/{CONV}({key})", timeout=10)
                if response.status_code == 204:
                    with ledger.lock:
                        ledger.deleted.add(key)
                        ledger.acks += 1
            elif mine and i % 3 == 0:  # update one
                key = mine[i % len(mine)]
                subject = f"updated {number}-{i}"
                ledger.maybe_subject.setdefault(key, set()).add(subject)
                response = session.patch(f"{url}{API}/{CONV}({key})", json={"subject": subject}, timeout=10)
                if response.status_code == 204:
                    with ledger.lock:
                        ledger.subject[key] = subject
                        ledger.acks += 1
                        ledger.updates += 1
            else:  # create, with a client-chosen key so an unanswered create is still known
                key = str(uuid.uuid4())
                subject = f"created {number}-{i}"
                ledger.maybe_subject.setdefault(key, set()).add(subject)
                response = session.post(f"{url}{API}/{CONV}", json={"activityid": key, "subject": subject},
                                        timeout=10)
                if response.status_code == 204:
                    mine.append(key)
                    with ledger.lock:
                        ledger.created.add(key)
                        ledger.subject[key] = subject
                        ledger.acks += 1
        except requests.RequestException:
            return  # the server is gone


def test_acknowledged_writes_survive_sigkill(tmp_path):
    path = tmp_path / "crash.db"
    database = f"sqlite:///{path}"
    log = open(tmp_path / "server.log", "wb")
    subprocess.run([sys.executable, "-m", "emulator.cli", "seed", "--database", database, "--conversations", "30",
                    "--agents", "3", "--now", "2026-01-15T12:00:00Z"], check=True, capture_output=True)
    process, url = start_server_process(database, log)
    ledger, stop = Ledger(), threading.Event()
    threads = [threading.Thread(target=writer, args=(url, ledger, n, stop), daemon=True) for n in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while ledger.acks < 400 and time.monotonic() < deadline:  # mid-load: writes are in flight right now
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
    for thread in threads:
        thread.join(timeout=15)
    assert process.returncode == -signal.SIGKILL
    assert ledger.acks >= 400, f"only {ledger.acks} writes were acknowledged before the kill"
    assert ledger.deleted and ledger.updates, "the load mixes creates, updates and deletes"

    with sqlite3.connect(path) as conn:  # opening the file replays the WAL, as a restart does
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = dict(conn.execute("SELECT activityid, subject FROM msdyn_ocliveworkitem").fetchall())
    conn.close()

    lost = sorted(k for k in ledger.created - ledger.maybe_deleted if k not in rows)
    assert not lost, f"{len(lost)} acknowledged creates are missing, e.g. {lost[:3]}"
    resurrected = sorted(k for k in ledger.deleted if k in rows)
    assert not resurrected, f"{len(resurrected)} acknowledged deletes came back"
    stale = sorted(k for k, subject in ledger.subject.items()
                   if k in rows and rows[k] != subject and rows[k] not in ledger.maybe_subject[k])
    assert not stale, f"{len(stale)} rows lost an acknowledged update, e.g. {stale[:3]}"

    process, url = start_server_process(database, log)  # the server comes back on the same file and serves every row
    try:
        session = requests.Session()
        survivors = sorted(ledger.created - ledger.maybe_deleted)
        assert survivors
        for key in survivors[:100]:
            response = session.get(f"{url}{API}/{CONV}({key})?$select=subject", timeout=10)
            assert response.status_code == 200, response.text
            assert response.json()["subject"] == rows[key]
        for key in sorted(ledger.deleted)[:50]:
            assert session.get(f"{url}{API}/{CONV}({key})", timeout=10).status_code == 404
        response = session.post(f"{url}{API}/{CONV}", json={"subject": "after the crash"}, timeout=10)
        assert response.status_code == 204
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
