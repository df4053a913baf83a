"""`serve --workers 2`: one control plane for both worker processes. Faults, the clock, the journal, service
protection and reset's written tables are shared through the database, so a test suite sees one emulator whichever
worker answers. Every test proves from the journal (its `worker` field, checked against the server's child
processes) that both workers served the requests it judges."""
import random
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from .conftest import API, AUTH, BACKENDS, PG_URL, ServerProcess, database_url

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX systems only")
SET = f"{API}/msdyn_ocliveworkitems"
BURST = 40  # requests per check: both workers take some of them (asserted, never assumed)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp("workers-control")
    url = database_url(directory / "e.db", request.param)
    process = ServerProcess(url, directory / "server.log", "--workers", "2", "--scenario", "minimal")
    yield process
    output = process.stop()
    if request.param == "postgresql":
        schema = sa.engine.make_url(url).query["options"].split("=", 1)[1].split(",")[0]
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))  # generated name
        engine.dispose()
    assert "Traceback" not in output, output


@pytest.fixture
def url(server):
    response = requests.post(f"{server.url}/_emulator/reset", timeout=30)
    assert response.status_code == 200, response.text
    return server.url


def children(server) -> set[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True)
    return {int(pid) for pid in listed.stdout.split()}


def journal(url: str, **filters) -> list[dict]:
    response = requests.get(f"{url}/_emulator/requests", params=filters, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def assert_both_workers(server, entries: list[dict]) -> None:
    workers = {entry["worker"] for entry in entries}
    assert len(workers) == 2, f"one worker answered all {len(entries)} requests: {workers}"
    assert workers <= children(server)


def burst(url: str, method: str = "GET", path: str = f"{SET}?$select=subject&$top=1", count: int = BURST,
          parallel: int = 4, **kwargs) -> list[requests.Response]:
    """`count` requests, `parallel` at a time (so a busy worker leaves some to the other)."""
    def send(_):
        return requests.request(method, f"{url}{path}", headers=AUTH, timeout=30, **kwargs)

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(send, range(count)))


def test_the_journal_lists_every_request_of_both_workers_in_order(server, url):
    ids = [str(uuid.uuid4()) for _ in range(BURST)]
    with requests.Session() as session:
        for correlation in ids:
            response = session.get(f"{url}{SET}?$select=subject&$top=1", timeout=10,
                                   headers={**AUTH, "x-ms-correlation-id": correlation})
            assert response.status_code == 200
    entries = journal(url)
    assert [e["correlation_id"] for e in entries] == ids
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    assert_both_workers(server, entries)
    assert requests.delete(f"{url}/_emulator/requests", timeout=10).status_code == 204
    assert journal(url) == []


def test_a_fault_rule_fires_on_both_workers(server, url):
    response = requests.post(f"{url}/_emulator/faults", json={"kind": "error", "status": 503,
                                                               "entity_set": "msdyn_ocliveworkitems"}, timeout=10)
    assert response.status_code == 201
    answers = burst(url)
    assert {r.status_code for r in answers} == {503}
    assert {r.headers["Retry-After"] for r in answers} == {"1"}  # the default for a 503
    entries = journal(url)
    assert len(entries) == BURST and {e["status"] for e in entries} == {503}
    assert_both_workers(server, entries)
    [rule] = requests.get(f"{url}/_emulator/faults", timeout=10).json()["value"]
    assert (rule["matched"], rule["fired"]) == (BURST, BURST)
    assert requests.delete(f"{url}/_emulator/faults", timeout=10).status_code == 204
    assert {r.status_code for r in burst(url, count=8)} == {200}


def test_times_counts_down_across_workers(server, url):
    requests.post(f"{url}/_emulator/faults", json={"kind": "error", "status": 429, "retry_after": 2, "times": 7},
                  timeout=10)
    answers = burst(url, parallel=6)
    statuses = [r.status_code for r in answers]
    assert statuses.count(429) == 7 and statuses.count(200) == BURST - 7
    assert {r.headers.get("Retry-After") for r in answers if r.status_code == 429} == {"2"}
    assert_both_workers(server, journal(url))
    [rule] = requests.get(f"{url}/_emulator/faults", timeout=10).json()["value"]
    assert (rule["matched"], rule["fired"], rule["remaining"]) == (BURST, 7, 0)


def test_drop_and_latency_faults_through_workers(server, url):
    requests.post(f"{url}/_emulator/faults", json={"kind": "drop", "times": 3, "entity_set": "msdyn_ocliveworkitems"},
                  timeout=10)
    outcomes = []
    for _ in range(12):
        try:
            outcomes.append(requests.get(f"{url}{SET}?$top=1", headers=AUTH, timeout=10).status_code)
        except requests.ConnectionError:
            outcomes.append(0)
    assert outcomes.count(0) == 3 and outcomes.count(200) == 9
    assert [e["status"] for e in journal(url)].count(0) == 3
    requests.delete(f"{url}/_emulator/faults", timeout=10)
    requests.delete(f"{url}/_emulator/requests", timeout=10)
    requests.post(f"{url}/_emulator/faults", json={"kind": "latency", "latency_ms": 150}, timeout=10)
    assert {r.status_code for r in burst(url, count=12)} == {200}
    entries = journal(url)
    assert all(e["duration_ms"] >= 150 and e["fault"]["kind"] == "latency" for e in entries)
    assert_both_workers(server, entries)


def test_a_seeded_probability_fires_on_the_same_draws_as_one_process(server, url):
    requests.post(f"{url}/_emulator/faults", json={"kind": "error", "status": 500, "probability": 0.5, "seed": 7},
                  timeout=10)
    with requests.Session() as session:
        statuses = [session.get(f"{url}{SET}?$top=1", headers=AUTH, timeout=10).status_code for _ in range(BURST)]
    draws = random.Random(7)
    assert statuses == [500 if draws.random() < 0.5 else 200 for _ in range(BURST)]
    assert_both_workers(server, journal(url))


