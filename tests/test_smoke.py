"""The documented getConversations example as a Web API request, over real HTTP, on the default data."""
import requests

from emulator.store.seed import DOC_AGENT_ID

from .conftest import API, AUTH

EXAMPLE = (f"msdyn_ocliveworkitems?$select=msdyn_title,msdyn_channel&$filter=_msdyn_activeagentid_value eq "
           f"{DOC_AGENT_ID} and statuscode eq 3&$orderby=createdon desc")


def test_documented_example_returns_waiting_conversations_newest_first(client, seeded):
    response = client.get(EXAMPLE)
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    assert response.headers["Content-Type"] == "application/json; odata.metadata=minimal"
    body = response.get_json()
    assert body["@odata.context"].endswith("/api/data/v9.2/$metadata#msdyn_ocliveworkitems(msdyn_title,msdyn_channel)")
    rows = body["value"]
    assert len(rows) >= 3
    # cross-check against the database: every waiting conversation of the agent, newest first
    ids = [r["activityid"] for r in client.values(
        f"msdyn_ocliveworkitems?$select=createdon,statuscode,_msdyn_activeagentid_value&$filter="
        f"_msdyn_activeagentid_value eq {DOC_AGENT_ID}")]
    with seeded.db.engine.connect() as conn:
        t = seeded.db.tables["msdyn_ocliveworkitem"]
        expected = [r.activityid for r in conn.execute(
            t.select().where(t.c.msdyn_activeagentid == DOC_AGENT_ID, t.c.statuscode == 3)
            .order_by(t.c.createdon.desc(), t.c.activityid))]
    assert [r["activityid"] for r in rows] == expected
    assert set(expected) <= set(ids)
    for row in rows:
        assert set(row) == {"@odata.etag", "msdyn_title", "msdyn_channel", "activityid"}
        assert row["@odata.etag"].startswith('W/"')


def test_live_server_speaks_http(live):
    response = requests.get(f"{live.url}{API}/{EXAMPLE}", headers=AUTH, timeout=10)
    assert response.status_code == 200
    assert response.json()["value"]
