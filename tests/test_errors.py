"""Every error the read side gives, with its status and Dataverse-shaped body; auth."""
import pytest

from emulator.app import create_app

from .conftest import API, Client, make_emulator

SET = "msdyn_ocliveworkitems"
MISSING = "00000000-0000-0000-0000-000000000001"


def error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type.startswith("application/json")
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in body["error"]["message"]
    return body["error"]["message"]


def test_unknown_entity_set(client):
    assert error(client.get("Account"), 404, "0x8006088a") == "Resource not found for the segment 'Account'."


def test_entity_set_names_are_case_sensitive(client):
    assert "MSDYN_OCLIVEWORKITEMS" in error(client.get("MSDYN_OCLIVEWORKITEMS"), 404, "0x8006088a")


@pytest.mark.parametrize("query,name", [
    ("$select=Name", "Name"), ("$select=subject,StatusCode", "StatusCode"),
    ("$select=msdyn_activeagentid", "msdyn_activeagentid"),
    ("$filter=nosuch eq 1", "nosuch"), ("$orderby=nosuch desc", "nosuch"),
    ("$filter=msdyn_activeagentid_msdyn_ocliveworkitem/nosuch eq 'x'", "nosuch"),
    ("$filter=nosuchnav/fullname eq 'x'", "nosuchnav"),
])
def test_unknown_property(client, query, name):
    message = error(client.get(f"{SET}?{query}"), 400, "0x0")
    table = "systemuser" if "msdyn_ocliveworkitem/nosuch" in query else "msdyn_ocliveworkitem"
    assert message == f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table}'."


@pytest.mark.parametrize("option", ["$skip=2", "$search=x", "$format=json"])
def test_unsupported_options(client, option):
    assert f"{option.split('=')[0]} is not supported" in error(client.get(f"{SET}?{option}"), 400, "0x80060888")


def test_unknown_dollar_option(client):
    assert "'$foo'" in error(client.get(f"{SET}?$foo=1"), 400)


@pytest.mark.parametrize("query,fragment", [
    ("$top=-1", "$top"), ("$top=abc", "$top"), ("$count=yes", "count"), ("$orderby=createdon sideways", "$orderby"),
    ("$select=subject,,statuscode", "empty"), ("$skiptoken=garbage", "$skiptoken"),
])
def test_bad_option_values(client, query, fragment):
    assert fragment in error(client.get(f"{SET}?{query}"), 400)


def test_bad_maxpagesize(client):
    assert "odata.maxpagesize" in error(client.get(SET, headers={"Prefer": "odata.maxpagesize=lots"}), 400)


def test_missing_record(client):
    message = error(client.get(f"{SET}({MISSING})"), 404, "0x80040217")
    assert message == f"msdyn_ocliveworkitem With Id = {MISSING} Does Not Exist"


@pytest.mark.parametrize("key", ["not-a-guid", "123", "subject='x'"])
def test_malformed_key(client, key):
    assert key.split("=")[0] in error(client.get(f"{SET}({key})"), 400)


def test_unknown_api_version_and_path(client):
    error(client.get("/api/data/v8.0/msdyn_ocliveworkitems"), 404, "0x8006088a")
    error(client.get("/nothing/here"), 404, "0x8006088a")
    error(client.get(f"{SET}/nosuchsegment"), 404, "0x8006088a")


def test_unknown_property_segment(client, seeded):
    table = seeded.db.tables["msdyn_ocliveworkitem"]
    with seeded.db.engine.connect() as conn:
        key = conn.execute(table.select().limit(1)).first().activityid
    error(client.get(f"{SET}({key})/nosuch"), 400, "0x0")


def test_no_token_is_401_with_www_authenticate(client):
    response = client.http.get(f"{API}/{SET}")
    error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    response = client.http.get(f"{API}/{SET}", headers={"Authorization": "Bearer "})
    error(response, 401)
    response = client.http.get(f"{API}/{SET}", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    error(response, 401)


def test_auth_none_needs_no_token(tmp_path):
    emulator = make_emulator(tmp_path / "e.db", conversations=5, auth="none")
    response = Client(create_app(emulator)).http.get(f"{API}/{SET}")
    assert response.status_code == 200 and len(response.get_json()["value"]) == 5
