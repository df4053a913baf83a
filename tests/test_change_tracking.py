"""Change tracking (`Prefer: odata.track-changes`, `$deltatoken`): the initial answer and its delta link, deltas of
new, changed and deleted rows, paging, `/$count` of changes, and the errors (spec query-extras.md §2)."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest

from emulator import metadata
from emulator.app import create_app
from emulator.metadata import Catalog
from emulator.store.database import Database

from .conftest import API, Client
from .test_real_clients_read import JS, _node_tools

TRACK = {"Prefer": "odata.track-changes"}


def relative(link: str) -> str:
    return link[link.index(API):]


def create(api, name: str) -> str:
    response = api.request("POST", "accounts", json={"name": name})
    assert response.status_code == 204, response.get_data(as_text=True)
    return re.search(r"\(([0-9a-f-]{36})\)", response.headers["OData-EntityId"]).group(1)


def follow(api, link: str, headers: dict | None = None) -> dict:
    response = api.get(relative(link), headers=headers or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_initial_answer_then_a_delta_of_new_changed_and_deleted_rows(api):
    kept, changed, removed = create(api, "Kept"), create(api, "Changed"), create(api, "Removed")
    first = api.get("accounts?$select=name,accountnumber", headers=TRACK)
    assert first.status_code == 200 and first.headers["Preference-Applied"] == "odata.track-changes"
    body = first.get_json()
    assert list(body) == ["@odata.context", "@odata.deltaLink", "value"]
    assert body["@odata.context"].endswith("$metadata#accounts(name,accountnumber)")
    assert {r["accountid"] for r in body["value"]} >= {kept, changed, removed}
    mine = next(r for r in body["value"] if r["accountid"] == kept)
    assert "accountnumber" in mine and mine["accountnumber"] is None  # nulls present, as in any OData answer
    link = body["@odata.deltaLink"]
    assert "$select=name,accountnumber&$deltatoken=" in link
    assert re.search(r"\$deltatoken=\d+%21\d\d%2f\d\d%2f\d{4}%20\d\d%3a\d\d%3a\d\d$", link)

    empty = follow(api, link)
    assert empty["value"] == [] and empty["@odata.deltaLink"]

    added = create(api, "Added")
    assert api.request("PATCH", f"accounts({changed})", json={"name": "Changed twice"}).status_code == 204
    assert api.request("DELETE", f"accounts({removed})").status_code == 204
    delta = follow(api, link)
    assert delta["@odata.context"].endswith("$metadata#accounts(name,accountnumber)/$delta")
    rows = [r for r in delta["value"] if "reason" not in r]
    assert [r["accountid"] for r in rows] == [added, changed]  # oldest change first
    assert rows[1]["name"] == "Changed twice" and rows[0]["@odata.etag"].startswith('W/"')
    assert delta["value"][len(rows):] == [{"@odata.context": f"http://localhost{API}/$metadata#accounts/$deletedEntity",
                                           "id": removed, "reason": "deleted"}]
    assert kept not in {r.get("accountid") for r in delta["value"]}
    assert api.get(relative(link).replace("accounts?", "accounts/$count?")).get_data(as_text=True) == "3"

    again = follow(api, delta["@odata.deltaLink"])
    assert again["value"] == []


def test_a_row_created_and_deleted_between_syncs_is_only_a_deletion(api):
    link = api.get("accounts?$select=name", headers=TRACK).get_json()["@odata.deltaLink"]
    brief = create(api, "Brief")
    api.request("DELETE", f"accounts({brief})")
    assert follow(api, link)["value"] == [{"@odata.context": f"http://localhost{API}/$metadata#accounts/"
                                                             f"$deletedEntity", "id": brief, "reason": "deleted"}]


def test_pages_of_a_tracked_answer_end_with_the_delta_link(api):
    for i in range(5):
        create(api, f"Paged {i}")
    headers = {**TRACK, "Prefer": "odata.track-changes,odata.maxpagesize=2"}
    body = api.get("accounts?$select=name", headers=headers).get_json()
    seen = []
    while "@odata.nextLink" in body:
        assert "@odata.deltaLink" not in body
        seen += body["value"]
        body = follow(api, body["@odata.nextLink"], headers)
    seen += body["value"]
    total = int(api.get("accounts/$count").get_data(as_text=True))
    assert len(seen) == len({r["accountid"] for r in seen}) == total and {f"Paged {i}" for i in range(5)} <= \
        {r["name"] for r in seen}
    link = body["@odata.deltaLink"]
    for i in range(3):
        create(api, f"Later {i}")
    gone = next(r["accountid"] for r in seen if r["name"] == "Paged 0")
    api.request("DELETE", f"accounts({gone})")
    changes, body, pages = [], follow(api, link, {"Prefer": "odata.maxpagesize=2"}), 1
    while "@odata.nextLink" in body:
        changes += body["value"]
        body, pages = follow(api, body["@odata.nextLink"], {"Prefer": "odata.maxpagesize=2"}), pages + 1
    changes += body["value"]
    assert pages == 2 and "@odata.deltaLink" in body
    assert sorted(r.get("name", r.get("reason")) for r in changes) == ["Later 0", "Later 1", "Later 2", "deleted"]


@pytest.mark.parametrize("option", ["$filter=name eq 'x'", "$orderby=name", "$top=2", "$expand=primarycontactid",
                                    "$apply=groupby((name))"])
def test_options_a_delta_cannot_answer_are_refused(api, option):
    name = option.split("=")[0]
    response = api.get(f"accounts?$select=name&{option}", headers=TRACK)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == \
        f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'


def test_bad_and_expired_tokens(api, emulator):
    bad = api.get("accounts?$select=name&$deltatoken=nonsense")
    assert bad.status_code == 400 and "$deltatoken" in bad.get_json()["error"]["message"]
    old = (emulator.clock.now() - timedelta(days=8)).strftime("%m/%d/%Y %H:%M:%S")
    expired = api.get(f"accounts?$select=name&$deltatoken=1000!{old}")
    assert expired.status_code == 400
    assert expired.get_json()["error"] == {"code": "0x80044352", "message": "Version stamp associated with the "
                                           "client has expired. Please perform a full sync."}
    single = api.get(f"accounts({create(api, 'One')})?$deltatoken=1000!{old}")
    assert single.status_code == 400 and "collection" in single.get_json()["error"]["message"]


def test_a_table_without_change_tracking_refuses(fresh):
    account = replace(metadata.SHIPPED.table("account"), change_tracking=False)
    catalog: Catalog = metadata.SHIPPED.replaced(add=[account])
    untracked = replace(fresh, db=Database(str(fresh.db.url), catalog=catalog))
    response = Client(create_app(untracked)).get("accounts?$select=name", headers=TRACK)
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "0x80072491",
                                            "message": "Entity account isn't enabled for change tracking."}


def test_dynamics_web_api_tracks_changes(live):
    node, npm = _node_tools()
    if not (JS / "node_modules" / "dynamics-web-api").is_dir():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True,
                                   timeout=300)
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env["EMULATOR_URL"] = live.url
    result = subprocess.run([node, "--test", "--test-reporter=tap", "changes.test.mjs"], cwd=JS, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    assert re.search(r"^# pass 1$", result.stdout, re.MULTILINE), result.stdout


def test_entity_definitions_say_which_tables_track_changes(api):
    tracked = api.get("EntityDefinitions?$select=LogicalName&$filter=ChangeTrackingEnabled eq true")
    assert tracked.status_code == 200, tracked.get_data(as_text=True)
    names = {t["LogicalName"] for t in tracked.get_json()["value"]}
    assert {"account", "contact", "msdyn_ocliveworkitem"} <= names
    created = api.request("POST", "EntityDefinitions", json={
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "new_Tracked",
        "DisplayName": {"LocalizedLabels": [{"Label": "Tracked", "LanguageCode": 1033}]},
        "DisplayCollectionName": {"LocalizedLabels": [{"Label": "Tracked", "LanguageCode": 1033}]},
        "OwnershipType": "UserOwned", "HasActivities": False, "HasNotes": False, "IsActivity": False,
        "ChangeTrackingEnabled": True,
        "Attributes": [{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "new_Name",
                        "IsPrimaryName": True, "MaxLength": 100, "FormatName": {"Value": "Text"},
                        "RequiredLevel": {"Value": "None"},
                        "DisplayName": {"LocalizedLabels": [{"Label": "Name", "LanguageCode": 1033}]}}]})
    assert created.status_code == 204, created.get_data(as_text=True)
    one = api.get("EntityDefinitions(LogicalName='new_tracked')?$select=ChangeTrackingEnabled").get_json()
    assert one["ChangeTrackingEnabled"] is True
    link = api.get("new_trackeds?$select=new_name", headers=TRACK)
    assert link.status_code == 200 and "@odata.deltaLink" in link.get_json()
