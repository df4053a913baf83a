"""Real client libraries write through a live emulator, unchanged: PyPI powerplatform-dataverse-client
(records.create single and list, update, delete) and npm dynamics-web-api 2.5 (create, update, upsert,
deleteRecord, executeBatch; the node test lives in tests/js_writes/)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from emulator.app import create_app

from .conftest import LiveServer, make_emulator

JS_DIR = Path(__file__).parent / "js_writes"


@pytest.fixture
def server(tmp_path):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=10)
    live = LiveServer(create_app(emulator))
    yield emulator, live
    live.stop()
    emulator.db.dispose()


def rows(emulator, where) -> list[dict]:
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    with emulator.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(where(table.c))).mappings()]


class FakeCredential:
    """Satisfies azure.core's TokenCredential protocol; the emulator accepts any bearer token."""

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken("dummy-token", int(time.time()) + 3600)


def test_python_sdk_creates_updates_and_deletes(server):
    pytest.importorskip("PowerPlatform.Dataverse")
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.config import DataverseConfig

    emulator, live = server
    client = DataverseClient("https://placeholder.invalid", FakeCredential(),
                             DataverseConfig(http_retries=1, http_timeout=10))
    client._base_url = live.url  # real-clients.md 1.B: the SDK refuses http:// in its constructor

    # A string value makes the SDK fetch picklist metadata first, to turn labels into option values.
    key = client.records.create("msdyn_ocliveworkitem", {"subject": "from the SDK", "prioritycode": "High",
                                                         "statecode": 0, "msdyn_transfercount": 2})
    created = rows(emulator, lambda c: c.activityid == key)
    assert created and created[0]["subject"] == "from the SDK" and created[0]["prioritycode"] == 2
    assert created[0]["msdyn_transfercount"] == 2 and created[0]["statuscode"] == 1

    keys = client.records.create("msdyn_ocliveworkitem", [{"msdyn_escalationcount": 1},
                                                          {"msdyn_escalationcount": 2}])
    assert len(keys) == 2
    assert sorted(r["msdyn_escalationcount"] for r in rows(emulator, lambda c: c.activityid.in_(keys))) == [1, 2]

    client.records.update("msdyn_ocliveworkitem", key, {"statecode": 1})
    assert (rows(emulator, lambda c: c.activityid == key)[0]["statuscode"]) == 4
    client.records.update("msdyn_ocliveworkitem", keys, {"msdyn_transfercount": 7})  # UpdateMultiple
    assert [r["msdyn_transfercount"] for r in rows(emulator, lambda c: c.activityid.in_(keys))] == [7, 7]

    client.records.delete("msdyn_ocliveworkitem", key)
    assert rows(emulator, lambda c: c.activityid == key) == []


def _node_ready() -> str | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are needed for the dynamics-web-api test"
    return None


@pytest.fixture(scope="module")
def node_modules():
    reason = _node_ready()
    if reason:
        pytest.skip(reason)
    if not (JS_DIR / "node_modules" / "dynamics-web-api").exists():
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    return JS_DIR / "node_modules"


def test_dynamics_web_api_writes(server, node_modules, tmp_path):
    emulator, live = server
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env["EMULATOR_URL"] = live.url
    env["EMULATOR_SUMMARY"] = str(tmp_path / "summary.json")
    result = subprocess.run(["node", "--test", "writes.test.js"], cwd=JS_DIR, capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    # What the library did is visible in the database.
    created = rows(emulator, lambda c: c.activityid == summary["created"])
    assert created and created[0]["subject"] == "from dynamics-web-api" and created[0]["statuscode"] == 4
    upserted = rows(emulator, lambda c: c.activityid == summary["upserted"])
    assert upserted and upserted[0]["msdyn_title"] == "upserted twice"
    assert rows(emulator, lambda c: c.activityid == summary["deleted"]) == []
    batched = rows(emulator, lambda c: c.subject.like("batch %"))
    assert sorted(r["subject"] for r in batched) == ["batch 1", "batch 2"]
    assert rows(emulator, lambda c: c.subject == "batch rolled back") == []
