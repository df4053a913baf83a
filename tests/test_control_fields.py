"""Nothing sent to the control plane is silently ignored: a fault rule's fields all take effect (a 429 or 503 error
answers with Retry-After, given or the default) or are refused with a 400 naming them, and every /_emulator route
refuses query parameters and bodies it does not read, and JSON fields it does not know."""
import pytest
import requests

from .conftest import API, AUTH

CONVERSATIONS = f"{API}/msdyn_ocliveworkitems?$select=msdyn_title"


@pytest.fixture
def url(minimal_server):
    requests.post(f"{minimal_server.url}/_emulator/reset", timeout=10)
    return minimal_server.url


def fault(url, **rule) -> requests.Response:
    added = requests.post(f"{url}/_emulator/faults", json=rule, timeout=10)
    assert added.status_code == 201, added.text
    return requests.get(f"{url}{CONVERSATIONS}", headers=AUTH, timeout=10)


def refused(response: requests.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("rule, retry_after", [
    ({"status": 429, "retry_after": 2}, "2"),
    ({"status": 429}, "1"),
    ({"status": 503}, "1"),
    ({"status": 503, "retry_after": 30}, "30"),
    ({"status": 500, "retry_after": 5}, "5"),
    ({"status": 500}, None),
    ({"status": 400}, None),
])
def test_an_error_fault_answers_with_the_retry_after_it_was_given_or_the_default(url, rule, retry_after):
    response = fault(url, kind="error", **rule)
    assert response.status_code == rule["status"]
    assert response.headers.get("Retry-After") == retry_after
    assert set(response.json()["error"]) == {"code", "message"}


def test_a_throttle_fault_keeps_its_retry_after(url):
    response = fault(url, kind="throttle", retry_after=4)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "4")


def test_a_seed_takes_effect_with_a_probability(url):
    listed = requests.post(f"{url}/_emulator/faults", json={"kind": "error", "status": 500, "probability": 0.5,
                                                             "seed": 3}, timeout=10).json()["value"][0]
    assert (listed["probability"], listed["seed"]) == (0.5, 3)
    plain = requests.post(f"{url}/_emulator/faults", json={"kind": "latency", "latency_ms": 1},
                          timeout=10).json()["value"][0]
    assert "seed" not in plain and "probability" not in plain


@pytest.mark.parametrize("rule, field", [
    ({"kind": "latency", "latency_ms": 10, "status": 503}, "status"),
    ({"kind": "latency", "latency_ms": 10, "retry_after": 2}, "retry_after"),
    ({"kind": "latency", "latency_ms": 10, "message": "slow"}, "message"),
    ({"kind": "drop", "code": "0x80040216"}, "code"),
    ({"kind": "drop", "retry_after": 1}, "retry_after"),
    ({"kind": "drop", "status": 500}, "status"),
])
def test_a_field_that_does_not_apply_to_the_kind_is_refused_by_name(url, rule, field):
    response = requests.post(f"{url}/_emulator/faults", json=rule, timeout=10)
    refused(response, f"'{field}'", f"a {rule['kind']} fault")
    assert requests.get(f"{url}/_emulator/faults", timeout=10).json()["value"] == []


def test_a_seed_without_a_probability_is_refused(url):
    refused(requests.post(f"{url}/_emulator/faults", json={"kind": "error", "status": 500, "seed": 4}, timeout=10),
            "'seed'", "probability")


def test_an_unknown_fault_field_is_refused_by_name(url):
    refused(requests.post(f"{url}/_emulator/faults", json={"kind": "error", "status": 500, "retry": 2}, timeout=10),
            "'retry'")


@pytest.mark.parametrize("method, path", [
    ("GET", "/health"), ("GET", "/clock"), ("DELETE", "/clock"), ("GET", "/faults"), ("DELETE", "/faults"),
    ("DELETE", "/requests"), ("GET", "/service-protection"), ("GET", "/simulation"), ("GET", "/snapshots"),
    ("DELETE", "/snapshots"), ("POST", "/reset"),
])
def test_a_query_parameter_a_route_does_not_read_is_refused(url, method, path):
    response = requests.request(method, f"{url}/_emulator{path}?verbose=1", timeout=10)
    refused(response, "'verbose'", "it takes none")


def test_the_journal_names_the_parameters_it_takes(url):
    response = requests.get(f"{url}/_emulator/requests", params={"method": "GET", "limit": 5}, timeout=10)
    refused(response, "'limit'", "method, path, status, correlation_id, caller")
    assert requests.get(f"{url}/_emulator/requests", params={"method": "GET", "path": "x", "status": 200,
                                                             "correlation_id": "c", "caller": "y"},
                        timeout=10).status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/health"), ("GET", "/clock"), ("DELETE", "/clock"), ("GET", "/faults"), ("DELETE", "/faults"),
    ("DELETE", "/faults/1"), ("GET", "/requests"), ("DELETE", "/requests"), ("GET", "/service-protection"),
    ("GET", "/simulation"), ("GET", "/snapshots"), ("DELETE", "/snapshots"), ("DELETE", "/snapshots/x"),
])
def test_a_body_sent_to_a_route_that_reads_none_is_refused(url, method, path):
    response = requests.request(method, f"{url}/_emulator{path}", json={"all": True}, timeout=10)
    refused(response, "takes no request body")


@pytest.mark.parametrize("method, path, body, words", [
    ("POST", "/reset", {"ful": True}, ("'ful'", "full")),
    ("POST", "/reset", {"full": "yes"}, ("'full'", "true or false")),
    ("POST", "/reset", [True], ("JSON object",)),
    ("POST", "/snapshots", {"name": "a", "baseline": True}, ("'baseline'", "name")),
    ("POST", "/snapshots/nosuch/restore", {"as_baseline": True}, ("'as_baseline'", "baseline")),
    ("POST", "/snapshots/nosuch/restore", {"baseline": "yes"}, ("'baseline'", "true or false")),
    ("PUT", "/clock", {"now": "2026-01-15T12:00:00Z", "zone": "UTC"}, ("zone",)),
    ("POST", "/clock/advance", {"weeks": 1}, ("weeks",)),
    ("PUT", "/service-protection", {"enabled": True, "burst": 3}, ("'burst'",)),
    ("POST", "/simulation", {"speed": 2}, ("speed",)),
    ("POST", "/seed", {"scenario": "minimal", "reset": True}, ("'reset'",)),
])
def test_unknown_or_mistyped_json_fields_are_refused_by_name(url, method, path, body, words):
    refused(requests.request(method, f"{url}/_emulator{path}", json=body, timeout=10), *words)


def test_the_fields_each_route_reads_still_work(url):
    snapshot = requests.post(f"{url}/_emulator/snapshots", json={"name": "fields"}, timeout=10)
    assert snapshot.status_code == 201
    restored = requests.post(f"{url}/_emulator/snapshots/fields/restore", json={"baseline": False}, timeout=10)
    assert restored.status_code == 200
    assert requests.post(f"{url}/_emulator/snapshots/fields/restore", timeout=10).status_code == 200
    assert requests.delete(f"{url}/_emulator/snapshots/fields", timeout=10).status_code == 204
    assert requests.post(f"{url}/_emulator/reset", json={"full": True}, timeout=10).json()["tables"] == "all"
    # curl -d sends a form content type: the control plane reads the JSON anyway, as it always has
    moved = requests.post(f"{url}/_emulator/clock/advance", data='{"seconds": 60}',
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert moved.status_code == 200
