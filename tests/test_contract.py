"""The getConversations contract suite: the cases in fixtures/contract/*.json, run through the Python client
(one test per case) and through omnichannel.js under `node --test` (which must pass and agree with Python record
for record), against a live emulator, or against a real org with --org-url/OMNICHANNEL_ORG_URL (see the README)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from emulator.app import create_app
from emulator.omnichannel import Omnichannel, OmnichannelError

from .conftest import LiveServer, make_emulator

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "contract"
JS_TEST = ROOT / "tests" / "js_contract" / "contract.test.mjs"
API = "/api/data/v9.2/"
DEFAULT_KEYS = ("@odata.etag", "activityid", "msdyn_ocliveworkitemid", "_msdyn_liveworkstreamid_value",
                "_msdyn_lastsessionid_value", "statuscode", "createdon")
STATE_OF_STATUS = {1: 0, 2: 0, 3: 0, 5: 0, 4: 1, 6: 2, 7: 3}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)(?::(upper))?\}")
BULK = 1000  # records per CreateMultiple


def load_scenarios() -> list[dict]:
    scenarios = []
    for path in sorted(FIXTURES.glob("*.json")):
        scenario = json.loads(path.read_text())
        scenario["file"] = path.stem
        scenarios.append(scenario)
    return scenarios


SCENARIOS = load_scenarios()
CALL_IDS = [f"{s['file']}:{i:02d} {case['name']}" for s in SCENARIOS for i, case in enumerate(s["cases"])]


# -- where the suite runs: a live emulator, or a real org --------------------------------------------------------
class Target:
    def __init__(self, org_url: str, token: str | None, *, real_org: bool, agent_ids: list[str] = ()) -> None:
        self.org_url, self.token, self.real_org = org_url.rstrip("/"), token, real_org
        self.agent_ids = list(agent_ids)
        self.http = requests.Session()
        self.http.headers.update({"Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"})
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.created: list[tuple[str, str]] = []  # (entity set, id), to delete on a real org

    def set_clock(self, now: str | None) -> None:
        if now and not self.real_org:
            response = self.http.put(f"{self.org_url}/_emulator/clock", json={"now": now, "frozen": True}, timeout=30)
            assert response.status_code == 200, response.text

    def create(self, entity_set: str, body: dict) -> str:
        response = self.http.post(f"{self.org_url}{API}{entity_set}", json=body, timeout=60)
        assert response.status_code == 204, f"POST {entity_set}: {response.status_code} {response.text}"
        record_id = response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
        self.created.append((entity_set, record_id))
        return record_id

    def create_many(self, entity_set: str, type_name: str, bodies: list[dict]) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(bodies), BULK):
            targets = [{**b, "@odata.type": f"Microsoft.Dynamics.CRM.{type_name}"} for b in bodies[start:start + BULK]]
            response = self.http.post(f"{self.org_url}{API}{entity_set}/Microsoft.Dynamics.CRM.CreateMultiple",
                                      json={"Targets": targets}, timeout=300)
            assert response.status_code == 200, f"CreateMultiple: {response.status_code} {response.text[:500]}"
            ids += response.json()["Ids"]
        self.created += [(entity_set, i) for i in ids]
        return ids

    def delete_created(self) -> None:
        for entity_set, record_id in reversed(self.created):
            self.http.delete(f"{self.org_url}{API}{entity_set}({record_id})", headers={"If-Match": "*"}, timeout=60)
        self.created.clear()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


# -- preparing scenarios: records through the Web API, cases resolved to concrete calls --------------------------
def substitute(value, refs: dict[str, str]):
    if isinstance(value, str):
        def one(match: re.Match) -> str:
            record_id = refs[match.group(1)]
            return record_id.upper() if match.group(2) else record_id
        return PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [substitute(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, refs) for k, v in value.items()}
    return value


def expand_records(records: list[dict]) -> list[dict]:
    out = []
    for record in records:
        if "repeat" not in record:
            out.append(record)
            continue
        start = datetime.fromisoformat(record["createdon"].replace("Z", "+00:00"))
        template = {k: v for k, v in record.items() if k not in ("repeat", "ref", "step_seconds", "createdon")}
        for i in range(record["repeat"]):
            created = start + timedelta(seconds=i * record.get("step_seconds", 0))
            out.append({**template, "ref": record["ref"].format(i=i),
                        "createdon": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "bulk": True})
    return out


def conversation_body(record: dict, refs: dict[str, str], marker: str) -> dict:
    body = {k: v for k, v in record.items() if k not in ("ref", "agent", "workstream", "session", "createdon", "bulk")}
    body.setdefault("subject", f"{marker} {record['ref']}")
    if "statuscode" in body:
        body["statecode"] = STATE_OF_STATUS[body["statuscode"]]
    if record.get("agent"):
        body["msdyn_activeagentid_msdyn_ocliveworkitem@odata.bind"] = f"/systemusers({refs[record['agent']]})"
    if record.get("workstream"):
        body["msdyn_liveworkstreamid_msdyn_ocliveworkitem@odata.bind"] = \
            f"/msdyn_liveworkstreams({refs[record['workstream']]})"
    if record.get("session"):
        body["msdyn_lastsessionid_msdyn_ocliveworkitem@odata.bind"] = f"/msdyn_ocsessions({refs[record['session']]})"
    if record.get("createdon"):
        body["overriddencreatedon"] = record["createdon"]
    return body


def expected_ids(items: list, refs: dict[str, str], *, ordered: bool, real_org: bool) -> list[list[str]]:
    """Groups of ids in order (a group is a tie: any order within it). On the emulator a tie or an unordered
    result is in primary-key order (decision 5: the server's default order, and its tie-breaker)."""
    groups: list[list[str]] = []
    for item in items:
        if isinstance(item, dict):
            step = 1 if item["to"] >= item["from"] else -1
            groups += [[refs[item["repeat"].format(i=i)]] for i in range(item["from"], item["to"] + step, step)]
        elif isinstance(item, list):
            groups.append([refs[r] for r in item])
        else:
            groups.append([refs[item]])
    if not ordered:
        groups = [[i for g in groups for i in g]]
    if not real_org:
        groups = [[i] for g in groups for i in sorted(g)]
    return groups


def is_clock_dependent(case: dict) -> bool:
    """createdBeforeDays results depend on the server's today, which only the emulator lets the suite fix."""
    data = case.get("input")
    return (isinstance(data, dict) and "createdBeforeDays" in data) or "createdBeforeDays" in case.get("input_json", "")


def prepare(target: Target) -> dict[str, dict]:
    """Create every scenario's records and return the concrete calls, keyed by CALL_IDS."""
    run = uuid.uuid4().hex[:8]
    calls: dict[str, dict] = {}
    unreachable = closed_port_url()
    for scenario in SCENARIOS:
        cases = list(enumerate(scenario["cases"]))
        ids = [f"{scenario['file']}:{i:02d} {case['name']}" for i, case in cases]
        if target.real_org and scenario.get("real_org") is False:
            for call_id in ids:
                calls[call_id] = {"id": call_id, "skip": "emulator only (a fixed clock or 5,000+ records)"}
            continue
        marker = f"contract-{run} {scenario['file']}"
        target.set_clock(scenario["clock"])
        refs: dict[str, str] = {}
        for n, name in enumerate(scenario.get("agents", [])):
            if target.real_org:
                refs[name] = target.agent_ids[n]
            else:
                refs[name] = target.create("systemusers", {"firstname": name.title(), "lastname": marker})
        for ref, title in scenario.get("workstreams", {}).items():
            refs[ref] = target.create("msdyn_liveworkstreams", {"msdyn_name": title})
        for ref in scenario.get("sessions", []):
            refs[ref] = target.create("msdyn_ocsessions", {"subject": f"{marker} {ref}"})
        records = expand_records(scenario["records"])
        bulk = [r for r in records if r.get("bulk")]
        if bulk:
            made = target.create_many("msdyn_ocliveworkitems", "msdyn_ocliveworkitem",
                                      [conversation_body(r, refs, marker) for r in bulk])
            refs.update({r["ref"]: i for r, i in zip(bulk, made, strict=False)})
        for record in records:
            if not record.get("bulk"):
                refs[record["ref"]] = target.create("msdyn_ocliveworkitems", conversation_body(record, refs, marker))
        created = sorted(refs[r["ref"]] for r in records)
        for (i, case), call_id in zip(cases, ids, strict=False):
            if target.real_org and (case.get("real_org") is False or is_clock_dependent(case)):
                calls[call_id] = {"id": call_id, "skip": "emulator only (depends on the emulator's clock or URLs)"}
                continue
            server = case.get("server", {})
            org_url = unreachable if server.get("unreachable") else target.org_url + server.get("path", "")
            expect = dict(case["expect"])
            if "error" not in expect:
                expect = {"ids": expected_ids(expect.get("ids", []), refs, ordered=expect.get("ordered", True),
                                              real_org=target.real_org),
                          "keys": sorted(set(DEFAULT_KEYS) | set(expect.get("keys", []))),
                          "values": {refs[r]: substitute(v, refs) for r, v in expect.get("values", {}).items()},
                          "only": created if target.real_org else None}
            call = {"id": call_id, "clock": None if target.real_org else case.get("clock", scenario["clock"]),
                    "controlUrl": None if target.real_org else target.org_url,
                    "orgUrl": org_url, "token": server["token"] if "token" in server else target.token,
                    "correlationId": f"contract-{run}-{scenario['file']}-{i}", "expect": expect}
            if "input_json" in case:
                call["inputJson"] = substitute(case["input_json"], refs)
            else:
                call["input"] = substitute(case["input"], refs)
            calls[call_id] = call
    return calls


# -- running one call and checking it (tests/js_contract/contract.test.mjs mirrors both) ------------------------
def run_python(target: Target, call: dict) -> dict:
    target.set_clock(call["clock"])
    client = Omnichannel(call["orgUrl"], call["token"], timeout=60)
    try:
        records = client.get_conversations(call["inputJson"] if "inputJson" in call else call["input"],
                                           call["correlationId"])
    except OmnichannelError as e:
        return {"error": e.to_dict()}
    return {"records": records}


def check(outcome: dict, expect: dict) -> None:
    if "error" in expect:
        assert "error" in outcome, f"expected a rejection, got {len(outcome['records'])} records"
        error, wanted = outcome["error"], expect["error"]
        assert (error["code"], error["status"]) == (wanted["code"], wanted["status"]), error
        assert wanted["message"] in error["message"], error
        return
    assert "records" in outcome, f"expected records, got the rejection {outcome['error']}"
    records = outcome["records"]
    if expect["only"] is not None:  # a real org: the agent may have conversations of its own
        records = [r for r in records if r["activityid"] in set(expect["only"])]
    ids = [r["activityid"] for r in records]
    position = 0
    for group in expect["ids"]:
        assert sorted(ids[position:position + len(group)]) == sorted(group), \
            f"at position {position}: expected {group}, got {ids[position:position + len(group)]}"
        position += len(group)
    assert position == len(ids), f"{len(ids) - position} unexpected records: {ids[position:position + 5]}"
    for record in records:
        assert sorted(record) == expect["keys"], record
    by_id = {r["activityid"]: r for r in records}
    for record_id, values in expect["values"].items():
        for key, value in values.items():
            assert by_id[record_id][key] == value, (record_id, key, by_id[record_id][key])


# -- fixtures and tests -------------------------------------------------------------------------------------------
def _option(config, name: str, env: str) -> str | None:
    return config.getoption(name, default=None) or os.environ.get(env) or None


@pytest.fixture(scope="module")
def target(request, tmp_path_factory):
    org_url = _option(request.config, "--org-url", "OMNICHANNEL_ORG_URL")
    if org_url:
        token = _option(request.config, "--org-token", "OMNICHANNEL_TOKEN")
        agents = (_option(request.config, "--org-agents", "OMNICHANNEL_AGENT_IDS") or "").split(",")
        agents = [a.strip() for a in agents if a.strip()]
        if len(agents) < 3:
            pytest.fail("a real org needs three existing systemuser ids: --org-agents id1,id2,id3 "
                        "(or OMNICHANNEL_AGENT_IDS); the suite assigns its own records to them")
        target = Target(org_url, token, real_org=True, agent_ids=agents)
        try:
            target.calls = prepare(target)
            yield target
        finally:
            target.delete_created()
        return
    emulator = make_emulator(tmp_path_factory.mktemp("contract") / "emulator.db", conversations=0)
    server = LiveServer(create_app(emulator))
    target = Target(server.url, "contract-token", real_org=False)
    target.calls = prepare(target)
    yield target
    server.stop()
    emulator.db.dispose()


@pytest.mark.parametrize("call_id", CALL_IDS)
def test_python_client(target, call_id):
    call = target.calls[call_id]
    if "skip" in call:
        pytest.skip(call["skip"])
    check(run_python(target, call), call["expect"])


def _node() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
    return node if int(version.split(".")[0] or 0) >= 20 else None


def test_javascript_client_passes_every_case_and_agrees_with_python(target, tmp_path):
    node = _node()
    if node is None:
        pytest.skip("node 20 or later is not installed: the JavaScript half of the contract suite needs it")
    calls = [c for c in target.calls.values() if "skip" not in c]
    manifest, results = tmp_path / "manifest.json", tmp_path / "results.json"
    manifest.write_text(json.dumps({"calls": calls, "results": str(results)}))
    run = subprocess.run([node, "--test", "--test-reporter=spec", str(JS_TEST)], capture_output=True, text=True,
                         env={**os.environ, "CONTRACT_MANIFEST": str(manifest)}, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    js = json.loads(results.read_text())
    assert sorted(js) == sorted(c["id"] for c in calls)
    for call in calls:  # the same call, the same clock, the same data: the same records or the same rejection
        assert js[call["id"]] == run_python(target, call), call["id"]
