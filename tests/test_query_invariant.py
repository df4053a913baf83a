"""Nothing silently ignored: every query option, query parameter and Prefer preference Dataverse documents
(../shared/spec/webapi.md, query-extras.md) is either honoured, with an effect a test can see, or refused with a
Dataverse-shaped error that names it. A refused one never runs the query."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from .test_batch import batch_body, request_part, responses, send

CONV = "msdyn_ocliveworkitems"
NOT_IMPLEMENTED = ("0x8004d101", 501)
FETCH = '<fetch top="2"><entity name="msdyn_ocliveworkitem"><attribute name="subject"/></entity></fetch>'


def body(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def error(response) -> tuple[str, int, str]:
    payload = response.get_json()
    return payload["error"]["code"], response.status_code, payload["error"]["message"]


def first_id(client) -> str:
    return body(client.get(f"{CONV}?$select=subject&$top=1"))["value"][0]["activityid"]


# (option, value, check of the honoured effect on the response body)
HONOURED = [
    ("$select", "subject", lambda b: set(b["value"][0]) == {"@odata.etag", "subject", "activityid"}),
    ("$filter", "statuscode eq 2", lambda b: b["value"] and all(r["statuscode"] == 2 for r in b["value"])),
    ("$orderby", "createdon desc",
     lambda b: [r["createdon"] for r in b["value"]] == sorted((r["createdon"] for r in b["value"]), reverse=True)),
    ("$top", "3", lambda b: len(b["value"]) == 3),
    ("$count", "true", lambda b: b["@odata.count"] == 500),
    ("$expand", "msdyn_liveworkstreamid_msdyn_ocliveworkitem($select=msdyn_name)",
     lambda b: "msdyn_liveworkstreamid_msdyn_ocliveworkitem" in b["value"][0]),
    ("$apply", "groupby((statuscode),aggregate($count as n))",
     lambda b: sum(r["n"] for r in b["value"]) == 500 and all(set(r) == {"statuscode", "n"} for r in b["value"])),
    ("tag", "my-plugin-variable", lambda b: len(b["value"]) == 500),  # a plug-in shared variable: no plug-ins run
    ("fetchXml", FETCH, lambda b: len(b["value"]) == 2 and set(b["value"][0]) == {"@odata.etag", "subject",
                                                                                 "activityid"}),
    ("FetchXml", FETCH, lambda b: len(b["value"]) == 2),
    ("sql", "SELECT TOP 2 subject FROM msdyn_ocliveworkitem WHERE statuscode = 2",
     lambda b: len(b["value"]) == 2 and all(set(r) == {"@odata.etag", "subject", "activityid"} for r in b["value"])),
]


@pytest.mark.parametrize("name,value,honoured", HONOURED, ids=[f"{h[0]}-{i}" for i, h in enumerate(HONOURED)])
def test_each_honoured_option_has_its_effect(client, name, value, honoured):
    assert honoured(body(client.get(f"{CONV}?{quote(name)}={quote(value)}")))


def test_skiptoken_and_parameter_aliases_are_honoured(client):
    first = client.get(f"{CONV}?$select=subject", headers={"Prefer": "odata.maxpagesize=10"})
    next_link = body(first)["@odata.nextLink"]
    second = body(client.get(next_link[next_link.index("/api/"):], headers={"Prefer": "odata.maxpagesize=10"}))
    assert {r["activityid"] for r in second["value"]}.isdisjoint(r["activityid"] for r in body(first)["value"])
    aliased = body(client.get(f"{CONV}?$filter=statuscode eq @s&@s=2&$select=statuscode"))["value"]
    assert aliased and all(r["statuscode"] == 2 for r in aliased)


@pytest.mark.parametrize("name,value,what", [
    ("savedQuery", "00000000-0000-0000-00aa-000010001001", "saved queries"),
    ("userQuery", "00000000-0000-0000-00aa-000010001001", "user queries"),
])
def test_dataverse_options_not_yet_emulated_are_refused_by_name(client, name, value, what):
    for path in (CONV, f"{CONV}({first_id(client)})"):
        code, status, message = error(client.get(f"{path}?{quote(name)}={quote(value)}"))
        assert (code, status) == NOT_IMPLEMENTED
        assert what in message and "not implement" in message


@pytest.mark.parametrize("name", ["$skip", "$search", "$format", "$fetchXml", "$levels", "$FILTER"])
def test_options_dataverse_refuses_are_refused(client, name):
    code, status, message = error(client.get(f"{CONV}?{quote(name)}=1"))
    assert (code, status) == ("0x80060888", 400)
    assert name in message


@pytest.mark.parametrize("name", ["filter", "select", "orderby", "top", "skip", "expand", "count", "apply", "search",
                                  "skiptoken", "format", "levels", "deltatoken", "Filter", "TOP"])
def test_system_options_without_dollar_are_refused_not_ignored(client, name):
    code, status, message = error(client.get(f"{CONV}?{name}=statuscode%20eq%202"))
    assert (code, status) == ("0x80060888", 400)
    assert f"'{name}'" in message and f"${name.lower()}" in message


def test_other_custom_options_are_ignored_as_odata_4_0_says(client):
    assert len(body(client.get(f"{CONV}?$select=subject&cachebuster=123"))["value"]) == 500


def test_preferences_are_honoured_or_refused(client):
    paged = client.get(f"{CONV}?$select=subject", headers={"Prefer": "odata.maxpagesize=7"})
    assert len(body(paged)["value"]) == 7 and paged.headers["Preference-Applied"] == "odata.maxpagesize=7"
    annotated = client.get(f"{CONV}?$select=statuscode&$top=1",
                           headers={"Prefer": 'odata.include-annotations="*"'})
    assert "statuscode@OData.Community.Display.V1.FormattedValue" in body(annotated)["value"][0]
    tracked = client.get(f"{CONV}?$select=subject", headers={"Prefer": "odata.track-changes"})
    assert tracked.headers["Preference-Applied"] == "odata.track-changes"
    delta = body(client.get(body(tracked)["@odata.deltaLink"].split("/api/data/v9.2/", 1)[1]))  # $deltatoken
    assert delta["value"] == [] and delta["@odata.context"].endswith("/$delta")


def test_return_representation_is_honoured(api):
    created = api.request("POST", "accounts", json={"name": "Contoso"}, headers={"Prefer": "return=representation"})
    assert created.status_code == 201 and created.get_json()["name"] == "Contoso"
    assert created.headers["Preference-Applied"] == "return=representation"


def test_fetchxml_on_one_record_is_refused(client):
    code, status, message = error(client.get(f"{CONV}({first_id(client)})?fetchXml={quote(FETCH)}"))
    assert (code, status) == ("0x80060888", 400) and "fetchXml" in message


def test_refused_inside_a_batch_too(client):
    parts = [request_part("GET", f"/api/data/v9.2/{CONV}?savedQuery=00000000-0000-0000-00aa-000010001001"),
             request_part("GET", f"/api/data/v9.2/{CONV}?$top=1&$select=subject")]
    answered = send(client, batch_body(*parts), Prefer="odata.continue-on-error")
    assert [status for status, _ in responses(answered)] == [501, 200]
