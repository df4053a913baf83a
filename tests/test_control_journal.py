"""Control plane: the request journal (GET/DELETE /_emulator/requests) over a live server."""
import base64
import json

import pytest
import requests

from .conftest import API, AUTH

CORRELATION = "a1b2c3d4-0000-4000-8000-000000000001"


@pytest.fixture
def url(minimal_server):
    requests.post(f"{minimal_server.url}/_emulator/reset", timeout=10)
    return minimal_server.url


def journal(url, **filters):
    response = requests.get(f"{url}/_emulator/requests", params=filters, timeout=10)
    assert response.status_code == 200
    return response.json()["value"]


def jwt(claims: dict) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{part}.signature"


def test_records_method_path_query_status_duration_correlation_and_caller(url):
    requests.get(f"{url}{API}/msdyn_ocliveworkitems?$top=1", timeout=10,
                 headers={**AUTH, "x-ms-correlation-id": CORRELATION, "User-Agent": "contract-test/1.0"})
    [entry] = journal(url)
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/data/v9.2/msdyn_ocliveworkitems"
    assert entry["query"] == "$top=1"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
    assert entry["correlation_id"] == CORRELATION
    assert entry["caller"].startswith("token:")
    assert entry["user_agent"] == "contract-test/1.0"


def test_caller_comes_from_a_jwt_or_the_user_agent(url):
    requests.get(f"{url}{API}/systemusers", timeout=10,
                 headers={"Authorization": f"Bearer {jwt({'upn': 'alex@contoso.example'})}"})
    requests.get(f"{url}{API}/systemusers", timeout=10, headers={"User-Agent": "no-token/2"})
    entries = journal(url)
    assert [e["caller"] for e in entries] == ["upn:alex@contoso.example", "agent:no-token/2"]
    assert [e["status"] for e in entries] == [200, 401]


def test_filters_combine(url):
    requests.get(f"{url}{API}/msdyn_ocliveworkitems", headers=AUTH, timeout=10)
    requests.get(f"{url}{API}/systemusers", headers={**AUTH, "x-ms-correlation-id": CORRELATION}, timeout=10)
    requests.get(f"{url}{API}/nosuchset", headers=AUTH, timeout=10)
    requests.delete(f"{url}{API}/systemusers", headers=AUTH, timeout=10)
    assert [e["path"] for e in journal(url, status=404)] == ["/api/data/v9.2/nosuchset"]
    assert [e["method"] for e in journal(url, path="systemusers")] == ["GET", "DELETE"]
    assert [e["method"] for e in journal(url, path="/api/*/systemusers", method="delete")] == ["DELETE"]
    assert [e["path"] for e in journal(url, correlation_id=CORRELATION)] == ["/api/data/v9.2/systemusers"]
    assert journal(url, status=404, method="GET", path="systemusers") == []


def test_control_plane_is_never_journalled_and_delete_clears(url):
    requests.get(f"{url}{API}/systemusers", headers=AUTH, timeout=10)
    requests.get(f"{url}/_emulator/health", timeout=10)
    assert len(journal(url)) == 1
    assert requests.delete(f"{url}/_emulator/requests", timeout=10).status_code == 204
    assert journal(url) == []


def test_bad_status_filter_is_a_400(url):
    response = requests.get(f"{url}/_emulator/requests", params={"status": "ok"}, timeout=10)
    assert response.status_code == 400
    assert "status" in response.json()["error"]["message"]


def test_journal_is_bounded():
    from emulator.control.journal import Journal

    journal_ = Journal(size=3)
    for i in range(5):
        journal_.record({"method": "GET", "path": f"/{i}", "status": 200, "correlation_id": None, "caller": "x"})
    assert [e["path"] for e in journal_.query()] == ["/2", "/3", "/4"]
