"""Instance annotations (Prefer: odata.include-annotations): formatted values, lookup annotations, key order,
the Prefer forms and Preference-Applied, checked against the database of the seeded data set."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from emulator.metadata import optionsets

FV = "@OData.Community.Display.V1.FormattedValue"
NAV = "@Microsoft.Dynamics.CRM.associatednavigationproperty"
LOGICAL = "@Microsoft.Dynamics.CRM.lookuplogicalname"
ALL = {"Prefer": 'odata.include-annotations="*"'}
SET = "msdyn_ocliveworkitems"
# Rows this module adds to its own copy of the data set (the `seeded` fixture is per module).
TWO_CHANNELS = "0a000000-0000-4000-8000-000000000001"
MIDNIGHT = "0a000000-0000-4000-8000-000000000002"

# Labels from the conversation table reference (conversation-entity.md), not from the emulator's metadata.
STATUS_LABELS = {1: "Open", 2: "Active", 3: "Waiting", 4: "Closed", 5: "Wrap-up", 6: "Resolved", 7: "Scheduled"}
STATE_LABELS = {0: "Open", 1: "Closed", 2: "Resolved", 3: "Scheduled", 4: "Wrap-up (Deprecated)"}


@pytest.fixture(scope="module", autouse=True)
def extra_rows(seeded):
    """Two conversations with values the seed never produces: a two-channel multi-select, exact dates, numbers."""
    conv = seeded.db.tables["msdyn_ocliveworkitem"]
    with seeded.db.engine.begin() as conn:
        contact = conn.execute(sa.select(seeded.db.tables["contact"].c.contactid).limit(1)).scalar_one()
        conn.execute(conv.insert().values(
            {"activityid": TWO_CHANNELS, "subject": "Two channels", "statecode": 0, "statuscode": 3,
             "msdyn_channel": "192360000,192340000", "createdon": "2026-01-15T12:00:00Z",
             "msdyn_closedon": "2025-12-31T23:59:59Z", "msdyn_conversationhandletimeinseconds": 1234,
             "msdyn_transfercount": 0, "msdyn_firstresponsetimeinmsadjforoh": 24078.23,
             "msdyn_averageresponsetimeinmsadjforoh": 5.5, "msdyn_isoutbound": True, "msdyn_isabandoned": False,
             "prioritycode": 2, "msdyn_customer": contact, "msdyn_customer__target": "contact",
             "activitytypecode": "msdyn_ocliveworkitem", "versionnumber": 999001}))
        conn.execute(conv.insert().values(
            {"activityid": MIDNIGHT, "subject": "Midnight", "statecode": 1, "statuscode": 4,
             "msdyn_channel": "192370000", "createdon": "2025-11-03T00:05:00Z", "versionnumber": 1234567}))


def db_rows(seeded, *where) -> dict[str, sa.Row]:
    conv = seeded.db.tables["msdyn_ocliveworkitem"]
    with seeded.db.engine.connect() as conn:
        return {r.activityid: r for r in conn.execute(sa.select(conv).where(*where))}


def names(seeded, table: str, key: str, name: str) -> dict[str, str]:
    sql = seeded.db.tables[table]
    with seeded.db.engine.connect() as conn:
        return dict(conn.execute(sa.select(sql.c[key], sql.c[name])).all())


def test_no_annotations_without_the_header(client):
    response = client.get(f"{SET}?$top=50")
    assert response.status_code == 200
    assert "Preference-Applied" not in response.headers
    for record in response.get_json()["value"]:
        assert [k for k in record if "@" in k] == ["@odata.etag"]
    single = client.get(f"{SET}({TWO_CHANNELS})").get_json()
    assert [k for k in single if "@" in k] == ["@odata.context", "@odata.etag"]


def test_preference_applied_echoes_the_annotation_preference(client):
    response = client.get(f"{SET}?$top=1", headers={"Prefer": 'odata.maxpagesize=1,odata.include-annotations="*"'})
    assert response.headers["Preference-Applied"] == 'odata.maxpagesize=1,odata.include-annotations="*"'
    listed = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
    response = client.get(f"{SET}?$top=1", headers={"Prefer": listed})
    assert response.headers["Preference-Applied"] == listed


@pytest.mark.parametrize("column, labels", [
    ("statuscode", STATUS_LABELS),
    ("statecode", STATE_LABELS),
    ("prioritycode", {0: "Low", 1: "Normal", 2: "High"}),
    ("msdyn_statuschangereason", {o.value: o.label for o in optionsets.STATUS_CHANGE_REASON.options}),
    ("msdyn_customersentimentlabel", {o.value: o.label for o in optionsets.SENTIMENT_LABEL.options}),
    ("msdyn_workstreamworkdistributionmode", {192350000: "Push", 192350001: "Pick"}),
])
def test_choice_columns_carry_their_option_label(client, seeded, column, labels):
    records = client.values(f"{SET}?$select={column}", headers=ALL)
    stored = db_rows(seeded)
    assert len(records) == len(stored)
    seen = set()
    for record in records:
        value = stored[record["activityid"]]._mapping[column]
        assert record[column] == value
        if value is None:
            assert column + FV not in record
        else:
            assert record[column + FV] == labels[value]
            seen.add(value)
    assert len(seen) >= 2  # the data set exercises more than one option


def test_multi_select_labels_are_joined_with_semicolons(client, seeded):
    record = client.values(f"{SET}?$select=msdyn_channel&$filter=activityid eq {TWO_CHANNELS}", headers=ALL)[0]
    assert record["msdyn_channel"] == "192360000,192340000"
    assert record["msdyn_channel" + FV] == "Live chat; SMS"
    labels = {o.value: o.label for o in optionsets.STREAM_SOURCE.options}
    for record in client.values(f"{SET}?$select=msdyn_channel", headers=ALL):
        expected = "; ".join(labels[int(v)] for v in record["msdyn_channel"].split(","))
        assert record["msdyn_channel" + FV] == expected


@pytest.mark.parametrize("column", ["msdyn_isoutbound", "msdyn_isabandoned", "msdyn_isagentaccepted",
                                    "msdyn_copilotengaged"])
def test_booleans_read_yes_or_no(client, seeded, column):
    stored = db_rows(seeded)
    records = client.values(f"{SET}?$select={column}", headers=ALL)
    assert {r[column] for r in records} >= {True, False}
    for record in records:
        assert record[column] is stored[record["activityid"]]._mapping[column]
        if record[column] is None:  # only this module's inserted row leaves flags unset
            assert column + FV not in record
        else:
            assert record[column + FV] == ("Yes" if record[column] else "No")


def test_lookups_carry_the_related_name_logical_name_and_navigation_property(client, seeded):
    users = names(seeded, "systemuser", "systemuserid", "fullname")
    streams = names(seeded, "msdyn_liveworkstream", "msdyn_liveworkstreamid", "msdyn_name")
    stored = db_rows(seeded)
    records = client.values(f"{SET}?$select=_msdyn_activeagentid_value,_msdyn_liveworkstreamid_value", headers=ALL)
    empty = 0
    for record in records:
        row = stored[record["activityid"]]
        agent = record["_msdyn_activeagentid_value"]
        assert agent == row.msdyn_activeagentid
        if agent is None:
            empty += 1
            assert not [k for k in record if k.startswith("_msdyn_activeagentid_value@")]
        else:
            assert record["_msdyn_activeagentid_value" + FV] == users[agent]
            assert record["_msdyn_activeagentid_value" + LOGICAL] == "systemuser"
            assert record["_msdyn_activeagentid_value" + NAV] == "msdyn_activeagentid_msdyn_ocliveworkitem"
        stream = record["_msdyn_liveworkstreamid_value"]
        if stream is not None:
            assert record["_msdyn_liveworkstreamid_value" + FV] == streams[stream]
            assert record["_msdyn_liveworkstreamid_value" + LOGICAL] == "msdyn_liveworkstream"
            assert record["_msdyn_liveworkstreamid_value" + NAV] == "msdyn_liveworkstreamid_msdyn_ocliveworkitem"
    assert 0 < empty < len(records)  # both kinds of row were checked


def test_polymorphic_customer_is_annotated_per_target_table(client, seeded):
    accounts = names(seeded, "account", "accountid", "name")
    contacts = names(seeded, "contact", "contactid", "fullname")
    stored = db_rows(seeded)
    kinds = set()
    for record in client.values(f"{SET}?$select=_msdyn_customer_value", headers=ALL):
        customer = record["_msdyn_customer_value"]
        if customer is None:
            continue
        target = stored[record["activityid"]].msdyn_customer__target
        kinds.add(target)
        expected_name = accounts[customer] if target == "account" else contacts[customer]
        assert record["_msdyn_customer_value" + FV] == expected_name
        assert record["_msdyn_customer_value" + LOGICAL] == target
        assert record["_msdyn_customer_value" + NAV] == f"msdyn_customer_msdyn_ocliveworkitem_{target}"
    assert kinds == {"account", "contact"}


def test_dates_and_numbers_use_en_us_formats_in_utc(client):
    select = ("createdon,msdyn_closedon,msdyn_conversationhandletimeinseconds,msdyn_transfercount,"
              "msdyn_firstresponsetimeinmsadjforoh,msdyn_averageresponsetimeinmsadjforoh,versionnumber,"
              "activitytypecode")
    record = client.values(f"{SET}?$select={select}&$filter=activityid eq {TWO_CHANNELS}", headers=ALL)[0]
    assert record["createdon"] == "2026-01-15T12:00:00Z"
    assert record["createdon" + FV] == "1/15/2026 12:00 PM"
    assert record["msdyn_closedon" + FV] == "12/31/2025 11:59 PM"
    assert record["msdyn_conversationhandletimeinseconds" + FV] == "1,234"
    assert record["msdyn_transfercount" + FV] == "0"
    assert record["msdyn_firstresponsetimeinmsadjforoh"] == 24078.23
    assert record["msdyn_firstresponsetimeinmsadjforoh" + FV] == "24,078.23"
    assert record["msdyn_averageresponsetimeinmsadjforoh" + FV] == "5.50"
    assert record["versionnumber" + FV] == "999,001"
    assert record["activitytypecode" + FV] == "Conversation"
    other = client.values(f"{SET}?$select=createdon,versionnumber&$filter=activityid eq {MIDNIGHT}", headers=ALL)[0]
    assert other["createdon" + FV] == "11/3/2025 12:05 AM"
    assert other["versionnumber" + FV] == "1,234,567"


def test_strings_and_keys_have_no_formatted_value(client):
    record = client.values(f"{SET}?$select=subject,msdyn_title&$filter=activityid eq {TWO_CHANNELS}",
                           headers=ALL)[0]
    assert set(record) == {"@odata.etag", "subject", "msdyn_title", "activityid"}


def test_annotations_come_before_their_value(client):
    records = client.values(f"{SET}?$top=20", headers=ALL)
    for record in records:
        keys = list(record)
        assert keys[0] == "@odata.etag"
        for i, key in enumerate(keys):
            if "@" in key and not key.startswith("@"):
                prop = key.split("@")[0]
                assert keys.index(prop) > i, f"{key} after {prop}"
        agent = [k for k in keys if k.startswith("_msdyn_activeagentid_value")]
        if record["_msdyn_activeagentid_value"] is not None:
            # Dataverse's order: FormattedValue, associatednavigationproperty, lookuplogicalname, value
            assert agent == ["_msdyn_activeagentid_value" + FV, "_msdyn_activeagentid_value" + NAV,
                             "_msdyn_activeagentid_value" + LOGICAL, "_msdyn_activeagentid_value"]


@pytest.mark.parametrize("preference, expected", [
    ("OData.Community.Display.V1.FormattedValue", {FV}),
    ("Microsoft.Dynamics.CRM.lookuplogicalname", {LOGICAL}),
    ("Microsoft.Dynamics.CRM.lookuplogicalname,Microsoft.Dynamics.CRM.associatednavigationproperty",
     {LOGICAL, NAV}),
    ("Microsoft.Dynamics.CRM.*", {LOGICAL, NAV}),
    ("OData.Community.*", {FV}),
    ("*", {FV, LOGICAL, NAV}),
    ("Microsoft.Dynamics.CRM.totalrecordcount", set()),
])
def test_only_the_annotations_asked_for_appear(client, preference, expected):
    headers = {"Prefer": f'odata.include-annotations="{preference}"'}
    records = client.values(f"{SET}?$select=statuscode,_msdyn_customer_value,subject&$top=10", headers=headers)
    found = {"@" + k.split("@", 1)[1] for r in records for k in r if "@" in k and not k.startswith("@")}
    assert found == expected


def test_single_record_is_annotated(client, seeded):
    row = db_rows(seeded, seeded.db.tables["msdyn_ocliveworkitem"].c.activityid == TWO_CHANNELS)[TWO_CHANNELS]
    contacts = names(seeded, "contact", "contactid", "fullname")
    response = client.get(f"{SET}({TWO_CHANNELS})?$select=statuscode,msdyn_channel,_msdyn_customer_value",
                          headers=ALL)
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == 'odata.include-annotations="*"'
    body = response.get_json()
    assert list(body) == [
        "@odata.context", "@odata.etag", "statuscode" + FV, "statuscode", "msdyn_channel" + FV, "msdyn_channel",
        "_msdyn_customer_value" + FV, "_msdyn_customer_value" + NAV, "_msdyn_customer_value" + LOGICAL,
        "_msdyn_customer_value", "activityid"]
    assert body["statuscode" + FV] == "Waiting"
    assert body["msdyn_channel" + FV] == "Live chat; SMS"
    assert body["_msdyn_customer_value" + FV] == contacts[row.msdyn_customer]
    assert body["_msdyn_customer_value" + LOGICAL] == "contact"


def test_lookup_names_are_fetched_once_per_target_table(client, seeded):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(seeded.db.engine, "before_cursor_execute", record)
    try:
        headers = {"Prefer": 'odata.include-annotations="*",odata.maxpagesize=200'}
        records = client.values(f"{SET}?$select=_msdyn_activeagentid_value,_ownerid_value,_msdyn_customer_value",
                                headers=headers)
    finally:
        sa.event.remove(seeded.db.engine, "before_cursor_execute", record)
    assert len(records) == 200
    # the page itself, then one name query each for systemuser, account and contact
    assert len(statements) == 4, statements
