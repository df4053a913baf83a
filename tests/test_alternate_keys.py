"""Alternate keys in the data plane, over real HTTP on SQLite and PostgreSQL: a record addressed by a key
(single-column, compound, typed: string, integer, lookup GUID) for GET, PATCH, DELETE, `$batch` and `@odata.bind`;
upsert by PATCH with If-Match / If-None-Match; UpsertMultiple (and UpdateMultiple by key); Dataverse's errors for an
undefined key, a missing part, a missing row and duplicate key values (after each rejected write the database is
unchanged)."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from emulator import metadata
from emulator.app import create_app
from emulator.clock import Clock, parse_instant
from emulator.metadata import EntityKey
from emulator.server import Emulator
from emulator.settings import Settings
from emulator.store import keys
from emulator.store.database import Database
from emulator.store.seed import seed

from .conftest import API, AUTH, BACKENDS, NOW, Client, LiveServer, database_url, drop_database
from .test_batch import batch_body, change_set, request_part, responses, send
from .test_writes import dump

ACCOUNT_KEY = EntityKey("accountnumberkey", ("accountnumber",), "Account Number Key")
CONTACT_KEYS = (EntityKey("nameemailkey", ("firstname", "emailaddress1"), "Name and Email"),
                EntityKey("parentemailkey", ("parentcustomerid", "emailaddress1"), "Parent and Email"))
STREAM_KEY = EntityKey("capacitynamekey", ("msdyn_capacityrequired", "msdyn_name"), "Capacity and Name")


def keyed_catalog() -> metadata.Catalog:
    shipped = metadata.SHIPPED
    return shipped.replaced(add=[
        dataclasses.replace(shipped.table("account"), keys=(ACCOUNT_KEY,)),
        dataclasses.replace(shipped.table("contact"), keys=CONTACT_KEYS),
        dataclasses.replace(shipped.table("msdyn_liveworkstream"), keys=(STREAM_KEY,)),
    ])


KEYED = keyed_catalog()
JS_DIR = Path(__file__).parent / "js_writes"


def keyed_emulator(path, backend: str) -> Emulator:
    """The small generated data set (10 conversations) on a database whose account, contact and work stream
    tables carry alternate keys."""
    settings = Settings(database_url=database_url(path, backend), now=NOW.isoformat(), conversations=10,
                        load="if-empty")
    emulator = Emulator(settings, Database(settings.database_url, catalog=KEYED), Clock(parse_instant(settings.now)))
    emulator.loaded = seed(emulator.db, conversations=10, now=emulator.clock.now())
    return emulator


class Http:
    """requests against a live server, with the bearer header and the API prefix filled in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers.update(AUTH)

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.url}{API}/{path}", timeout=30, **kwargs)


@pytest.fixture(params=BACKENDS)
def keyed(request, tmp_path):
    emulator = keyed_emulator(tmp_path / "keyed.db", request.param)
    live = LiveServer(create_app(emulator))
    yield emulator, Http(live.url)
    live.stop()
    drop_database(emulator)


def select(emulator, logical_name: str, where=None) -> list[dict]:
    table = emulator.db.tables[logical_name]
    statement = sa.select(table)
    if where is not None:
        statement = statement.where(where(table.c))
    with emulator.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(statement).mappings()]


def error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body["message"]


NOT_VALID = ("The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.{0}'. Ensure that the "
             "names and number of key properties match the declared or alternate key properties for the resource "
             "'Microsoft.Dynamics.CRM.{0}'.")
NO_ROW = "A record with the specified key values does not exist in {0} entity"


