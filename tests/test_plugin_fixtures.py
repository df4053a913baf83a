"""The plugin's fixtures used directly (the plugin is registered for this suite too, through its entry point)."""
import pytest
import requests
import sqlalchemy as sa

pytestmark = pytest.mark.dataverse_scenario("minimal")


def rows(emulator, table, column, value):
    sql = emulator.db.tables[table]
    with emulator.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(sql).where(sql.c[column] == value)).mappings()]


def test_factory_makes_coherent_rows(dataverse_emulator, conversation_factory):
    first = conversation_factory(status="Waiting", created="-2h", priority="High")
    second = conversation_factory(status="Closed", created="-1d", closed="-20h")
    emulator = dataverse_emulator.emulator
    [conversation] = rows(emulator, "msdyn_ocliveworkitem", "activityid", first.id)
    assert (conversation["statuscode"], conversation["statecode"], conversation["prioritycode"]) == (3, 0, 2)
    assert conversation["msdyn_activeagentid"] == first.agent_id
    assert conversation["msdyn_liveworkstreamid"] == first.workstream_id
    assert conversation["msdyn_cdsqueueid"] == first.queue_id
    assert conversation["msdyn_customer"] == first.customer_id
    [session] = rows(emulator, "msdyn_ocsession", "activityid", first.session_id)
    assert (session["msdyn_liveworkitemid"], session["msdyn_activeagentid"]) == (first.id, first.agent_id)
    assert rows(emulator, "systemuser", "systemuserid", first.agent_id)
    assert second.workstream_id == first.workstream_id and second.agent_id != first.agent_id
    assert second.row["msdyn_closedon"] is not None and second.row["statecode"] == 1


def test_factory_open_conversation_has_no_agent_and_takes_existing_rows(dataverse_emulator, conversation_factory):
    agent = "2b330c52-6844-4d36-8e05-03c78c9681dc"
    open_ = conversation_factory(status="Open")
    assert open_.agent_id is None and open_.row["msdyn_isagentaccepted"] is False
    mine = conversation_factory(status="Active", agent=agent, workstream={"name": "Voice", "channel": "Voice"})
    assert mine.row["msdyn_activeagentid"] == agent
    assert mine.row["msdyn_channel"] == "192370000"
    response = requests.get(f"{dataverse_emulator.api_url}/msdyn_ocliveworkitems?$select=msdyn_title&$filter="
                            f"_msdyn_activeagentid_value eq {agent} and statuscode eq 2",
                            headers=dataverse_emulator.headers, timeout=10)
    assert len(response.json()["value"]) == 2  # the scenario's Active one and the factory's


def test_factory_rows_are_gone_in_the_next_test(dataverse_emulator):
    assert dataverse_emulator.health()["counts"]["msdyn_ocliveworkitem"] == 5


def test_dataverse_app_shares_the_emulator(dataverse_app, conversation_factory):
    made = conversation_factory(status="Waiting", title="In-process")
    response = dataverse_app.client.get(f"msdyn_ocliveworkitems({made.id})?$select=msdyn_title")
    assert response.get_json()["msdyn_title"] == "In-process"


def test_journal_and_faults_helpers(dataverse_emulator):
    rule = dataverse_emulator.faults.add("error", status=500, entity_set="queues", times=1)
    assert [r["id"] for r in dataverse_emulator.faults.list()] == [rule["id"]]
    url = f"{dataverse_emulator.api_url}/queues"
    assert requests.get(url, headers=dataverse_emulator.headers, timeout=10).status_code == 500
    assert requests.get(url, headers=dataverse_emulator.headers, timeout=10).status_code == 200
    assert [e["status"] for e in dataverse_emulator.requests(path="queues")] == [500, 200]
    dataverse_emulator.requests.clear()
    dataverse_emulator.faults.clear()
    assert dataverse_emulator.requests() == [] and dataverse_emulator.faults.list() == []


def test_snapshot_helpers(dataverse_emulator, conversation_factory):
    dataverse_emulator.snapshot("before")
    conversation_factory()
    assert dataverse_emulator.health()["counts"]["msdyn_ocliveworkitem"] == 6
    dataverse_emulator.restore("before")
    assert dataverse_emulator.health()["counts"]["msdyn_ocliveworkitem"] == 5


def test_clock_helpers(dataverse_emulator):
    probe = requests.get(f"{dataverse_emulator.url}/_emulator/clock", timeout=10)
    assert probe.status_code == 200, f"/_emulator/clock answered {probe.status_code}: {probe.text[:300]}"
    dataverse_emulator.clock.set("2026-03-01T08:00:00Z")
    assert dataverse_emulator.clock.advance(hours=2)["now"] == "2026-03-01T10:00:00Z"
    assert dataverse_emulator.clock.get() == {"now": "2026-03-01T10:00:00Z", "frozen": True}
    dataverse_emulator.reset()
    assert dataverse_emulator.clock.get()["now"] != "2026-03-01T10:00:00Z"
