"""How a project tests its Dataverse code against the emulator with the pytest plugin alone: plain HTTP through
`requests`, the in-process app, the conversation factory, fault injection, the journal and scenarios."""
import time

import pytest
import requests

AGENT = "2b330c52-6844-4d36-8e05-03c78c9681dc"  # the getConversations documentation's example agent
WAITING = (f"msdyn_ocliveworkitems?$select=msdyn_title&$filter=_msdyn_activeagentid_value eq {AGENT} "
           "and statuscode eq 3&$orderby=createdon desc")


def get(emulator, path, **headers):
    return requests.get(f"{emulator.api_url}/{path}", headers={**emulator.headers, **headers}, timeout=10)


def get_with_retry(emulator, path, attempts=3):
    """What a well-behaved client does: wait Retry-After seconds after a 429."""
    for _ in range(attempts):
        response = get(emulator, path)
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers["Retry-After"]))
    return response


def test_documented_example_on_the_minimal_scenario(dataverse_emulator):
    response = get(dataverse_emulator, WAITING)
    assert response.status_code == 200
    assert [row["msdyn_title"] for row in response.json()["value"]] == ["Refund for order #10001"]


def test_factory_conversation_is_served(dataverse_emulator, conversation_factory):
    conversation = conversation_factory(status="Waiting", title="Made by the factory", created="-1h")
    response = get(dataverse_emulator, f"msdyn_ocliveworkitems({conversation.id})?$select=msdyn_title,statuscode,"
                                       "_msdyn_activeagentid_value,_msdyn_lastsessionid_value")
    assert response.status_code == 200
    body = response.json()
    assert body["msdyn_title"] == "Made by the factory"
    assert body["statuscode"] == 3
    assert body["_msdyn_activeagentid_value"] == conversation.agent_id
    assert body["_msdyn_lastsessionid_value"] == conversation.session_id


@pytest.mark.parametrize("round_", [1, 2])
def test_every_test_starts_from_the_scenario(dataverse_emulator, conversation_factory, round_):
    # whichever runs first, the other still sees the scenario's five conversations before adding its own
    assert get(dataverse_emulator, "msdyn_ocliveworkitems/$count").text == "5"
    conversation_factory(status="Active")
    assert get(dataverse_emulator, "msdyn_ocliveworkitems/$count").text == "6"


def test_in_process_app(dataverse_app):
    response = dataverse_app.client.get("msdyn_ocliveworkitems?$select=msdyn_title&$filter=statuscode eq 4")
    assert response.status_code == 200
    assert [row["msdyn_title"] for row in response.get_json()["value"]] == ["Invoice copy"]


def test_injected_error_reaches_the_client(dataverse_emulator):
    dataverse_emulator.faults.add("error", entity_set="msdyn_ocliveworkitems", status=503, code="0x80040216",
                                  message="Injected outage", times=1)
    first = get(dataverse_emulator, WAITING)
    assert first.status_code == 503
    assert first.json() == {"error": {"code": "0x80040216", "message": "Injected outage"}}
    assert get(dataverse_emulator, WAITING).status_code == 200


def test_retrying_client_recovers_from_throttling(dataverse_emulator):
    dataverse_emulator.faults.add("throttle", times=1, retry_after=1)
    response = get_with_retry(dataverse_emulator, WAITING)
    assert response.status_code == 200
    assert [r["status"] for r in dataverse_emulator.requests(path="msdyn_ocliveworkitems")] == [429, 200]


def test_dropped_connection(dataverse_emulator):
    dataverse_emulator.faults.add("drop", method="GET", times=1)
    with pytest.raises(requests.ConnectionError):
        get(dataverse_emulator, WAITING)


def test_journal_records_the_correlation_id(dataverse_emulator):
    get(dataverse_emulator, WAITING, **{"x-ms-correlation-id": "c0ffee00-0000-4000-8000-000000000001"})
    entries = dataverse_emulator.requests(correlation_id="c0ffee00-0000-4000-8000-000000000001")
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 200)]


@pytest.mark.dataverse_scenario("default")
def test_marker_picks_the_default_scenario(dataverse_emulator):
    assert get(dataverse_emulator, "msdyn_ocliveworkitems/$count").text == "500"


def test_after_a_marked_test_the_ini_scenario_is_back(dataverse_emulator):
    assert get(dataverse_emulator, "msdyn_ocliveworkitems/$count").text == "5"