def test_a_frozen_clock_is_every_workers_clock(server, url):
    frozen = requests.put(f"{url}/_emulator/clock", json={"now": "2031-03-04T05:06:07Z"}, timeout=10)
    assert frozen.status_code == 200
    created = burst(url, "POST", SET, count=16, json={"subject": "made under a frozen clock"})
    assert {r.status_code for r in created} == {204}
    keys = [r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")") for r in created]
    stamps = {requests.get(f"{url}{SET}({key})?$select=createdon", headers=AUTH, timeout=10).json()["createdon"]
              for key in keys}
    assert stamps == {"2031-03-04T05:06:07Z"}
    assert_both_workers(server, journal(url, method="POST"))
    moved = requests.post(f"{url}/_emulator/clock/advance", json={"minutes": 2}, timeout=10)
    assert moved.json()["now"] == "2031-03-04T05:08:07Z"
    assert {requests.get(f"{url}/_emulator/clock", timeout=10).json()["now"] for _ in range(12)} == {
        "2031-03-04T05:08:07Z"}
    running = requests.put(f"{url}/_emulator/clock", json={"now": "2032-01-01T00:00:00Z", "frozen": False},
                           timeout=10)
    assert running.json()["frozen"] is False
    requests.delete(f"{url}/_emulator/requests", timeout=10)
    running_made = burst(url, "POST", SET, count=12, json={"subject": "made while the clock runs"})
    keys = [r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")") for r in running_made]
    stamps = {requests.get(f"{url}{SET}({key})?$select=createdon", headers=AUTH, timeout=10).json()["createdon"][:15]
              for key in keys}
    assert stamps == {"2032-01-01T00:0"}  # running on from there, in every worker
    assert_both_workers(server, journal(url, method="POST"))
    requests.put(f"{url}/_emulator/clock", json={"now": "2031-03-04T05:08:07Z"}, timeout=10)
    after = burst(url, "POST", SET, count=16, json={"subject": "after the move"})
    keys = [r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")") for r in after]
    assert {requests.get(f"{url}{SET}({key})?$select=createdon", headers=AUTH, timeout=10).json()["createdon"]
            for key in keys} == {"2031-03-04T05:08:07Z"}


def test_service_protection_counts_every_workers_requests(server, url):
    settings = requests.put(f"{url}/_emulator/service-protection",
                            json={"enabled": True, "requests": 12, "window_seconds": 120}, timeout=10)
    assert settings.status_code == 200
    answers = burst(url, count=30)
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 12 and statuses.count(429) == 18
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["error"]["code"] == "0x80072322"
    assert int(refused.headers["Retry-After"]) >= 1
    assert_both_workers(server, journal(url, status=200))
    users = requests.get(f"{url}/_emulator/service-protection", timeout=10).json()["users"]
    assert [usage["requests"] for usage in users.values()] == [12]
    requests.put(f"{url}/_emulator/service-protection", json={"enabled": False}, timeout=10)
    assert {r.status_code for r in burst(url, count=8)} == {200}


def test_concurrent_requests_are_counted_across_workers(server, url):
    """With one concurrent request allowed, two at once (one per worker, each held 600 ms) get one 429."""
    requests.put(f"{url}/_emulator/service-protection", json={"enabled": True, "concurrent": 1}, timeout=10)
    requests.post(f"{url}/_emulator/faults", json={"kind": "latency", "latency_ms": 600}, timeout=10)
    answers = burst(url, count=2, parallel=2)
    assert sorted(r.status_code for r in answers) == [200, 429]
    assert next(r for r in answers if r.status_code == 429).json()["error"]["code"] == "0x80072326"
    assert_both_workers(server, journal(url))


def test_reset_undoes_the_writes_of_both_workers(server, url):
    def count() -> int:
        body = requests.get(f"{url}{SET}?$count=true&$top=1", headers=AUTH, timeout=10).json()
        return body["@odata.count"]

    before = count()
    for round_ in range(2):  # the second round proves each worker forgot what the first reset restored
        created = burst(url, "POST", SET, count=20, json={"subject": f"round {round_}"})
        assert {r.status_code for r in created} == {204}
        assert_both_workers(server, journal(url, method="POST"))
        assert count() == before + 20
        reset = requests.post(f"{url}/_emulator/reset", timeout=30).json()
        assert reset["tables"] != "all" and "msdyn_ocliveworkitem" in reset["tables"]
        assert count() == before
        keys = [r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")") for r in created]
        assert {requests.get(f"{url}{SET}({key})", headers=AUTH, timeout=10).status_code for key in keys} == {404}


def test_a_seed_is_every_workers_scenario(server, url):
    seeded = requests.post(f"{url}/_emulator/seed", json={"conversations": 3, "agents": 2}, timeout=60)
    assert seeded.status_code == 201, seeded.text
    try:
        scenarios = {requests.get(f"{url}/_emulator/health", timeout=10).json()["scenario"] for _ in range(12)}
        assert scenarios == {"generated:conversations=3,agents=2"}
    finally:
        assert requests.post(f"{url}/_emulator/seed", json={"scenario": "minimal"}, timeout=60).status_code == 201


def test_the_simulation_is_refused_with_workers(url):
    response = requests.post(f"{url}/_emulator/simulation", json={"running": True}, timeout=10)
    assert response.status_code == 501
    assert response.json()["error"]["code"] == "0x8004d101"
    assert "--workers" in response.json()["error"]["message"]