# -- addressing ---------------------------------------------------------------------------------------------------
def test_get_by_single_key_compound_key_typed_values_and_primary_key_forms(keyed):
    emulator, http = keyed
    account = select(emulator, "account", lambda c: c.accountnumber == "ACC-10003")[0]
    got = http("GET", "accounts(accountnumber='ACC-10003')?$select=name,accountnumber")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["accountid"] == account["accountid"] and body["name"] == account["name"]
    assert body["@odata.context"].endswith("$metadata#accounts(name,accountnumber)/$entity")
    # strings compare as Dataverse's do: case-insensitively
    assert http("GET", "accounts(accountnumber='acc-10003')").json()["accountid"] == account["accountid"]
    assert http("GET", f"accounts(accountid={account['accountid']})").json()["accountid"] == account["accountid"]
    assert http("GET", "accounts(accountnumber='ACC-10003')/name").json()["value"] == account["name"]

    contact = select(emulator, "contact")[0]
    for segment in (f"firstname='{contact['firstname']}',emailaddress1='{contact['emailaddress1']}'",
                    f"emailaddress1='{contact['emailaddress1']}',firstname='{contact['firstname']}'",
                    f"_parentcustomerid_value={contact['parentcustomerid']},emailaddress1='{contact['emailaddress1']}'"):
        got = http("GET", f"contacts({segment})?$select=fullname")
        assert got.status_code == 200, (segment, got.text)
        assert got.json()["contactid"] == contact["contactid"]

    stream = select(emulator, "msdyn_liveworkstream")[0]
    got = http("GET", f"msdyn_liveworkstreams(msdyn_capacityrequired={stream['msdyn_capacityrequired']},"
                      f"msdyn_name='{stream['msdyn_name']}')")
    assert got.json()["msdyn_liveworkstreamid"] == stream["msdyn_liveworkstreamid"]


@pytest.mark.parametrize("segment, message", [
    ("accounts(name='Contoso')", NOT_VALID.format("account")),  # a column that is no key
    ("contacts(firstname='Ann')", NOT_VALID.format("contact")),  # a part of a compound key missing
    ("contacts(firstname='Ann',emailaddress1='a@x.example',lastname='B')", NOT_VALID.format("contact")),
    ("accounts(accountnumber='A',accountnumber='B')", NOT_VALID.format("account")),
    ("systemusers(accountnumber='A')", NOT_VALID.format("systemuser")),  # a table without alternate keys
    # systemuser and team inherit their key (ownerid) from principal: only the bare GUID names them
    ("systemusers(systemuserid=00000000-0000-0000-0000-000000000001)", NOT_VALID.format("systemuser")),
    ("teams(teamid=00000000-0000-0000-0000-000000000001)", NOT_VALID.format("team")),
])
def test_a_key_the_table_does_not_define_names_the_keys_it_has(keyed, segment, message):
    _, http = keyed
    text = error(http("GET", segment), 400, "0x80060888")
    assert text.startswith(message), text
    if segment.startswith("contacts"):
        assert text.endswith("; the keys of contacts are: (contactid), (firstname,emailaddress1), "
                             "(parentcustomerid,emailaddress1).")
    if segment.startswith("contacts(firstname='Ann')"):
        assert "The request named (firstname);" in text


@pytest.mark.parametrize("segment, why", [
    ("accounts(accountnumber=10003)", "'accountnumber' is a string: quote its value"),
    ("msdyn_liveworkstreams(msdyn_capacityrequired='20',msdyn_name='SMS')", "is of type Edm.Int32"),
    ("msdyn_liveworkstreams(msdyn_capacityrequired=2.5,msdyn_name='SMS')", "is a whole number"),
    ("contacts(_parentcustomerid_value='x',emailaddress1='a')", "is of type Edm.Guid"),
    ("contacts(_parentcustomerid_value=12,emailaddress1='a')", "'12' is not a GUID"),
    ("accounts(accountnumber='open)", "a quote is not closed"),
])
def test_a_key_value_of_the_wrong_type_is_a_syntax_error(keyed, segment, why):
    _, http = keyed
    text = error(http("GET", segment), 400, "0x80060888")
    assert text.startswith("Bad Request - Error in query syntax") and why in text, text


