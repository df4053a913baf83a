"""The x-emulator-hint response header on the classic mistakes, over real HTTP; Dataverse's error body unchanged."""
from __future__ import annotations

import pytest
import requests

from .conftest import API, AUTH

AGENT = "2b330c52-6844-4d36-8e05-03c78c9681dc"
SET = "msdyn_ocliveworkitems"

HINTED = [
    # a lookup's logical name where the Web API wants its value property
    (f"{SET}?$select=msdyn_title,msdyn_activeagentid", 400, "use _msdyn_activeagentid_value"),
    (f"{SET}?$filter=msdyn_activeagentid eq {AGENT}", 400, "use _msdyn_activeagentid_value"),
    (f"{SET}?$orderby=msdyn_activeagentid desc", 400, "use _msdyn_activeagentid_value"),
    # ... and in $expand, where the navigation property belongs
    (f"{SET}?$expand=msdyn_activeagentid($select=fullname)", 400, "use msdyn_activeagentid_msdyn_ocliveworkitem"),
    # property names are case-sensitive
    (f"{SET}?$select=Subject", 400, "use subject"),
    # singular, misspelled or wrongly cased entity sets, and function names
    ("account", 404, "use accounts"),
    ("msdyn_ocliveworkitem?$top=1", 404, "use msdyn_ocliveworkitems"),
    ("msdyn_ocliveworkitmes", 404, "use msdyn_ocliveworkitems"),
    ("Accounts", 404, "use accounts"),
    ("whoami", 404, "use WhoAmI"),
    # the API root pasted where the org URL belongs
    (f"api/data/v9.2/{SET}", 404, "the URL holds /api/data/v9.2/ twice: give clients the org URL (or the Web API "
                                  "root) once"),
    # unquoted string literals
    (f"{SET}?$filter=msdyn_title eq Hello", 400, "quote string literals: 'Hello'"),
    (f"{SET}?$filter=msdyn_title eq Refund for order and statuscode eq 3", 400,
     "quote string literals: 'Refund for order'"),
    (f"{SET}?$filter=contains(msdyn_title,Refund)", 400, "quote string literals: 'Refund'"),
]


@pytest.mark.parametrize(("path", "status", "hint"), HINTED)
def test_classic_mistakes_carry_a_hint(live, client, path, status, hint):
    response = requests.get(f"{live.url}{API}/{path}", headers=AUTH, timeout=10)
    assert response.status_code == status
    assert response.headers["x-emulator-hint"] == hint
    # the body is exactly what the emulator answers without hints: Dataverse's shape, no hint inside
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert hint not in body["error"]["message"]


@pytest.mark.parametrize("path", [
    f"{SET}?$select=msdyn_title&$top=1",  # success
    "nosuchthingatall",  # nothing close
    f"{SET}?$select=nosuchcolumn",  # an unknown column that is no lookup
    f"{SET}?$filter=msdyn_title eq 'Hello'",  # quoted: fine
    f"{SET}(not-a-guid)",  # another mistake, without a known fix
])
def test_no_hint_without_a_likely_fix(live, path):
    response = requests.get(f"{live.url}{API}/{path}", headers=AUTH, timeout=10)
    assert "x-emulator-hint" not in response.headers


def test_the_hint_never_carries_what_a_header_cannot(live):
    response = requests.get(f"{live.url}{API}/{SET}?$filter=msdyn_title eq Ünïcode", headers=AUTH, timeout=10)
    assert response.status_code == 400 and "x-emulator-hint" not in response.headers
