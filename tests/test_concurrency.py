"""Parallel writers through a live multi-threaded server lose nothing: every create lands, every row version is
distinct, and concurrent updates of one row with If-Match let exactly one writer win per version."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from emulator.app import create_app

from .conftest import API, AUTH, BACKENDS, LiveServer, drop_database, make_emulator

THREADS = 8
PER_THREAD = 500


@pytest.fixture(params=BACKENDS)
def server(request, tmp_path):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=10, backend=request.param)
    live = LiveServer(create_app(emulator))
    yield emulator, live
    live.stop()
    drop_database(emulator)


def test_parallel_creates_lose_nothing(server):
    emulator, live = server
    before = emulator.db.count("msdyn_ocliveworkitem")
    failures: list[str] = []
    start = threading.Barrier(THREADS)

    def writer(n: int) -> int:
        created = 0
        with requests.Session() as session:
            session.headers.update(AUTH)
            start.wait()
            for i in range(PER_THREAD):
                response = session.post(f"{live.url}{API}/msdyn_ocliveworkitems",
                                        json={"subject": f"writer {n} #{i}", "statecode": 0, "statuscode": 2},
                                        timeout=30)
                if response.status_code != 204 or "OData-EntityId" not in response.headers:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                else:
                    created += 1
        return created

    with ThreadPoolExecutor(THREADS) as pool:
        created = sum(pool.map(writer, range(THREADS)))
    assert failures == []
    assert created == THREADS * PER_THREAD
    assert emulator.db.count("msdyn_ocliveworkitem") == before + THREADS * PER_THREAD
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    with emulator.db.engine.connect() as conn:
        versions = conn.execute(sa.select(table.c.versionnumber).where(table.c.subject.like("writer %"))).scalars()
        versions = list(versions)
    assert len(set(versions)) == THREADS * PER_THREAD  # one distinct row version per write


def test_concurrent_if_match_updates_let_one_writer_win(server):
    emulator, live = server
    url = f"{live.url}{API}/msdyn_ocliveworkitems"
    key = requests.get(f"{url}?$select=subject&$top=1", headers=AUTH, timeout=10).json()["value"][0]["activityid"]
    etag = requests.get(f"{url}({key})?$select=subject", headers=AUTH, timeout=10).json()["@odata.etag"]
    start = threading.Barrier(THREADS)

    def attempt(n: int) -> int:
        start.wait()
        return requests.patch(f"{url}({key})", json={"msdyn_title": f"winner {n}"},
                              headers={**AUTH, "If-Match": etag}, timeout=30).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = sorted(pool.map(attempt, range(THREADS)))
    assert statuses == [204] + [412] * (THREADS - 1)