def test_no_row_with_the_key_values_is_dataverses_404(keyed):
    emulator, http = keyed
    before = dump(emulator)
    for method in ("GET", "DELETE"):
        assert error(http(method, "accounts(accountnumber='NOPE')"), 404, "0x80060891") == NO_ROW.format("account")
    assert error(http("GET", "accounts(accountnumber='NOPE')/name"), 404, "0x80060891") == NO_ROW.format("account")
    response = http("PATCH", "accounts(accountnumber='NOPE')", json={"name": "x"}, headers={"If-Match": "*"})
    assert error(response, 404, "0x80060891") == NO_ROW.format("account")
    assert dump(emulator) == before


def test_delete_and_update_by_key(keyed):
    emulator, http = keyed
    account = select(emulator, "account", lambda c: c.accountnumber == "ACC-10001")[0]
    response = http("PATCH", "accounts(accountnumber='ACC-10001')", json={"name": "Renamed", "accountnumber": "X-9"})
    assert response.status_code == 204, response.text
    # the record's URL keeps the key form; the key's own columns are not changed through the key
    assert response.headers["OData-EntityId"].endswith(f"{API}/accounts(accountnumber='ACC-10001')")
    after = select(emulator, "account", lambda c: c.accountid == account["accountid"])[0]
    assert (after["name"], after["accountnumber"]) == ("Renamed", "ACC-10001")
    assert after["versionnumber"] > account["versionnumber"]
    assert http("PUT", "accounts(accountnumber='ACC-10001')/telephone1", json={"value": "555-0123"}).status_code == 204
    assert http("GET", "accounts(accountnumber='ACC-10001')/telephone1").json()["value"] == "555-0123"
    assert http("DELETE", "accounts(accountnumber='ACC-10001')/telephone1").status_code == 204
    assert select(emulator, "account", lambda c: c.accountid == account["accountid"])[0]["telephone1"] is None
    assert http("DELETE", "accounts(accountnumber='ACC-10001')").status_code == 204
    assert select(emulator, "account", lambda c: c.accountid == account["accountid"]) == []


# -- upsert -------------------------------------------------------------------------------------------------------
def test_upsert_by_key_creates_then_updates(keyed):
    emulator, http = keyed
    response = http("PATCH", "accounts(accountnumber='NEW-1')", json={"name": "Upserted"})
    assert response.status_code == 204, response.text
    assert response.headers["OData-EntityId"].endswith(f"{API}/accounts(accountnumber='NEW-1')")
    created = select(emulator, "account", lambda c: c.accountnumber == "NEW-1")
    assert len(created) == 1 and created[0]["name"] == "Upserted" and created[0]["statuscode"] == 1

    prefer = {"Prefer": "return=representation"}
    response = http("PATCH", "accounts(accountnumber='NEW-1')?$select=name", json={"name": "Again"}, headers=prefer)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Again" and response.json()["accountid"] == created[0]["accountid"]
    assert response.headers["ETag"].startswith('W/"')
    response = http("PATCH", "accounts(accountnumber='NEW-2')?$select=accountnumber", json={"name": "Two"},
                    headers=prefer)
    assert response.status_code == 201, response.text
    assert response.json()["accountnumber"] == "NEW-2"
    assert response.headers["Preference-Applied"] == "return=representation"

    # a key value in the body wins over the URL's when creating (as Dataverse documents)
    assert http("PATCH", "accounts(accountnumber='URL-3')", json={"accountnumber": "BODY-3"}).status_code == 204
    assert [r["accountnumber"] for r in select(emulator, "account", lambda c: c.accountnumber.in_(
        ["URL-3", "BODY-3"]))] == ["BODY-3"]


