"""Service protection limits (GET/PUT /_emulator/service-protection): per user sliding windows for requests,
execution time and concurrency, answering 429 with Retry-After and Dataverse's codes and messages."""
import threading
import time

import pytest
import requests

from emulator.app import create_app
from emulator.control.throttling import Limits, ServiceProtection
from emulator.server import prepare
from emulator.settings import Settings

from .conftest import API, AUTH, NOW

OTHER = {"Authorization": "Bearer another-user"}


@pytest.fixture
def url(minimal_server):
    requests.post(f"{minimal_server.url}/_emulator/reset", timeout=10)
    return minimal_server.url


def limits(url, **body):
    response = requests.put(f"{url}/_emulator/service-protection", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def get(url, headers=AUTH):
    return requests.get(f"{url}{API}/systemusers?$select=fullname", headers=headers, timeout=10)


def test_off_by_default(url):
    assert requests.get(f"{url}/_emulator/service-protection", timeout=10).json()["enabled"] is False
    assert {get(url).status_code for _ in range(20)} == {200}


def test_request_count_window_with_documented_code_message_and_headers(url):
    limits(url, requests=3, window_seconds=60)
    answers = [get(url) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] for a in answers[:3]] == ["2", "1", "0"]
    throttled = answers[3]
    assert throttled.json() == {"error": {
        "code": "0x80072322", "message": "Number of requests exceeded the limit of 3 over time window of 60 seconds."}}
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60


def test_limits_are_per_user(url):
    limits(url, requests=1, window_seconds=60)
    assert get(url).status_code == 200
    assert get(url).status_code == 429
    assert get(url, OTHER).status_code == 200


def test_window_slides_and_a_retrying_client_recovers(url):
    limits(url, requests=2, window_seconds=1)
    assert [get(url).status_code for _ in range(2)] == [200, 200]
    throttled = get(url)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    time.sleep(int(throttled.headers["Retry-After"]))
    assert get(url).status_code == 200


def test_combined_execution_time_window(url):
    limits(url, execution_ms=200, window_seconds=60)
    requests.post(f"{url}/_emulator/faults", json={"kind": "latency", "latency_ms": 250, "times": 1}, timeout=10)
    assert get(url).status_code == 200  # 250 ms spent: over the 200 ms budget
    throttled = get(url)
    assert throttled.status_code == 429
    assert throttled.json()["error"] == {
        "code": "0x80072321",
        "message": "Combined execution time of incoming requests exceeded limit of 200 milliseconds over time window "
                   "of 60 seconds. Decrease number of concurrent requests or reduce the duration of requests and try "
                   "again later."}
    assert int(throttled.headers["Retry-After"]) >= 1
    assert get(url, OTHER).status_code == 200


def test_concurrent_requests(url):
    limits(url, concurrent=1)
    requests.post(f"{url}/_emulator/faults", json={"kind": "latency", "latency_ms": 1500, "times": 1}, timeout=10)
    slow = threading.Thread(target=get, args=(url,))
    slow.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until the slow request is in flight
            state = requests.get(f"{url}/_emulator/service-protection", timeout=10).json()
            if any(u["in_flight"] for u in state["users"].values()):
                break
            time.sleep(0.02)
        throttled = get(url)
    finally:
        slow.join()
    assert throttled.status_code == 429
    assert throttled.json()["error"] == {"code": "0x80072326",
                                         "message": "Number of concurrent requests exceeded the limit of 1."}
    assert throttled.headers["Retry-After"] == "1"
    assert get(url).status_code == 200  # the slow one is done


def test_documented_defaults():
    protection = ServiceProtection(enabled=True)
    assert protection.limits == Limits(requests=6000, execution_ms=1_200_000, concurrent=52, window_seconds=300)


def test_switching_off_and_reset(url):
    limits(url, requests=1)
    get(url)
    assert get(url).status_code == 429
    limits(url, enabled=False)
    assert get(url).status_code == 200
    limits(url, requests=1)
    get(url)
    requests.post(f"{url}/_emulator/reset", timeout=10)
    assert get(url).status_code == 200  # reset: back to the serve option (off)


def test_control_plane_is_never_throttled(url):
    limits(url, requests=1)
    for _ in range(5):
        assert requests.get(f"{url}/_emulator/health", timeout=10).status_code == 200


@pytest.mark.parametrize("body, words", [
    ({"requests": 0}, "requests must be a positive whole number"),
    ({"requests": 1.5}, "requests must be"),
    ({"window_seconds": -1}, "window_seconds must be a positive number"),
    ({"enabled": "yes"}, "enabled must be"),
    ({"limit": 5}, "Unknown field 'limit'"),
])
def test_bad_settings_are_400s(url, body, words):
    response = requests.put(f"{url}/_emulator/service-protection", json=body, timeout=10)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_serve_option_turns_limits_on(tmp_path):
    from .conftest import Client

    emulator = prepare(Settings(database_url=f"sqlite:///{tmp_path / 'e.db'}", now=NOW.isoformat(), load="never",
                                service_protection=True))
    client = Client(create_app(emulator))
    response = client.get("systemusers")
    assert response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "5999"
    emulator.db.dispose()
