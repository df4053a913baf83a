"""The clock control plane (/_emulator/clock) and its effect on the Web API's relative date functions."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from emulator.app import create_app
from emulator.clock import format_instant

from .conftest import API, AUTH, NOW, LiveServer

CLOCK = "/_emulator/clock"
ADVANCE = "/_emulator/clock/advance"


@pytest.fixture
def http(fresh):
    return create_app(fresh).test_client()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_get_reports_the_start_clock(http):
    response = http.get(CLOCK)
    assert response.status_code == 200
    assert response.get_json() == {"now": "2026-01-15T12:00:00Z", "frozen": True}


@pytest.mark.parametrize("body,expected", [
    ({"now": "2026-03-01T08:30:00Z"}, "2026-03-01T08:30:00Z"),
    ({"now": "2026-03-01T08:30:00Z", "frozen": True}, "2026-03-01T08:30:00Z"),
    ({"now": "2026-03-01T10:30:00+02:00"}, "2026-03-01T08:30:00Z"),
    ({"now": "2026-03-01T08:30:00"}, "2026-03-01T08:30:00Z"),  # no zone: UTC
    ({"now": "2026-03-01T08:30:00.750Z"}, "2026-03-01T08:30:00Z"),
])
def test_put_freezes_the_clock(http, body, expected):
    response = http.put(CLOCK, json=body)
    assert response.status_code == 200
    assert response.get_json() == {"now": expected, "frozen": True}
    assert http.get(CLOCK).get_json() == {"now": expected, "frozen": True}
    assert http.get("/_emulator/health").get_json()["now"].startswith(expected[:-1])


def test_put_unfrozen_lets_the_clock_run_from_there(http):
    response = http.put(CLOCK, json={"now": "2030-06-01T00:00:00Z", "frozen": False})
    assert response.status_code == 200
    state = http.get(CLOCK).get_json()
    assert state["frozen"] is False
    assert instant(state["now"]) >= instant("2030-06-01T00:00:00Z")
    assert instant(state["now"]).year == 2030


@pytest.mark.parametrize("body,expected", [
    ({"seconds": 90}, "2026-01-15T12:01:30Z"),
    ({"days": 1}, "2026-01-16T12:00:00Z"),
    ({"days": 1, "hours": 2, "minutes": 3, "seconds": 4}, "2026-01-16T14:03:04Z"),
    ({"days": -15}, "2025-12-31T12:00:00Z"),
    ({"hours": 0.5}, "2026-01-15T12:30:00Z"),
    ({"seconds": 0}, "2026-01-15T12:00:00Z"),
])
def test_advance_moves_a_frozen_clock(http, body, expected):
    response = http.post(ADVANCE, json=body)
    assert response.status_code == 200
    assert response.get_json() == {"now": expected, "frozen": True}
    assert http.get(CLOCK).get_json()["now"] == expected


def test_advance_moves_a_running_clock(http):
    http.put(CLOCK, json={"now": "2030-06-01T00:00:00Z", "frozen": False})
    state = http.post(ADVANCE, json={"days": 10}).get_json()
    assert state["frozen"] is False
    assert instant(state["now"]) >= instant("2030-06-11T00:00:00Z")
    assert instant(state["now"]).month == 6


def test_delete_returns_to_real_time(http):
    before = datetime.now(UTC).replace(microsecond=0)
    response = http.delete(CLOCK)
    after = datetime.now(UTC)
    assert response.status_code == 200
    state = response.get_json()
    assert state["frozen"] is False
    assert before <= instant(state["now"]) <= after
    assert http.get(CLOCK).get_json()["frozen"] is False


def test_body_without_json_content_type_is_read(http):
    response = http.put(CLOCK, data=json.dumps({"now": "2026-02-02T00:00:00Z"}),
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.get_json()["now"] == "2026-02-02T00:00:00Z"


@pytest.mark.parametrize("method,path,body,fragment", [
    ("PUT", CLOCK, {}, "'now' is required"),
    ("PUT", CLOCK, {"frozen": True}, "'now' is required"),
    ("PUT", CLOCK, {"now": "tomorrow"}, "'now' is not an ISO 8601 instant"),
    ("PUT", CLOCK, {"now": "2026-02-30T00:00:00Z"}, "'now' is not an ISO 8601 instant"),
    ("PUT", CLOCK, {"now": 1767225600}, "'now' is required"),
    ("PUT", CLOCK, {"now": "2026-01-15T12:00:00Z", "frozen": "yes"}, "'frozen' must be true or false"),
    ("PUT", CLOCK, {"now": "2026-01-15T12:00:00Z", "frozen": None}, "'frozen' must be true or false"),
    ("PUT", CLOCK, {"now": "2026-01-15T12:00:00Z", "speed": 2}, "speed"),
    ("PUT", CLOCK, ["2026-01-15T12:00:00Z"], "JSON object"),
    ("PUT", CLOCK, "not json{", "JSON object"),
    ("POST", ADVANCE, {}, "seconds"),
    ("POST", ADVANCE, {"weeks": 1}, "weeks"),
    ("POST", ADVANCE, {"seconds": "90"}, "'seconds' must be a number"),
    ("POST", ADVANCE, {"days": True}, "'days' must be a number"),
    ("POST", ADVANCE, {"days": None}, "'days' must be a number"),
    ("POST", ADVANCE, {"days": 10**9}, "cannot be moved that far"),
    ("POST", ADVANCE, {"seconds": 1e300}, "cannot be moved that far"),
    ("POST", ADVANCE, "nope", "JSON object"),
])
def test_bad_input_is_a_400_in_the_dataverse_error_shape(http, method, path, body, fragment):
    data = body if isinstance(body, str) else json.dumps(body)
    response = http.open(path, method=method, data=data, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.get_json()["error"]
    assert set(error) == {"code", "message"} and error["code"]
    assert fragment in error["message"]
    assert http.get(CLOCK).get_json() == {"now": "2026-01-15T12:00:00Z", "frozen": True}  # unchanged


def _insert_created(emulator, stamps: dict[str, datetime]) -> None:
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    with emulator.db.engine.begin() as conn:
        conn.execute(table.insert(), [{"activityid": key, "subject": key, "createdon": format_instant(when),
                                       "statecode": 0, "statuscode": 1, "versionnumber": i + 1}
                                      for i, (key, when) in enumerate(stamps.items())])


def test_moving_the_clock_changes_what_last_x_days_returns(fresh):
    ids = {f"00000000-0000-4000-8000-00000000000{i}": NOW - timedelta(days=d)
           for i, d in enumerate((0, 1, 2, 5, 10))}
    _insert_created(fresh, ids)
    server = LiveServer(create_app(fresh))
    try:
        def last_2_days() -> list[str]:
            response = requests.get(
                f"{server.url}{API}/msdyn_ocliveworkitems",
                params={"$select": "createdon", "$orderby": "createdon desc",
                        "$filter": "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=2)"},
                headers=AUTH, timeout=10)
            assert response.status_code == 200, response.text
            return [r["createdon"] for r in response.json()["value"]]

        assert last_2_days() == ["2026-01-15T12:00:00Z", "2026-01-14T12:00:00Z", "2026-01-13T12:00:00Z"]
        requests.post(f"{server.url}{ADVANCE}", json={"days": 3}, timeout=10).raise_for_status()
        assert last_2_days() == []  # now 2026-01-18T12:00Z: from 2026-01-16T00:00Z on, nothing
        requests.put(f"{server.url}{CLOCK}", json={"now": "2026-01-10T12:00:00Z"}, timeout=10).raise_for_status()
        assert last_2_days() == ["2026-01-10T12:00:00Z"]  # rows dated after now are not "last" days
        requests.put(f"{server.url}{CLOCK}", json={"now": "2026-01-13T12:00:00Z"}, timeout=10).raise_for_status()
        assert last_2_days() == ["2026-01-13T12:00:00Z"]  # a row stamped exactly now is included
        requests.post(f"{server.url}{ADVANCE}", json={"seconds": -1}, timeout=10).raise_for_status()
        assert last_2_days() == []  # one second earlier it lies in the future
        requests.delete(f"{server.url}{CLOCK}", timeout=10).raise_for_status()
        assert requests.get(f"{server.url}{CLOCK}", timeout=10).json()["frozen"] is False
    finally:
        server.stop()
