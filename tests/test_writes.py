"""Writes through the Web API: create, update, upsert, delete, single-property PUT/DELETE, lookups, ETags,
conditional GET, bulk actions, and Dataverse's validation errors. After every rejected write the whole database
is compared with a dump taken before it."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from emulator import metadata
from emulator.store.seed import ADMIN_USER_ID, DOC_AGENT_ID

from .conftest import API

CONV = "msdyn_ocliveworkitems"
TYPE = "Microsoft.Dynamics.CRM.msdyn_ocliveworkitem"
MISSING = "00000000-0000-0000-0000-0000000000aa"
AGENT_NAV = "msdyn_activeagentid_msdyn_ocliveworkitem@odata.bind"


def dump(emulator) -> dict:
    """Every row of every table (hidden columns included), in a stable order."""
    out = {}
    with emulator.db.engine.connect() as conn:
        for name, table in emulator.db.tables.items():
            rows = conn.execute(sa.select(table)).mappings().all()
            out[name] = sorted((dict(r) for r in rows), key=lambda r: str(r[table.primary_key.columns[0].name]))
    return out


def row(emulator, logical_name: str, key: str) -> dict | None:
    table = emulator.db.tables[logical_name]
    pk = table.primary_key.columns[0]
    with emulator.db.engine.connect() as conn:
        found = conn.execute(sa.select(table).where(pk == key)).mappings().first()
    return dict(found) if found else None


def first_id(emulator, logical_name: str) -> str:
    table = emulator.db.tables[logical_name]
    pk = table.primary_key.columns[0]
    with emulator.db.engine.connect() as conn:
        return conn.execute(sa.select(pk).order_by(pk).limit(1)).scalar_one()


def max_version(emulator) -> int:
    with emulator.db.engine.connect() as conn:
        return max(conn.execute(sa.select(sa.func.max(t.c.versionnumber))).scalar() or 0
                   for t in emulator.db.tables.values() if "versionnumber" in t.c)


def created_key(response) -> str:
    assert response.status_code == 204, response.get_data(as_text=True)
    url = response.headers["OData-EntityId"]
    return url[url.index("(") + 1:-1]


def assert_error(response, status: int, code: str, message: str, *, exact: bool = True) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code
    if exact:
        assert error["message"] == message
    else:
        assert error["message"].startswith(message), error["message"]


# -- create ------------------------------------------------------------------------------------------------------
def test_create_answers_204_with_absolute_entity_id_and_sets_server_columns(api, emulator):
    before = max_version(emulator)
    response = api.request("POST", CONV, json={"subject": "Order missing"})
    key = created_key(response)
    assert response.headers["OData-EntityId"] == f"http://localhost{API}/{CONV}({key})"
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers
    assert response.headers["OData-Version"] == "4.0"
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert stored["createdon"] == stored["modifiedon"] == "2026-01-15T12:00:00Z"
    assert stored["createdby"] == stored["modifiedby"] == ADMIN_USER_ID == emulator.caller_id
    assert stored["ownerid"] == ADMIN_USER_ID and stored["ownerid__target"] == "systemuser"
    assert stored["versionnumber"] == before + 1
    assert (stored["statecode"], stored["statuscode"]) == (0, 1)
    assert stored["msdyn_ocliveworkitemid"] == key
    assert stored["activitytypecode"] == "msdyn_ocliveworkitem"
    assert stored["prioritycode"] == 1 and stored["msdyn_isagentsession"] is True
    assert stored["msdyn_isoutbound"] is False
    body = api.get(f"{CONV}({key})?$select=subject,statuscode").get_json()
    assert body["subject"] == "Order missing" and body["@odata.etag"] == f'W/"{before + 1}"'


def test_create_with_representation_answers_201_with_the_selected_columns(api):
    response = api.request("POST", f"{CONV}?$select=subject,statecode", json={"subject": "Hello"},
                           headers={"Prefer": "return=representation"})
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in response.headers
    assert response.headers["Content-Type"] == "application/json; odata.metadata=minimal"
    body = response.get_json()
    assert body["@odata.context"] == f"http://localhost{API}/$metadata#{CONV}(subject,statecode)/$entity"
    assert set(body) == {"@odata.context", "@odata.etag", "subject", "statecode", "activityid"}
    assert body["subject"] == "Hello" and body["statecode"] == 0


def test_create_with_representation_and_no_select_returns_every_column(api):
    body = api.request("POST", CONV, json={"subject": "All"}, headers={"Prefer": "return=representation"}).get_json()
    assert body["@odata.context"].endswith(f"$metadata#{CONV}/$entity")
    assert body["_ownerid_value"] == ADMIN_USER_ID and body["createdon"] == "2026-01-15T12:00:00Z"


def test_client_supplied_key_is_kept_and_a_duplicate_is_412(api, emulator):
    key = "5f0b7c1e-0000-4000-8000-00000000abcd"
    assert created_key(api.request("POST", CONV, json={"activityid": key.upper(), "subject": "mine"})) == key
    before = dump(emulator)
    response = api.request("POST", CONV, json={"activityid": key, "subject": "again"})
    assert_error(response, 412, "0x80040237", "Cannot insert duplicate key.")
    assert dump(emulator) == before


def test_an_empty_string_is_stored_as_null(api, emulator):
    key = created_key(api.request("POST", CONV, json={"subject": "", "msdyn_title": "t"}))
    api.request("PATCH", f"{CONV}({key})", json={"msdyn_title": ""})
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert (stored["subject"], stored["msdyn_title"]) == (None, None)


def test_given_conversation_id_is_kept(api, emulator):
    key = created_key(api.request("POST", CONV, json={"msdyn_ocliveworkitemid": "chat-42"}))
    assert row(emulator, "msdyn_ocliveworkitem", key)["msdyn_ocliveworkitemid"] == "chat-42"


def test_overriddencreatedon_sets_createdon_and_keeps_the_migration_time(api, emulator):
    key = created_key(api.request("POST", CONV, json={"overriddencreatedon": "2025-03-01T08:30:00Z"}))
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert stored["createdon"] == "2025-03-01T08:30:00Z"
    assert stored["overriddencreatedon"] == stored["modifiedon"] == "2026-01-15T12:00:00Z"
    rows = api.values(f"{CONV}?$select=createdon&$filter=createdon lt 2025-04-01T00:00:00Z")
    assert key in [r["activityid"] for r in rows]


def test_read_only_server_columns_in_a_body_are_ignored(api, emulator):
    key = created_key(api.request("POST", CONV, json={
        "createdon": "2001-01-01T00:00:00Z", "modifiedon": "2001-01-01T00:00:00Z", "versionnumber": 5,
        "activitytypecode": "email", "createdby_msdyn_ocliveworkitem@odata.bind": f"/systemusers({DOC_AGENT_ID})"}))
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert stored["createdon"] == "2026-01-15T12:00:00Z" and stored["versionnumber"] != 5
    assert stored["activitytypecode"] == "msdyn_ocliveworkitem" and stored["createdby"] == ADMIN_USER_ID


def test_odata_type_naming_the_table_and_python_odata_nulls_are_accepted(api, emulator):
    key = created_key(api.request("POST", CONV, json={"@odata.type": TYPE, "statecode": None, "subject": "new"}))
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert (stored["statecode"], stored["statuscode"], stored["subject"]) == (0, 1, "new")


def test_statecode_alone_sets_its_default_statuscode(api, emulator):
    key = created_key(api.request("POST", CONV, json={"statecode": 1}))
    assert row(emulator, "msdyn_ocliveworkitem", key)["statuscode"] == 4
    key = created_key(api.request("POST", CONV, json={"statecode": 0, "statuscode": 3}))
    assert row(emulator, "msdyn_ocliveworkitem", key)["statuscode"] == 3


def test_multi_select_values_are_stored_as_dataverse_returns_them(api, emulator):
    key = created_key(api.request("POST", CONV, json={"msdyn_channel": "192360000,192340000,192360000"}))
    assert row(emulator, "msdyn_ocliveworkitem", key)["msdyn_channel"] == "192360000,192340000"
    key = created_key(api.request("POST", CONV, json={"msdyn_channel": 192370000}))  # the Python SDK's form
    assert row(emulator, "msdyn_ocliveworkitem", key)["msdyn_channel"] == "192370000"


@pytest.mark.parametrize("table", [t for t in metadata.SHIPPED.tables if t.attribute(t.primary_name).valid_for_create
                                   and t.logical_name != "activitypointer" and not any(a.required == "ApplicationRequired" and a.is_lookup
                                               for a in t.attributes)],
                         ids=lambda t: t.entity_set)
def test_every_table_accepts_a_create(api, emulator, table):
    # tables whose name is computed (contact, lead, systemuser: tests/test_schema_breadth.py), activitypointer
    # (refused) and those that need a lookup (queueitem) are created in their own tests
    key = created_key(api.request("POST", table.entity_set, json={table.primary_name: "Made by a test"}))
    stored = row(emulator, table.logical_name, key)
    assert stored[table.primary_name] == "Made by a test" and stored["versionnumber"] > 0
    assert api.get(f"{table.entity_set}({key})").status_code == 200


# -- lookups -----------------------------------------------------------------------------------------------------
def test_lookup_bind_accepts_relative_absolute_and_slashless_urls_and_null_clears(api, emulator):
    for url in (f"/systemusers({DOC_AGENT_ID})", f"http://localhost{API}/systemusers({DOC_AGENT_ID})",
                f"systemusers({DOC_AGENT_ID.upper()})"):
        key = created_key(api.request("POST", CONV, json={AGENT_NAV: url}))
        body = api.get(f"{CONV}({key})?$select=_msdyn_activeagentid_value").get_json()
        assert body["_msdyn_activeagentid_value"] == DOC_AGENT_ID
    assert api.request("PATCH", f"{CONV}({key})", json={AGENT_NAV: None}).status_code == 204
    assert row(emulator, "msdyn_ocliveworkitem", key)["msdyn_activeagentid"] is None


def test_polymorphic_lookups_keep_their_target_table(api, emulator):
    account, contact = first_id(emulator, "account"), first_id(emulator, "contact")
    key = created_key(api.request("POST", CONV, json={
        "msdyn_customer_msdyn_ocliveworkitem_account@odata.bind": f"/accounts({account})"}))
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert (stored["msdyn_customer"], stored["msdyn_customer__target"]) == (account, "account")
    api.request("PATCH", f"{CONV}({key})", json={
        "msdyn_customer_msdyn_ocliveworkitem_contact@odata.bind": f"/contacts({contact})"})
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert (stored["msdyn_customer"], stored["msdyn_customer__target"]) == (contact, "contact")
    team = created_key(api.request("POST", "teams", json={"name": "Tier 2"}))
    api.request("PATCH", f"{CONV}({key})", json={"ownerid_msdyn_ocliveworkitem@odata.bind": f"/teams({team})"})
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert (stored["ownerid"], stored["ownerid__target"]) == (team, "team")
    api.request("PATCH", f"{CONV}({key})", json={"msdyn_customer_msdyn_ocliveworkitem_contact@odata.bind": None})
    stored = row(emulator, "msdyn_ocliveworkitem", key)
    assert (stored["msdyn_customer"], stored["msdyn_customer__target"]) == (None, None)


def test_lookup_to_a_missing_record_is_404_and_changes_nothing(api, emulator):
    before = dump(emulator)
    response = api.request("POST", CONV, json={"subject": "x", AGENT_NAV: f"/systemusers({MISSING})"})
    assert_error(response, 404, "0x80040217", f"systemuser With Id = {MISSING} Does Not Exist")
    assert dump(emulator) == before


PAYLOAD = "Error identified in Payload provided by the user for Entity :'msdyn_ocliveworkitems' ----> " \
          "InnerException : Microsoft.OData.ODataException: "
INVALID = "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property "

# (body, status, code, message) for create; every one must leave the database untouched
REJECTED_CREATES = [
    ({"bogus": 1}, 400, "0x0", INVALID + "'bogus' was found in entity 'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'."),
    ({"Subject": "x"}, 400, "0x0",
     INVALID + "'Subject' was found in entity 'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'."),
    ({"_msdyn_activeagentid_value": DOC_AGENT_ID}, 400, "0x0",
     INVALID + "'_msdyn_activeagentid_value' was found in entity 'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'."),
    ({"msdyn_activeagentid@odata.bind": f"/systemusers({DOC_AGENT_ID})"}, 400, "0x80048d19",
     PAYLOAD + "An undeclared property 'msdyn_activeagentid' which only has property annotations in the payload "
               "but no property value was found in the payload. In OData, only declared navigation properties and "
               "declared named streams can be represented as properties without values."),
    ({AGENT_NAV: f"/accounts({MISSING})"}, 400, "0x80048d19",
     PAYLOAD + "A resource of type 'Microsoft.Dynamics.CRM.account' was bound to the navigation property "
               "'msdyn_activeagentid_msdyn_ocliveworkitem', which expects 'Microsoft.Dynamics.CRM.systemuser'."),
    ({AGENT_NAV: "/systemusers(not-a-guid)"}, 400, "0x80048d19",
     PAYLOAD + "Cannot convert the literal 'not-a-guid' to the expected type 'Edm.Guid'."),
    ({AGENT_NAV: "/nothings(00000000-0000-0000-0000-000000000001)"}, 400, "0x80048d19",
     PAYLOAD + "Resource not found for the segment 'nothings'."),
    ({"statecode": "1"}, 400, "0x80048d19", PAYLOAD + "Cannot convert the literal '1' to the expected type 'Edm.Int32'."),
    ({"subject": 5}, 400, "0x80048d19", PAYLOAD + "Cannot convert the literal '5' to the expected type 'Edm.String'."),
    ({"msdyn_isoutbound": "true"}, 400, "0x80048d19",
     PAYLOAD + "Cannot convert the literal 'true' to the expected type 'Edm.Boolean'."),
    ({"msdyn_transfercount": 1.5}, 400, "0x80048d19",
     PAYLOAD + "Cannot convert the literal '1.5' to the expected type 'Edm.Int32'."),
    ({"msdyn_closedon": "yesterday"}, 400, "0x80048d19",
     PAYLOAD + "Cannot convert the literal 'yesterday' to the expected type 'Edm.DateTimeOffset'."),
    ({"activityid": "12345"}, 400, "0x80048d19",
     PAYLOAD + "Cannot convert the literal '12345' to the expected type 'Edm.Guid'."),
    ({"@odata.type": "Microsoft.Dynamics.CRM.account"}, 400, "0x80048d19",
     PAYLOAD + "A resource with type 'Microsoft.Dynamics.CRM.account' was found, but it is not assignable to the "
               "expected type 'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'. The type specified in the resource must "
               "be equal to either the expected type or a derived type."),
    ({"prioritycode": 7}, 400, "0x8004431a",
     "A validation error occurred. The value 7 of 'prioritycode' on record of type 'msdyn_ocliveworkitem' is outside "
     "the valid range. Accepted Values: 0,1,2"),
    ({"msdyn_channel": "192360000,5"}, 400, "0x8004431a",
     "A validation error occurred. The value 5 of 'msdyn_channel' on record of type 'msdyn_ocliveworkitem' is outside "
     "the valid range. Accepted Values: 19241000,192300000,192310000,192320000,192330000,192340000,192350000,"
     "192350001,192350002,192360000,192370000,192380000,192390000,192400000,192440000,192450000,192450001"),
    ({"msdyn_transfercount": -1}, 400, "0x8004431a",
     "A validation error occurred. The value -1 of 'msdyn_transfercount' on record of type 'msdyn_ocliveworkitem' is "
     "outside the valid range. Accepted Values: 0 to 2147483647"),
    ({"statecode": 1, "statuscode": 2}, 400, "0x80048408", "2 is not a valid status code for state code "
     "msdyn_ocliveworkitemState.Closed on msdyn_ocliveworkitem with Id "),
    ({"statuscode": 4}, 400, "0x80048408", "4 is not a valid status code for state code "
     "msdyn_ocliveworkitemState.Open on msdyn_ocliveworkitem with Id "),
    ({"subject": "x" * 201}, 400, "0x80044331", "A validation error occurred.  The length of the 'subject' attribute "
     "of the 'msdyn_ocliveworkitem' entity exceeded the maximum allowed length of '200'."),
]


@pytest.mark.parametrize("body,status,code,message", REJECTED_CREATES,
                         ids=[f"{i}-{next(iter(c[0]))}" for i, c in enumerate(REJECTED_CREATES)])
def test_rejected_create_answers_dataverse_error_and_changes_nothing(api, emulator, body, status, code, message):
    before = dump(emulator)
    response = api.request("POST", CONV, json={"subject": "ok", **body} if "subject" not in body else body)
    assert_error(response, status, code, message, exact=code != "0x80048408")
    assert dump(emulator) == before


@pytest.mark.parametrize("data,inner", [
    (b'{"subject": "x"', "Invalid JSON."), (b"", "The request body is empty"),
    (b'["subject"]', "The request body must be a JSON object"),
])
def test_malformed_bodies_are_400_and_change_nothing(api, emulator, data, inner):
    before = dump(emulator)
    response = api.request("POST", CONV, data=data, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "0x80048d19", PAYLOAD + inner, exact=False)
    assert dump(emulator) == before


def test_malformed_key_in_the_url_is_400(api, emulator):
    before = dump(emulator)
    response = api.request("PATCH", f"{CONV}(12345)", json={"subject": "x"})
    assert response.status_code == 400 and "not a valid GUID key" in response.get_json()["error"]["message"]
    assert dump(emulator) == before


# -- update and upsert -------------------------------------------------------------------------------------------
def test_update_answers_204_and_moves_modifiedon_and_version(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    old = row(emulator, "msdyn_ocliveworkitem", key)
    emulator.clock.advance(timedelta(minutes=5))
    response = api.request("PATCH", f"{CONV}({key})", json={"msdyn_title": "Renamed"}, headers={"If-Match": "*"})
    assert response.status_code == 204 and response.get_data() == b""
    assert response.headers["OData-EntityId"] == f"http://localhost{API}/{CONV}({key})"
    new = row(emulator, "msdyn_ocliveworkitem", key)
    assert new["msdyn_title"] == "Renamed" and new["modifiedon"] == "2026-01-15T12:05:00Z"
    assert new["createdon"] == old["createdon"] and new["versionnumber"] > old["versionnumber"]
    assert new["versionnumber"] == max_version(emulator)


def test_update_with_representation_answers_200(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    response = api.request("PATCH", f"{CONV}({key})?$select=msdyn_title", json={"msdyn_title": "T"},
                           headers={"Prefer": "return=representation"})
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "return=representation"
    assert {k: v for k, v in response.get_json().items() if not k.startswith("@")} == {
        "msdyn_title": "T", "activityid": key}


def test_state_changes_follow_the_state_model(api, emulator):
    key = created_key(api.request("POST", CONV, json={"statuscode": 2}))
    api.request("PATCH", f"{CONV}({key})", json={"statuscode": 3})
    assert row(emulator, "msdyn_ocliveworkitem", key)["statuscode"] == 3
    api.request("PATCH", f"{CONV}({key})", json={"statecode": 1})
    assert (row(emulator, "msdyn_ocliveworkitem", key)["statecode"],
            row(emulator, "msdyn_ocliveworkitem", key)["statuscode"]) == (1, 4)
    before = dump(emulator)
    response = api.request("PATCH", f"{CONV}({key})", json={"statuscode": 2})  # Active belongs to Open, not Closed
    assert_error(response, 400, "0x80048408", f"2 is not a valid status code for state code "
                 f"msdyn_ocliveworkitemState.Closed on msdyn_ocliveworkitem with Id {key}.")
    response = api.request("PATCH", f"{CONV}({key})", json={"statecode": None})
    assert_error(response, 400, "0x80040203", "Attribute: statecode cannot be set to NULL")
    assert dump(emulator) == before
    api.request("PATCH", f"{CONV}({key})", json={"statecode": 0, "statuscode": 5})
    assert (row(emulator, "msdyn_ocliveworkitem", key)["statecode"],
            row(emulator, "msdyn_ocliveworkitem", key)["statuscode"]) == (0, 5)


def test_rejected_updates_change_nothing(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    before = dump(emulator)
    for body in ({"bogus": 1}, {"prioritycode": 99}, {"subject": "x" * 201}, {"activityid": MISSING},
                 {"ownerid_msdyn_ocliveworkitem@odata.bind": None}, {"msdyn_title": "ok", "statecode": "x"}):
        response = api.request("PATCH", f"{CONV}({key})", json=body)
        assert response.status_code == 400, (body, response.get_json())
    assert dump(emulator) == before


def test_upsert_creates_a_missing_row_with_the_url_key(api, emulator):
    response = api.request("PATCH", f"{CONV}({MISSING})", json={"subject": "Upserted"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"].endswith(f"{CONV}({MISSING})")
    assert row(emulator, "msdyn_ocliveworkitem", MISSING)["subject"] == "Upserted"
    other = MISSING.replace("aa", "bb")
    response = api.request("PATCH", f"{CONV}({other})", json={"subject": "U2"},
                           headers={"Prefer": "return=representation", "If-None-Match": "*"})
    assert response.status_code == 201 and response.get_json()["activityid"] == other


def test_if_match_star_prevents_the_create(api, emulator):
    before = dump(emulator)
    response = api.request("PATCH", f"{CONV}({MISSING})", json={"subject": "x"}, headers={"If-Match": "*"})
    assert_error(response, 404, "", f"msdyn_ocliveworkitem With Id = {MISSING} Does Not Exist")
    assert dump(emulator) == before


def test_if_none_match_star_prevents_the_update(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    before = dump(emulator)
    response = api.request("PATCH", f"{CONV}({key})", json={"subject": "x"}, headers={"If-None-Match": "*"})
    assert_error(response, 412, "", "A record with matching key values already exists.")
    assert dump(emulator) == before


def test_if_match_etag_guards_against_lost_updates(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    etag = api.get(f"{CONV}({key})?$select=subject").get_json()["@odata.etag"]
    assert api.request("PATCH", f"{CONV}({key})", json={"subject": "first"}, headers={"If-Match": etag}).status_code \
        == 204
    before = dump(emulator)
    response = api.request("PATCH", f"{CONV}({key})", json={"subject": "second"}, headers={"If-Match": etag})
    assert_error(response, 412, "", "The version of the existing record doesn't match the RowVersion property "
                                    "provided.")
    assert dump(emulator) == before
    assert api.request("PATCH", f"{CONV}({key})", json={"subject": "x"},
                       headers={"If-None-Match": "null"}).status_code == 204


# -- delete ------------------------------------------------------------------------------------------------------
def test_delete_answers_204_then_404(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    response = api.request("DELETE", f"{CONV}({key})", headers={"If-Match": "*"})
    assert response.status_code == 204 and response.get_data() == b""
    assert row(emulator, "msdyn_ocliveworkitem", key) is None
    response = api.request("DELETE", f"{CONV}({key})")
    assert_error(response, 404, "0x80040217", f"msdyn_ocliveworkitem With Id = {key} Does Not Exist")


def test_delete_honours_the_etag_precondition(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    etag = api.get(f"{CONV}({key})?$select=subject").get_json()["@odata.etag"]
    api.request("PATCH", f"{CONV}({key})", json={"subject": "changed"})
    before = dump(emulator)
    response = api.request("DELETE", f"{CONV}({key})", headers={"If-Match": etag})
    assert response.status_code == 412
    assert dump(emulator) == before
    current = api.get(f"{CONV}({key})?$select=subject").get_json()["@odata.etag"]
    assert api.request("DELETE", f"{CONV}({key})", headers={"If-Match": current}).status_code == 204


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_writes_on_a_collection_are_405(api, method):
    response = api.request(method, CONV, json={"subject": "x"})
    assert_error(response, 405, "0x80060888", f"The requested resource does not support http method '{method}'.")


# -- single property ---------------------------------------------------------------------------------------------
def test_single_property_put_and_delete(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    version = row(emulator, "msdyn_ocliveworkitem", key)["versionnumber"]
    response = api.request("PUT", f"{CONV}({key})/msdyn_title", json={"value": "By PUT"})
    assert response.status_code == 204
    assert row(emulator, "msdyn_ocliveworkitem", key)["msdyn_title"] == "By PUT"
    assert row(emulator, "msdyn_ocliveworkitem", key)["versionnumber"] > version
    assert api.get(f"{CONV}({key})/msdyn_title").get_json()["value"] == "By PUT"
    assert api.request("DELETE", f"{CONV}({key})/msdyn_title").status_code == 204
    assert row(emulator, "msdyn_ocliveworkitem", key)["msdyn_title"] is None


def test_single_property_errors_change_nothing(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    before = dump(emulator)
    assert_error(api.request("PUT", f"{CONV}({key})/nothing", json={"value": 1}), 400, "0x0",
                 "Could not find a property named 'nothing' on type 'Microsoft.Dynamics.CRM.msdyn_ocliveworkitem'.")
    assert api.request("PUT", f"{CONV}({key})/prioritycode", json={"value": 42}).status_code == 400
    assert api.request("PUT", f"{CONV}({key})/subject", json={"novalue": 1}).status_code == 400
    assert_error(api.request("PUT", f"{CONV}({MISSING})/subject", json={"value": "x"}), 404, "0x80040217",
                 f"msdyn_ocliveworkitem With Id = {MISSING} Does Not Exist")
    assert dump(emulator) == before


# -- conditional GET ---------------------------------------------------------------------------------------------
def test_conditional_get_answers_304_only_while_unchanged_and_without_annotations(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    url = f"{CONV}({key})?$select=subject"
    etag = api.get(url).get_json()["@odata.etag"]
    response = api.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.get_data() == b""
    assert api.get(url, headers={"If-None-Match": "null"}).status_code == 200
    assert api.get(url, headers={"If-None-Match": etag,
                                 "Prefer": 'odata.include-annotations="*"'}).status_code == 200
    api.request("PATCH", f"{CONV}({key})", json={"subject": "changed"})
    response = api.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.get_json()["@odata.etag"] != etag


# -- bulk actions ------------------------------------------------------------------------------------------------
def test_create_multiple_answers_the_new_ids(api, emulator):
    response = api.request("POST", f"{CONV}/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [
        {"subject": "one", "@odata.type": TYPE}, {"subject": "two", "@odata.type": TYPE}]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["@odata.context"] == f"http://localhost{API}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    assert [row(emulator, "msdyn_ocliveworkitem", i)["subject"] for i in body["Ids"]] == ["one", "two"]


def test_create_multiple_is_all_or_nothing(api, emulator):
    before = dump(emulator)
    response = api.request("POST", f"{CONV}/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [
        {"subject": "one", "@odata.type": TYPE}, {"subject": "two", "prioritycode": 9, "@odata.type": TYPE}]})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "0x8004431a"
    assert dump(emulator) == before
    assert api.request("POST", f"{CONV}/Microsoft.Dynamics.CRM.CreateMultiple", json={}).status_code == 400
    assert dump(emulator) == before


def test_update_multiple_updates_every_target_or_none(api, emulator):
    ids = [r["activityid"] for r in api.values(f"{CONV}?$select=activityid&$top=3")]
    response = api.request("POST", f"{CONV}/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": [
        {"activityid": i, "msdyn_title": f"bulk {n}", "@odata.type": TYPE} for n, i in enumerate(ids)]})
    assert response.status_code == 204
    assert [row(emulator, "msdyn_ocliveworkitem", i)["msdyn_title"] for i in ids] == ["bulk 0", "bulk 1", "bulk 2"]
    before = dump(emulator)
    response = api.request("POST", f"{CONV}/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": [
        {"activityid": ids[0], "msdyn_title": "new", "@odata.type": TYPE},
        {"activityid": MISSING, "msdyn_title": "new", "@odata.type": TYPE}]})
    assert response.status_code == 404
    assert dump(emulator) == before


def test_unknown_bound_action_is_501(api):
    response = api.request("POST", f"{CONV}/Microsoft.Dynamics.CRM.DeleteMultiple", json={"Targets": []})
    assert response.status_code == 501 and "DeleteMultiple" in response.get_json()["error"]["message"]


def test_row_versions_increase_across_tables(api, emulator):
    versions = []
    for entity_set, body in (("accounts", {"name": "A"}), (CONV, {"subject": "B"}), ("contacts", {"lastname": "C"})):
        key = created_key(api.request("POST", entity_set, json=body))
        logical = {"accounts": "account", CONV: "msdyn_ocliveworkitem", "contacts": "contact"}[entity_set]
        versions.append(row(emulator, logical, key)["versionnumber"])
    assert versions == sorted(set(versions)) and versions[-1] - versions[0] == 2


def test_deep_insert_is_501_naming_the_alternative(api, emulator):
    before = dump(emulator)
    response = api.request("POST", CONV, json={"msdyn_customer_msdyn_ocliveworkitem_account": {"name": "New"}})
    assert response.status_code == 501
    assert "msdyn_customer_msdyn_ocliveworkitem_account@odata.bind" in response.get_json()["error"]["message"]
    assert dump(emulator) == before


def test_row_versions_stay_above_rows_loaded_behind_the_writers_back(api, emulator):
    created_key(api.request("POST", CONV, json={"subject": "first write starts the counter"}))
    key = first_id(emulator, "account")
    with emulator.db.engine.begin() as conn:  # what a reseed does: rows with versions the counter never gave
        table = emulator.db.tables["account"]
        conn.execute(table.update().where(table.c.accountid == key).values(versionnumber=10_000_000))
    emulator.db.sync_row_versions()
    new = created_key(api.request("POST", CONV, json={"subject": "after the reload"}))
    assert row(emulator, "msdyn_ocliveworkitem", new)["versionnumber"] == 10_000_001


def test_overriddencreatedon_is_ignored_on_update(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    created = row(emulator, "msdyn_ocliveworkitem", key)["createdon"]
    response = api.request("PATCH", f"{CONV}({key})", json={"overriddencreatedon": "2020-01-01T00:00:00Z"})
    assert response.status_code == 204
    assert row(emulator, "msdyn_ocliveworkitem", key)["createdon"] == created


def test_representation_carries_the_annotations_asked_for(api, emulator):
    response = api.request("POST", f"{CONV}?$select=statecode,_msdyn_activeagentid_value",
                           json={"statecode": 1, AGENT_NAV: f"/systemusers({DOC_AGENT_ID})"},
                           headers={"Prefer": 'return=representation,odata.include-annotations="*"'})
    assert response.status_code == 201
    assert 'odata.include-annotations="*"' in response.headers["Preference-Applied"]
    body = response.get_json()
    assert body["statecode@OData.Community.Display.V1.FormattedValue"] == "Closed"
    assert body["_msdyn_activeagentid_value@OData.Community.Display.V1.FormattedValue"] == "Alex Rivera"
    assert body["_msdyn_activeagentid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"


def test_conditional_get_with_expand_is_never_304(api, emulator):
    key = first_id(emulator, "msdyn_ocliveworkitem")
    url = f"{CONV}({key})?$select=subject&$expand=msdyn_activeagentid_msdyn_ocliveworkitem($select=fullname)"
    response = api.get(url)
    assert response.status_code == 200, response.get_json()
    assert api.get(url, headers={"If-None-Match": response.get_json()["@odata.etag"]}).status_code == 200


def test_a_rows_etag_never_repeats_even_after_rows_were_loaded_behind_the_writer(api, emulator):
    created_key(api.request("POST", CONV, json={"subject": "first write starts the counter"}))
    key = first_id(emulator, "msdyn_ocliveworkitem")
    with emulator.db.engine.begin() as conn:  # a restore or reseed wrote a version the counter never gave
        table = emulator.db.tables["msdyn_ocliveworkitem"]
        conn.execute(table.update().where(table.c.activityid == key).values(versionnumber=20_000_000))
    assert api.request("PATCH", f"{CONV}({key})", json={"msdyn_title": "after"}).status_code == 204
    assert row(emulator, "msdyn_ocliveworkitem", key)["versionnumber"] == 20_000_001
    other = created_key(api.request("POST", CONV, json={"subject": "next"}))
    assert row(emulator, "msdyn_ocliveworkitem", other)["versionnumber"] > 20_000_001
