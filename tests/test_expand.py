"""$expand of single-valued navigation properties (nested $select, several items, polymorphic lookups, single
records, errors) and $filter on a lookup's path, checked against the database of the seeded data set."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from emulator.metadata import table as metadata_table

from .conftest import API

SET = "msdyn_ocliveworkitems"
AGENT = "msdyn_activeagentid_msdyn_ocliveworkitem"
ACCOUNT = "msdyn_customer_msdyn_ocliveworkitem_account"
CONTACT = "msdyn_customer_msdyn_ocliveworkitem_contact"
FV = "@OData.Community.Display.V1.FormattedValue"
# A contact named exactly like an account, and a conversation whose customer it is (added to this module's copy).
TWIN_CONTACT = "0b000000-0000-4000-8000-000000000001"
TWIN_CONVERSATION = "0b000000-0000-4000-8000-000000000002"
TEAM = "0b000000-0000-4000-8000-000000000003"  # owns TWIN_CONVERSATION


@pytest.fixture(scope="module", autouse=True)
def twin(seeded) -> str:
    """The name shared by an account and TWIN_CONTACT."""
    tables = seeded.db.tables
    with seeded.db.engine.begin() as conn:
        name = conn.execute(sa.select(tables["account"].c.name).order_by(tables["account"].c.accountid)
                            .limit(1)).scalar_one()
        conn.execute(tables["contact"].insert().values(contactid=TWIN_CONTACT, fullname=name, versionnumber=5))
        conn.execute(tables["team"].insert().values(teamid=TEAM, name="Escalations", versionnumber=7))
        conn.execute(tables["msdyn_ocliveworkitem"].insert().values(
            activityid=TWIN_CONVERSATION, subject="Twin", msdyn_customer=TWIN_CONTACT,
            msdyn_customer__target="contact", ownerid=TEAM, ownerid__target="team", versionnumber=6))
    return name


def conversations(seeded) -> dict[str, sa.Row]:
    conv = seeded.db.tables["msdyn_ocliveworkitem"]
    with seeded.db.engine.connect() as conn:
        return {r.activityid: r for r in conn.execute(sa.select(conv))}


def rows_of(seeded, logical_name: str) -> dict[str, sa.Row]:
    sql = seeded.db.tables[logical_name]
    key = metadata_table(logical_name).primary_id
    with seeded.db.engine.connect() as conn:
        return {r._mapping[key]: r for r in conn.execute(sa.select(sql))}


def error(response) -> tuple[int, str, str]:
    body = response.get_json()["error"]
    return response.status_code, body["code"], body["message"]


def test_expand_with_nested_select_nests_the_related_row(client, seeded):
    response = client.get(f"{SET}?$select=subject&$expand={AGENT}($select=fullname)")
    assert response.status_code == 200
    body = response.get_json()
    assert body["@odata.context"] == (f"http://localhost{API}/$metadata#{SET}(subject,{AGENT}(fullname))")
    users = rows_of(seeded, "systemuser")
    stored = conversations(seeded)
    empty = 0
    for record in body["value"]:
        assert list(record) == ["@odata.etag", "subject", "activityid", AGENT]
        agent_id = stored[record["activityid"]].msdyn_activeagentid
        if agent_id is None:
            empty += 1
            assert record[AGENT] is None
            continue
        user = users[agent_id]
        assert record[AGENT] == {"@odata.etag": f'W/"{user.versionnumber}"', "fullname": user.fullname,
                                 "systemuserid": agent_id}
    assert 0 < empty < len(body["value"])


def test_several_expansions_and_expansion_without_select(client, seeded):
    body = client.get(f"{SET}?$select=subject&$expand={AGENT},msdyn_liveworkstreamid_msdyn_ocliveworkitem"
                      f"($select=msdyn_name,msdyn_streamsource)&$top=30").get_json()
    assert body["@odata.context"].endswith(
        f"#{SET}(subject,{AGENT}(),msdyn_liveworkstreamid_msdyn_ocliveworkitem(msdyn_name,msdyn_streamsource))")
    every_user_column = {a.property_name for a in metadata_table("systemuser").attributes}
    streams = rows_of(seeded, "msdyn_liveworkstream")
    stored = conversations(seeded)
    checked = 0
    for record in body["value"]:
        row = stored[record["activityid"]]
        if record[AGENT] is not None:
            assert set(record[AGENT]) == every_user_column | {"@odata.etag"}
            assert record[AGENT]["systemuserid"] == row.msdyn_activeagentid
            checked += 1
        stream = record["msdyn_liveworkstreamid_msdyn_ocliveworkitem"]
        if row.msdyn_liveworkstreamid is None:
            assert stream is None
            continue
        expected = streams[row.msdyn_liveworkstreamid]
        assert stream == {"@odata.etag": f'W/"{expected.versionnumber}"', "msdyn_name": expected.msdyn_name,
                          "msdyn_streamsource": expected.msdyn_streamsource,
                          "msdyn_liveworkstreamid": row.msdyn_liveworkstreamid}
    assert checked


def test_expand_without_top_level_select_lists_only_the_navigation_in_the_context(client):
    body = client.get(f"{SET}?$expand={AGENT}($select=fullname,internalemailaddress)&$top=1").get_json()
    assert body["@odata.context"].endswith(f"#{SET}({AGENT}(fullname,internalemailaddress))")
    assert "subject" in body["value"][0]


def test_polymorphic_expansion_returns_the_customer_only_from_its_own_table(client, seeded):
    accounts, contacts = rows_of(seeded, "account"), rows_of(seeded, "contact")
    stored = conversations(seeded)
    records = client.values(f"{SET}?$select=_msdyn_customer_value&$expand={ACCOUNT}($select=name),"
                            f"{CONTACT}($select=fullname)")
    kinds = set()
    for record in records:
        row = stored[record["activityid"]]
        target = row.msdyn_customer__target if row.msdyn_customer else None
        kinds.add(target)
        if target == "account":
            assert record[ACCOUNT]["accountid"] == row.msdyn_customer
            assert record[ACCOUNT]["name"] == accounts[row.msdyn_customer].name
            assert record[CONTACT] is None
        elif target == "contact":
            assert record[CONTACT]["contactid"] == row.msdyn_customer
            assert record[CONTACT]["fullname"] == contacts[row.msdyn_customer].fullname
            assert record[ACCOUNT] is None
        else:
            assert record[ACCOUNT] is None and record[CONTACT] is None
    assert {"account", "contact"} <= kinds


def test_expand_on_a_single_record(client, seeded):
    stored = conversations(seeded)
    activity_id, row = next((k, r) for k, r in stored.items() if r.msdyn_activeagentid)
    user = rows_of(seeded, "systemuser")[row.msdyn_activeagentid]
    response = client.get(f"{SET}({activity_id})?$select=subject&$expand={AGENT}($select=fullname)")
    assert response.status_code == 200
    body = response.get_json()
    assert body["@odata.context"] == f"http://localhost{API}/$metadata#{SET}(subject,{AGENT}(fullname))/$entity"
    assert body[AGENT] == {"@odata.etag": f'W/"{user.versionnumber}"', "fullname": user.fullname,
                           "systemuserid": user.systemuserid}
    twin = client.get(f"{SET}({TWIN_CONVERSATION})?$expand={ACCOUNT},{CONTACT}($select=fullname)").get_json()
    assert twin[ACCOUNT] is None
    assert twin[CONTACT] == {"@odata.etag": 'W/"5"', "fullname": twin[CONTACT]["fullname"],
                             "contactid": TWIN_CONTACT}


def test_navigation_shared_by_two_targets_returns_each_targets_own_columns(client, seeded):
    users = rows_of(seeded, "systemuser")
    records = client.values(f"{SET}?$select=subject&$expand=ownerid_msdyn_ocliveworkitem($select=fullname,name)")
    by_id = {r["activityid"]: r["ownerid_msdyn_ocliveworkitem"] for r in records}
    assert by_id[TWIN_CONVERSATION] == {"@odata.etag": 'W/"7"', "name": "Escalations", "teamid": TEAM}
    stored = conversations(seeded)
    for activity_id, owner in by_id.items():
        if activity_id != TWIN_CONVERSATION:
            user = users[stored[activity_id].ownerid]
            assert owner == {"@odata.etag": f'W/"{user.versionnumber}"', "fullname": user.fullname,
                             "systemuserid": user.systemuserid}
    owner = client.get(f"{SET}({TWIN_CONVERSATION})?$select=_ownerid_value",
                       headers={"Prefer": 'odata.include-annotations="*"'}).get_json()
    assert owner["_ownerid_value" + FV] == "Escalations"
    assert owner["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "team"
    status, code, message = error(client.get(f"{SET}?$expand=ownerid_msdyn_ocliveworkitem($select=nosuch)"))
    assert (status, code) == (400, "0x0") and "'nosuch'" in message


def test_expanded_records_carry_annotations_when_asked(client, seeded):
    headers = {"Prefer": 'odata.include-annotations="*"'}
    records = client.values(f"{SET}?$select=subject&$expand=msdyn_liveworkstreamid_msdyn_ocliveworkitem"
                            f"($select=msdyn_streamsource,_ownerid_value)&$top=5", headers=headers)
    users = rows_of(seeded, "systemuser")
    for record in records:
        stream = record["msdyn_liveworkstreamid_msdyn_ocliveworkitem"]
        assert list(stream)[:2] == ["@odata.etag", "msdyn_streamsource" + FV]
        assert stream["msdyn_streamsource" + FV] in {"Live chat", "SMS", "WhatsApp", "Facebook", "Voice",
                                                     "Microsoft Teams"}
        assert stream["_ownerid_value" + FV] == users[stream["_ownerid_value"]].fullname
    plain = client.values(f"{SET}?$expand=msdyn_liveworkstreamid_msdyn_ocliveworkitem&$top=5")
    for record in plain:
        assert not [k for k in record["msdyn_liveworkstreamid_msdyn_ocliveworkitem"] if "@" in k and k[0] != "@"]


def test_expansion_follows_the_next_link(client, seeded):
    first = client.get(f"{SET}?$select=subject&$expand={AGENT}($select=fullname)",
                       headers={"Prefer": "odata.maxpagesize=10"}).get_json()
    second = client.get(urlsplit(first["@odata.nextLink"])._replace(scheme="", netloc="").geturl(), headers={"Prefer": "odata.maxpagesize=10"}).get_json()
    stored = conversations(seeded)
    assert second["value"]
    for record in second["value"]:
        agent = stored[record["activityid"]].msdyn_activeagentid
        assert (record[AGENT] or {}).get("systemuserid") == agent


def test_one_query_per_navigation_property(client, seeded):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(seeded.db.engine, "before_cursor_execute", record)
    try:
        records = client.values(f"{SET}?$select=subject&$expand={AGENT}($select=fullname),{ACCOUNT}($select=name)",
                                headers={"Prefer": "odata.maxpagesize=200"})
    finally:
        sa.event.remove(seeded.db.engine, "before_cursor_execute", record)
    assert len(records) == 200
    assert len(statements) == 3, statements  # the page, then one query per navigation property


@pytest.mark.parametrize("expand, status, code, message", [
    ("msdyn_nosuchnav", 400, "0x0",
     "Could not find a property named 'msdyn_nosuchnav' on type 'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'."),
    (f"{AGENT}($select=nosuchcolumn)", 400, "0x0",
     "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.systemuser'."),
    ("_msdyn_activeagentid_value", 400, "0x0",
     "Could not find a property named '_msdyn_activeagentid_value' on type "
     "'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'."),
    (f"{AGENT}($filter=fullname eq 'x')", 400, "0x80060888", "'$filter' is not allowed inside $expand"),
    (f"{AGENT}($orderby=fullname)", 400, "0x80060888", "'$orderby' is not allowed inside $expand"),
    (f"{AGENT}($select=fullname", 400, "0x80060888", "unbalanced"),
    (f"{AGENT}($expand=createdby)", 501, "0x8004d101", "Nested $expand"),
    ("msdyn_nosuchnav/$ref", 400, "0x0", "Could not find a property named 'msdyn_nosuchnav'"),
    (f"{AGENT}/fullname", 400, "0x80060888", "an expand path is one navigation property"),
    (f"{AGENT}/$ref", 501, "0x8004d101", "$ref and type casts are not implemented"),
    (f"{AGENT}/Microsoft.Dynamics.CRM.systemuser", 501, "0x8004d101", "$ref and type casts are not implemented"),
    (f"{AGENT},{AGENT}", 400, "0x80060888", "more than once"),
])
def test_bad_expand_is_a_dataverse_shaped_error(client, expand, status, code, message):
    got_status, got_code, got_message = error(client.get(f"{SET}?$expand={quote(expand)}"))
    assert (got_status, got_code) == (status, code)
    assert message in got_message


def test_collection_valued_navigation_is_refused_clearly(client):
    # on systemuser, the conversation's agent relationship is one-to-many (collection-valued)
    status, code, message = error(client.get(f"systemusers?$expand={AGENT}"))
    assert (status, code) == (400, "0x80060888")
    assert "collection-valued" in message and AGENT in message


def test_expand_errors_on_a_single_record_too(client, seeded):
    activity_id = next(iter(conversations(seeded)))
    status, code, _ = error(client.get(f"{SET}({activity_id})?$expand=msdyn_nosuchnav"))
    assert (status, code) == (400, "0x0")


# -- $filter on a lookup's path ----------------------------------------------------------------------------------

def test_filter_on_the_agent_name_matches_case_insensitively(client, seeded):
    stored = conversations(seeded)
    users = rows_of(seeded, "systemuser")
    agent_id = next(r.msdyn_activeagentid for r in stored.values() if r.msdyn_activeagentid)
    name = users[agent_id].fullname
    expected = {k for k, r in stored.items() if r.msdyn_activeagentid
                and users[r.msdyn_activeagentid].fullname.lower() == name.lower()}
    for spelled in (name, name.upper(), name.lower()):
        text = quote(f"{AGENT}/fullname eq '{spelled}'")
        ids = {r["activityid"] for r in client.values(f"{SET}?$select=subject&$filter={text}")}
        assert ids == expected and expected


def test_filter_on_a_polymorphic_path_only_follows_its_own_target(client, seeded, twin):
    stored = conversations(seeded)
    accounts = rows_of(seeded, "account")
    by_account = {k for k, r in stored.items() if r.msdyn_customer__target == "account"
                  and accounts[r.msdyn_customer].name == twin}
    text = quote(f"{ACCOUNT}/name eq '{twin}'")
    assert {r["activityid"] for r in client.values(f"{SET}?$filter={text}")} == by_account
    assert TWIN_CONVERSATION not in by_account
    contact_text = quote(f"{CONTACT}/fullname eq '{twin}'")
    assert TWIN_CONVERSATION in {r["activityid"] for r in client.values(f"{SET}?$filter={contact_text}")}


def test_filter_with_a_string_function_on_a_lookup_path(client, seeded):
    stored = conversations(seeded)
    users = rows_of(seeded, "systemuser")
    expected = {k for k, r in stored.items() if r.msdyn_activeagentid
                and "a" in users[r.msdyn_activeagentid].fullname.lower()}
    text = quote(f"contains({AGENT}/fullname,'A')")
    assert {r["activityid"] for r in client.values(f"{SET}?$select=subject&$filter={text}")} == expected


def test_filter_on_an_unknown_path_column_names_the_target_type(client):
    status, code, message = error(client.get(f"{SET}?$filter={quote(f'{AGENT}/nosuch eq 1')}"))
    assert (status, code) == (400, "0x0")
    assert message == "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.systemuser'."