def test_upsert_preconditions(keyed):
    emulator, http = keyed
    before = dump(emulator)
    response = http("PATCH", "accounts(accountnumber='ACC-10002')", json={"name": "x"},
                    headers={"If-None-Match": "*"})
    assert error(response, 412, "") == "A record with matching key values already exists."
    response = http("PATCH", "accounts(accountnumber='MISSING')", json={"name": "x"}, headers={"If-Match": "*"})
    assert error(response, 404, "0x80060891") == NO_ROW.format("account")
    account = select(emulator, "account", lambda c: c.accountnumber == "ACC-10002")[0]
    response = http("PATCH", "accounts(accountnumber='ACC-10002')", json={"name": "x"},
                    headers={"If-Match": 'W/"1"'})
    assert response.status_code == 412
    assert dump(emulator) == before

    assert http("PATCH", "accounts(accountnumber='ACC-10002')", json={"name": "matched"},
                headers={"If-Match": f'W/"{account["versionnumber"]}"'}).status_code == 204
    assert http("PATCH", "accounts(accountnumber='CREATE-ONLY')", json={"name": "new"},
                headers={"If-None-Match": "*"}).status_code == 204
    assert select(emulator, "account", lambda c: c.accountnumber == "CREATE-ONLY")[0]["name"] == "new"


def test_upsert_by_compound_key_with_a_lookup_part_sets_every_part(keyed):
    emulator, http = keyed
    account = select(emulator, "account")[0]
    url = f"contacts(_parentcustomerid_value={account['accountid']},emailaddress1='new.person@example.com')"
    assert http("PATCH", url, json={"lastname": "Person"}).status_code == 204
    created = select(emulator, "contact", lambda c: c.emailaddress1 == "new.person@example.com")[0]
    assert created["parentcustomerid"] == account["accountid"]
    assert created.get("parentcustomerid__target", "account") == "account"  # when the lookup is polymorphic
    assert http("GET", url).json()["contactid"] == created["contactid"]


def test_quotes_parentheses_and_commas_in_key_values(keyed):
    emulator, http = keyed
    value = "O'Brien (1), Ltd"
    segment = "accountnumber='" + value.replace("'", "''") + "'"
    assert http("PATCH", f"accounts({segment})", json={"name": "Quoted"}).status_code == 204
    assert select(emulator, "account", lambda c: c.accountnumber == value)[0]["name"] == "Quoted"
    assert http("GET", f"accounts({segment})").json()["accountnumber"] == value


