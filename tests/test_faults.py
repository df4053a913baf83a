"""Fault injection (POST/GET/DELETE /_emulator/faults): a real HTTP client sees exactly the injected fault."""
import threading
import time

import pytest
import requests

from emulator.app import create_app
from emulator.server import prepare
from emulator.settings import Settings

from .conftest import API, AUTH, NOW

CONVERSATIONS = f"{API}/msdyn_ocliveworkitems?$select=msdyn_title"


@pytest.fixture
def url(minimal_server):
    requests.post(f"{minimal_server.url}/_emulator/reset", timeout=10)
    return minimal_server.url


def add(url, **rule):
    response = requests.post(f"{url}/_emulator/faults", json=rule, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["value"][0]


def get(url, path=CONVERSATIONS, method="GET"):
    return requests.request(method, f"{url}{path}", headers=AUTH, timeout=10)


def test_error_fault_answers_exactly_the_injected_dataverse_error(url):
    add(url, kind="error", entity_set="msdyn_ocliveworkitems", status=503, code="0x80040216",
        message="Injected: the database is unavailable.")
    response = get(url)
    assert response.status_code == 503
    assert response.json() == {"error": {"code": "0x80040216", "message": "Injected: the database is unavailable."}}
    assert response.headers["OData-Version"] == "4.0"
    assert get(url, f"{API}/systemusers").status_code == 200  # other entity sets are untouched


def test_throttle_fault_gives_429_with_retry_after_and_a_retrying_client_recovers(url):
    add(url, kind="throttle", times=1, retry_after=1)
    first = get(url)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds."}
    time.sleep(int(first.headers["Retry-After"]))
    assert get(url).status_code == 200


def test_throttle_fault_with_another_documented_code(url):
    add(url, kind="throttle", code="0x80072326", retry_after=5)
    response = get(url)
    assert response.json()["error"] == {"code": "0x80072326",
                                        "message": "Number of concurrent requests exceeded the limit of 52."}
    assert response.headers["Retry-After"] == "5"


def test_drop_fault_closes_the_connection_without_a_response(url):
    add(url, kind="drop", method="GET", path="/api/data/v9.2/msdyn_ocliveworkitems*", times=1)
    with pytest.raises(requests.ConnectionError):
        get(url)
    assert get(url).status_code == 200
    statuses = [e["status"] for e in requests.get(f"{url}/_emulator/requests", timeout=10).json()["value"]]
    assert statuses == [0, 200]


def test_latency_fault_delays_then_answers_normally(url):
    add(url, kind="latency", latency_ms=300, entity_set="msdyn_ocliveworkitems")
    response = get(url)
    assert response.status_code == 200
    [entry] = requests.get(f"{url}/_emulator/requests", timeout=10).json()["value"]
    assert entry["duration_ms"] >= 300  # the sleep is a lower bound, never flaky
    assert entry["fault"]["kind"] == "latency"


def test_latency_combines_with_an_error(url):
    add(url, kind="error", status=500, latency_ms=100, message="slow and broken")
    response = get(url)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "slow and broken"


def test_times_limits_firing_and_list_shows_counts(url):
    rule = add(url, kind="error", status=502, method=["GET"], times=2)
    assert [get(url).status_code for _ in range(3)] == [502, 502, 200]
    [listed] = requests.get(f"{url}/_emulator/faults", timeout=10).json()["value"]
    assert listed["id"] == rule["id"]
    assert (listed["matched"], listed["fired"], listed["remaining"]) == (3, 2, 0)


def test_probability_with_a_seed_is_repeatable(url):
    def pattern():
        requests.delete(f"{url}/_emulator/faults", timeout=10)
        add(url, kind="error", status=500, probability=0.5, seed=7)
        return [get(url).status_code for _ in range(12)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 500}


def test_rules_match_on_method_and_path_regex(url):
    add(url, kind="error", status=500, method="DELETE")
    add(url, kind="error", status=418, path_regex=r"\$top=1\b")
    assert get(url).status_code == 200
    assert get(url, f"{API}/systemusers?$top=1").status_code == 418
    assert get(url, f"{API}/systemusers?$top=10").status_code == 200
    assert get(url, f"{API}/systemusers", method="DELETE").status_code == 500


def test_control_plane_is_never_faulted(url):
    add(url, kind="error", status=500, path_regex=".*")
    assert requests.get(f"{url}/_emulator/health", timeout=10).status_code == 200
    assert get(url).status_code == 500


def test_delete_one_rule_and_clear(url):
    first = add(url, kind="error", status=500, entity_set="systemusers")
    add(url, kind="error", status=503, entity_set="queues")
    assert requests.delete(f"{url}/_emulator/faults/{first['id']}", timeout=10).status_code == 204
    assert get(url, f"{API}/systemusers").status_code == 200
    assert get(url, f"{API}/queues").status_code == 503
    assert requests.delete(f"{url}/_emulator/faults/{first['id']}", timeout=10).status_code == 404
    assert requests.delete(f"{url}/_emulator/faults", timeout=10).status_code == 204
    assert requests.get(f"{url}/_emulator/faults", timeout=10).json()["value"] == []
    assert get(url, f"{API}/queues").status_code == 200


@pytest.mark.parametrize("rule, words", [
    ({"kind": "boom"}, "kind must be one of"),
    ({"kind": "error"}, "needs a status"),
    ({"kind": "error", "status": 200}, "status must be"),
    ({"kind": "latency"}, "latency_ms"),
    ({"kind": "error", "status": 500, "probability": 2}, "probability"),
    ({"kind": "throttle", "code": "0x1"}, "code is one of"),
    ({"kind": "drop", "path_regex": "("}, "path_regex"),
    ({"kind": "drop", "when": "always"}, "Unknown fault rule field 'when'"),
])
def test_bad_rules_are_400s_naming_the_problem(url, rule, words):
    response = requests.post(f"{url}/_emulator/faults", json=rule, timeout=10)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_rules_apply_to_concurrent_requests_consistently(url):
    add(url, kind="error", status=500, times=5)
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(get(url).status_code)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [500] * 5


def test_drop_in_process_raises_in_the_test_client(tmp_path):
    from .conftest import Client

    emulator = prepare(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}", now=NOW.isoformat(), load="never"))
    client = Client(create_app(emulator))
    client.request("POST", "/_emulator/faults", json={"kind": "drop"})
    with pytest.raises(ConnectionAbortedError):
        client.get("systemusers").get_data()
    emulator.db.dispose()


def test_several_rules_in_one_post(url):
    response = requests.post(f"{url}/_emulator/faults", timeout=10, json=[
        {"kind": "error", "status": 500, "entity_set": "systemusers"},
        {"kind": "throttle", "entity_set": "queues", "retry_after": 3}])
    assert response.status_code == 201
    assert [r["kind"] for r in response.json()["value"]] == ["error", "throttle"]
    assert get(url, f"{API}/systemusers").status_code == 500
    assert get(url, f"{API}/queues").headers["Retry-After"] == "3"


def test_a_bad_rule_in_a_list_adds_none(url):
    response = requests.post(f"{url}/_emulator/faults", timeout=10,
                             json=[{"kind": "error", "status": 500}, {"kind": "error"}])
    assert response.status_code == 400
    assert requests.get(f"{url}/_emulator/faults", timeout=10).json()["value"] == []