# -- duplicates ---------------------------------------------------------------------------------------------------
def test_duplicate_key_values_are_refused_with_dataverses_error(keyed):
    emulator, http = keyed
    before = dump(emulator)
    duplicate = ("A record that has the attribute values Account Number already exists. The entity key Account "
                 "Number Key requires that this set of attributes contains unique values. Select unique values "
                 "and try again.")
    for number in ("ACC-10004", "acc-10004"):
        assert error(http("POST", "accounts", json={"name": "Dup", "accountnumber": number}),
                     412, "0x80040237") == duplicate
    other = select(emulator, "account", lambda c: c.accountnumber == "ACC-10005")[0]
    response = http("PATCH", f"accounts({other['accountid']})", json={"accountnumber": "ACC-10004"})
    assert error(response, 412, "0x80040237") == duplicate
    response = http("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "A", "accountnumber": "SAME"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "B", "accountnumber": "SAME"}]})
    error(response, 412, "0x80040237")
    contact = select(emulator, "contact")[0]
    response = http("POST", "contacts", json={"firstname": contact["firstname"].upper(),
                                              "emailaddress1": contact["emailaddress1"]})
    assert error(response, 412, "0x80040237").startswith(
        "A record that has the attribute values First Name, Email already exists. The entity key Name and Email")
    assert dump(emulator) == before
    # a row without the key's values does not collide (as a SQL unique index allows)
    assert http("POST", "accounts", json={"name": "No number 1"}).status_code == 204
    assert http("POST", "accounts", json={"name": "No number 2"}).status_code == 204


def test_the_unique_index_backs_the_key_and_its_violation_maps_to_the_duplicate_error(keyed):
    """A parallel writer that wins the race: the database's own unique violation becomes the same error."""
    emulator, _ = keyed
    table = emulator.db.tables["account"]
    account = select(emulator, "account")[0]
    copy = {**account, "accountid": "00000000-0000-0000-0000-00000000abcd"}
    with pytest.raises(sa.exc.IntegrityError) as raised, emulator.db.engine.begin() as conn:
        conn.execute(table.insert().values(**copy))
    found = keys.violated(KEYED.table("account"), raised.value)
    assert found is not None and found.status == 412 and found.code == "0x80040237"


# -- references ---------------------------------------------------------------------------------------------------
def test_odata_bind_by_key(keyed):
    emulator, http = keyed
    account = select(emulator, "account", lambda c: c.accountnumber == "ACC-10006")[0]
    for reference in ("/accounts(accountnumber='ACC-10006')", "accounts(accountnumber='ACC-10006')",
                      f"{http.url}{API}/accounts(accountnumber='ACC-10006')"):
        response = http("POST", "contacts", json={"lastname": "Bound", "emailaddress1": f"{len(reference)}@x.example",
                                                  "parentcustomerid_account@odata.bind": reference})
        assert response.status_code == 204, response.text
    bound = select(emulator, "contact", lambda c: c.lastname == "Bound")
    assert {(r["parentcustomerid"], r.get("parentcustomerid__target", "account")) for r in bound} == \
        {(account["accountid"], "account")}
    before = dump(emulator)
    response = http("POST", "contacts", json={"lastname": "x",
                                              "parentcustomerid_account@odata.bind": "/accounts(accountnumber='NO')"})
    assert error(response, 404, "0x80060891") == NO_ROW.format("account")
    response = http("POST", "contacts", json={"lastname": "x",
                                              "parentcustomerid_account@odata.bind": "/accounts(name='NO')"})
    assert error(response, 400, "0x80060888").startswith(NOT_VALID.format("account"))
    assert dump(emulator) == before


def test_keys_in_batch_parts(keyed):
    emulator, _ = keyed
    api = Client(create_app(emulator))
    body = batch_body(
        change_set("changeset_keys",
                   request_part("PATCH", f"{API}/accounts(accountnumber='BATCH-1')", '{"name": "In a batch"}', 1),
                   request_part("PATCH", f"{API}/accounts(accountnumber='ACC-10007')", '{"telephone1": "555"}', 2)),
        request_part("GET", "accounts(accountnumber='BATCH-1')?$select=name"))
    response = send(api, body)
    assert response.status_code == 200
    statuses = responses(response)
    assert [s for s, _ in statuses] == [204, 204, 200]
    assert "OData-EntityId: http://localhost/api/data/v9.2/accounts(accountnumber='BATCH-1')" in \
        response.get_data(as_text=True)
    assert '"name":"In a batch"' in statuses[2][1]
    assert select(emulator, "account", lambda c: c.accountnumber == "ACC-10007")[0]["telephone1"] == "555"


# -- bulk ---------------------------------------------------------------------------------------------------------
def test_upsert_multiple_creates_and_updates_all_or_nothing(keyed):
    emulator, http = keyed
    existing = select(emulator, "account", lambda c: c.accountnumber == "ACC-10008")[0]
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Bulk one", "@odata.id": "accounts(accountnumber='B-1')"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Bulk updated",
         "@odata.id": "accounts(accountnumber='ACC-10008')"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Bulk by id",
         "@odata.id": f"accounts({existing['accountid']})", "telephone1": "999"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Bulk no key"},
    ]
    response = http("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert select(emulator, "account", lambda c: c.accountnumber == "B-1")[0]["name"] == "Bulk one"
    updated = select(emulator, "account", lambda c: c.accountid == existing["accountid"])[0]
    assert (updated["name"], updated["telephone1"], updated["accountnumber"]) == ("Bulk by id", "999", "ACC-10008")
    assert len(select(emulator, "account", lambda c: c.name == "Bulk no key")) == 1

    before = dump(emulator)
    bad = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Never", "@odata.id": "accounts(accountnumber='B-2')"},
           {"@odata.type": "Microsoft.Dynamics.CRM.account", "nosuchcolumn": 1,
            "@odata.id": "accounts(accountnumber='B-3')"}]
    error(http("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": bad}), 400, "0x0")
    untyped = [{"name": "x", "@odata.id": "accounts(accountnumber='B-4')"}]
    text = error(http("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": untyped}),
                 400, "0x80040203")
    assert "@odata.type" in text
    wrong_set = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "@odata.id": "contacts(firstname='x')"}]
    error(http("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": wrong_set}),
          400, "0x80040203")
    undefined = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "@odata.id": "accounts(name='x')"}]
    error(http("POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": undefined}),
          400, "0x80060888")
    assert dump(emulator) == before


def test_update_multiple_by_key(keyed):
    emulator, http = keyed
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "telephone1": "111",
                "@odata.id": f"accounts(accountnumber='ACC-1000{i}')"} for i in (1, 2)]
    response = http("POST", "accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets})
    assert response.status_code == 204, response.text
    phones = {r["accountnumber"]: r["telephone1"] for r in select(emulator, "account")}
    assert phones["ACC-10001"] == phones["ACC-10002"] == "111"
    before = dump(emulator)
    missing = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "telephone1": "222",
                "@odata.id": "accounts(accountnumber='ACC-10001')"},
               {"@odata.type": "Microsoft.Dynamics.CRM.account", "telephone1": "222",
                "@odata.id": "accounts(accountnumber='NONE')"}]
    response = http("POST", "accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": missing})
    assert error(response, 404, "0x80060891") == NO_ROW.format("account")
    assert dump(emulator) == before


# -- a real client --------------------------------------------------------------------------------------------------
class FakeCredential:
    """Satisfies azure.core's TokenCredential protocol; the emulator accepts any bearer token."""

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken("dummy-token", int(time.time()) + 3600)


def test_python_sdk_upserts_by_alternate_key(keyed):
    pytest.importorskip("PowerPlatform.Dataverse")
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.config import DataverseConfig
    from PowerPlatform.Dataverse.models.upsert import UpsertItem

    emulator, http = keyed
    client = DataverseClient("https://placeholder.invalid", FakeCredential(),
                             DataverseConfig(http_retries=1, http_timeout=10))
    client._base_url = http.url  # real-clients.md 1.B: the SDK refuses http:// in its constructor
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": "SDK-1"},
                                                 record={"name": "From the SDK"})])
    client.records.upsert("account", [UpsertItem(alternate_key={"accountnumber": "SDK-1"},
                                                 record={"telephone1": "555-0101"}),
                                      UpsertItem(alternate_key={"accountnumber": "SDK-2"},
                                                 record={"name": "Second"})])
    rows = {r["accountnumber"]: r for r in select(emulator, "account",
                                                  lambda c: c.accountnumber.in_(["SDK-1", "SDK-2"]))}
    assert (rows["SDK-1"]["name"], rows["SDK-1"]["telephone1"]) == ("From the SDK", "555-0101")
    assert rows["SDK-2"]["name"] == "Second"


def test_dynamics_web_api_by_alternate_key(keyed):
    if shutil.which("node") is None:
        pytest.skip("node is needed for the dynamics-web-api test")
    if not (JS_DIR / "node_modules" / "dynamics-web-api").exists():
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    emulator, http = keyed
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env["EMULATOR_URL"] = http.url
    result = subprocess.run(["node", "--test", "keys.test.js"], cwd=JS_DIR, capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert select(emulator, "account", lambda c: c.accountnumber == "JS-1") == []  # the test deleted it
    assert len(select(emulator, "contact", lambda c: c.emailaddress1 == "key@js.example")) == 1
