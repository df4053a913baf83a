"""The reference getConversations clients over real HTTP: the requests they send (the spec's query, headers,
correlation id on every page, nothing when the input is rejected), the documented example from Python, the command
line and JavaScript (Node and a page), and /omnichannel.js."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import request

from emulator import metadata
from emulator.app import create_app
from emulator.omnichannel import Omnichannel, OmnichannelError, build, columns
from emulator.store.seed import DOC_AGENT_ID

from .conftest import API, AUTH, LiveServer, make_emulator

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "emulator" / "static" / "omnichannel.js"
EXAMPLE = {"agentId": DOC_AGENT_ID, "attributes": ["msdyn_title", "msdyn_channel"], "status": [3],
           "orderBy": [{"attributeName": "createdon", "descending": True}]}
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (the JavaScript client needs Node 20)")


class Journal(LiveServer):
    """A live server whose app records every request it receives (path, query, headers)."""

    def __init__(self, emulator) -> None:
        app = create_app(emulator)
        self.requests: list[dict] = []

        @app.after_request
        def record(response):
            self.requests.append({"path": request.path, "args": request.args.to_dict(),
                                  "headers": dict(request.headers), "status": response.status_code})
            return response

        super().__init__(app)


@pytest.fixture(scope="module")
def journal(seeded):
    server = Journal(seeded)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    """An emulator where one agent has 5,003 conversations: more than one page (5,000)."""
    emulator = make_emulator(tmp_path_factory.mktemp("paged") / "emulator.db", conversations=0)
    server = Journal(emulator)
    agent = requests.post(f"{server.url}{API}/systemusers", json={"firstname": "Paged", "lastname": "Agent"},
                          headers=AUTH, timeout=30).headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.msdyn_ocliveworkitem", "subject": f"paged {i}",
                "msdyn_activeagentid_msdyn_ocliveworkitem@odata.bind": f"/systemusers({agent})"} for i in range(5003)]
    response = requests.post(f"{server.url}{API}/msdyn_ocliveworkitems/Microsoft.Dynamics.CRM.CreateMultiple",
                             json={"Targets": targets}, headers=AUTH, timeout=300)
    assert response.status_code == 200, response.text
    server.agent = agent
    yield server
    server.stop()
    emulator.db.dispose()


# -- the request it becomes ---------------------------------------------------------------------------------------
def test_the_documented_example_sends_the_spec_request(journal):
    journal.requests.clear()
    Omnichannel(journal.url, "t").get_conversations(EXAMPLE)
    [sent] = journal.requests
    assert sent["path"] == "/api/data/v9.2/msdyn_ocliveworkitems"
    assert sent["args"] == {
        "$select": "msdyn_title,msdyn_channel,msdyn_ocliveworkitemid,_msdyn_liveworkstreamid_value,"
                   "_msdyn_lastsessionid_value,statuscode,createdon",
        "$filter": f"_msdyn_activeagentid_value eq {DOC_AGENT_ID} and "
                   "Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=['3'])",
        "$orderby": "createdon desc"}
    headers = sent["headers"]
    assert headers["Authorization"] == "Bearer t"
    assert (headers["Accept"], headers["Odata-Version"], headers["Odata-Maxversion"]) == \
        ("application/json", "4.0", "4.0")
    assert "X-Ms-Correlation-Id" not in headers and "Prefer" not in headers


def test_created_before_days_and_several_order_terms(journal):
    journal.requests.clear()
    Omnichannel(journal.url, "t").get_conversations(
        {"agentId": DOC_AGENT_ID, "createdBeforeDays": "30",
         "orderBy": [{"attributeName": "StatusCode"}, {"attributeName": "msdyn_liveworkstreamid", "descending": True}]})
    [sent] = journal.requests
    assert sent["args"]["$filter"] == (f"_msdyn_activeagentid_value eq {DOC_AGENT_ID} and "
                                       "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=30)")
    assert sent["args"]["$orderby"] == "statuscode asc,_msdyn_liveworkstreamid_value desc"
    assert sent["args"]["$select"] == ("msdyn_ocliveworkitemid,_msdyn_liveworkstreamid_value,"
                                       "_msdyn_lastsessionid_value,statuscode,createdon")


def test_token_callable_is_asked_before_every_request(paged):
    tokens = iter(f"token-{i}" for i in range(10))
    paged.requests.clear()
    records = Omnichannel(paged.url, lambda: next(tokens)).get_conversations({"agentId": paged.agent})
    assert len(records) == 5003
    assert [r["headers"]["Authorization"] for r in paged.requests] == ["Bearer token-0", "Bearer token-1"]


def test_correlation_id_reaches_the_server_on_every_request_of_the_call(paged):
    paged.requests.clear()
    records = Omnichannel(paged.url, "t").get_conversations({"agentId": paged.agent}, "corr-42")
    assert len(records) == 5003 and len({r["activityid"] for r in records}) == 5003
    assert len(paged.requests) == 2 and "$skiptoken" in paged.requests[1]["args"]  # the second page
    assert [r["headers"].get("X-Ms-Correlation-Id") for r in paged.requests] == ["corr-42", "corr-42"]


@needs_node
def test_correlation_id_from_javascript_on_every_request(paged):
    paged.requests.clear()
    count = _node(f"""
        const {{ createOmnichannel }} = require({json.dumps(str(SCRIPT))});
        createOmnichannel({{ orgUrl: {json.dumps(paged.url)}, getToken: () => "t" }})
          .getConversations({{ agentId: {json.dumps(paged.agent)} }}, "js-corr-7")
          .then((r) => console.log(JSON.stringify(r.length)));""")
    assert count == 5003
    assert [r["headers"].get("X-Ms-Correlation-Id") for r in paged.requests] == ["js-corr-7", "js-corr-7"]


@pytest.mark.parametrize("bad", [{}, {"agentId": "nope"}, "{not json", {"agentId": DOC_AGENT_ID, "status": [8]},
                                 {"agentId": DOC_AGENT_ID, "attributes": ["x"]}])
def test_a_rejected_call_sends_nothing(journal, bad):
    journal.requests.clear()
    with pytest.raises(OmnichannelError) as caught:
        Omnichannel(journal.url, "t").get_conversations(bad, "corr")
    assert caught.value.code == "0x80040203" and caught.value.status is None
    assert journal.requests == []


def test_a_server_error_keeps_code_message_and_status(journal):
    with pytest.raises(OmnichannelError) as caught:
        Omnichannel(journal.url).get_conversations({"agentId": DOC_AGENT_ID})  # no token
    assert (caught.value.status, caught.value.code) == (401, "")
    assert "not authenticated" in caught.value.message


def test_an_answer_that_is_not_a_collection_is_an_omnichannel_error(journal):
    with pytest.raises(OmnichannelError) as caught:  # the URL lands on the script, not on the Web API
        Omnichannel(journal.url + "/omnichannel.js?", "t").get_conversations({"agentId": DOC_AGENT_ID})
    assert (caught.value.status, caught.value.code) == (200, "")
    assert "not an OData collection" in caught.value.message


def test_the_static_column_list_matches_the_table(seeded):
    table = metadata.table("msdyn_ocliveworkitem")
    assert set(columns.COLUMNS) == {a.logical_name for a in table.attributes if not a.is_lookup}
    assert set(columns.LOOKUPS) == {a.logical_name for a in table.attributes if a.is_lookup}
    js = SCRIPT.read_text()
    for name in (*columns.COLUMNS, *columns.LOOKUPS):
        assert f'"{name}"' in js, name


# -- the documented example, from Python, the command line and JavaScript --------------------------------------
def _node(source: str):
    run = subprocess.run([NODE, "-e", source], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@needs_node
def test_documented_example_is_the_same_from_python_cli_and_javascript(journal, client):
    python = Omnichannel(journal.url, "any-token").get_conversations(EXAMPLE)
    cli = subprocess.run([sys.executable, "-m", "emulator.cli", "get-conversations", "--url", journal.url,
                          "--agent", DOC_AGENT_ID, "--status", "3", "--attribute", "msdyn_title",
                          "--attribute", "msdyn_channel", "--order-by", "createdon:desc", "--format", "json"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    node = _node(f"""
        const {{ createOmnichannel }} = require({json.dumps(str(SCRIPT))});
        createOmnichannel({{ orgUrl: {json.dumps(journal.url)}, getToken: async () => "any-token" }})
          .getConversations({json.dumps(EXAMPLE)}).then((r) => console.log(JSON.stringify(r)));""")
    assert python == json.loads(cli.stdout) == node
    # decision 6: the records exactly as the Web API returns them for the spec's request
    omnichannel = Omnichannel(journal.url, "any-token")
    direct = requests.get(omnichannel.conversations_url(build(EXAMPLE)), headers=AUTH, timeout=30).json()
    assert python == direct["value"] and "@odata.nextLink" not in direct
    # the agent's waiting conversations, newest first, exactly as the Web API lists them
    expected = client.values(f"msdyn_ocliveworkitems?$select=activityid,createdon&$filter=_msdyn_activeagentid_value"
                             f" eq {DOC_AGENT_ID} and statuscode eq 3&$orderby=createdon desc")
    assert len(python) >= 3
    assert [r["activityid"] for r in python] == [r["activityid"] for r in expected]
    assert all(r["statuscode"] == 3 for r in python)
    assert set(python[0]) == {"@odata.etag", "activityid", "msdyn_title", "msdyn_channel", "msdyn_ocliveworkitemid",
                              "_msdyn_liveworkstreamid_value", "_msdyn_lastsessionid_value", "statuscode", "createdon"}


@needs_node
def test_in_a_page_window_microsoft_omnichannel_runs_code_written_for_the_real_api(journal):
    """The script as a page loads it (from /omnichannel.js, with window but no module), on the page's origin."""
    served = requests.get(f"{journal.url}/omnichannel.js", timeout=30)
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/javascript")
    assert served.text == SCRIPT.read_text()
    page = _node(f"""
        const vm = require("node:vm");
        const window = {{ location: {{ origin: {json.dumps(journal.url)} }}, fetch }};
        const context = vm.createContext({{ window, fetch, AbortSignal, JSON, console }});
        context.globalThis = context;
        vm.runInContext({json.dumps(served.text)}, context);
        Promise.all([
          window.Microsoft.Omnichannel.getConversations(JSON.stringify({json.dumps(EXAMPLE)}), "page-corr"),
          window.Microsoft.Omnichannel.getConversations({{ agentId: "bad" }}).catch((e) =>
            ({{ message: e.message, code: e.code, status: e.status }})),
        ]).then((r) => console.log(JSON.stringify(r)));""")
    records, error = page
    assert records == Omnichannel(journal.url, "t").get_conversations(EXAMPLE)
    assert error == {"message": f"agentId 'bad' is not a GUID such as {DOC_AGENT_ID}.", "code": "0x80040203",
                     "status": None}
    assert "page-corr" in [r["headers"].get("X-Ms-Correlation-Id") for r in journal.requests]


def test_omnichannel_js_needs_no_token(client):
    response = client.http.get("/omnichannel.js")
    assert response.status_code == 200 and b"createOmnichannel" in response.data


def test_cli_rejection_exits_1_with_the_message(journal):
    run = subprocess.run([sys.executable, "-m", "emulator.cli", "get-conversations", "--url", journal.url,
                          "--agent", DOC_AGENT_ID, "--status", "9"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "status value '9' is not a known statuscode" in run.stderr and run.stdout == ""


def test_cli_table_format(journal):
    run = subprocess.run([sys.executable, "-m", "emulator.cli", "get-conversations", "--url", journal.url,
                          "--agent", DOC_AGENT_ID, "--status", "3", "--attribute", "msdyn_title",
                          "--format", "table", "--token", "t"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[:2] == ["msdyn_title", "msdyn_ocliveworkitemid"]
    assert lines[-1].endswith("conversations)") and "@odata.etag" not in run.stdout


def test_query_string_matches_javascript(journal):
    """Both clients build the same URL for the same input, byte for byte."""
    if NODE is None:
        pytest.skip("node is not installed")

    inputs = [EXAMPLE, {"agentId": f"{{{DOC_AGENT_ID.upper()}}}", "status": ["2, 3", 5], "createdBeforeDays": 0,
                        "attributes": ["MSDYN_Title", "ownerid", "_msdyn_customer_value"],
                        "orderBy": [{"attributeName": "msdyn_title"},
                                    {"attributeName": "ownerid", "descending": True}]}]
    js = _node(f"""const o = require({json.dumps(str(SCRIPT))});
                   console.log(JSON.stringify({json.dumps(inputs)}.map(o.buildQuery)));""")
    assert js == [build(i).query_string() for i in inputs]
    assert urlsplit("?" + js[1]).query and parse_qs(js[1])["$select"][0].startswith("msdyn_title,_ownerid_value")


ODD_INPUTS = [
    None, 3, "3", "", "null", "[]", "{}", "{\"agentId\": 1}", [], {"agentId": True}, {"agentId": ["x"]},
    {"agentId": "{" + DOC_AGENT_ID + "}"}, {"agentId": DOC_AGENT_ID + "}"}, {"agentId": DOC_AGENT_ID.replace("-", "")},
    {"agentId": DOC_AGENT_ID, "status": 3}, {"agentId": DOC_AGENT_ID, "status": "3, 2"},
    {"agentId": DOC_AGENT_ID, "status": [3.0]}, {"agentId": DOC_AGENT_ID, "status": [" "]},
    {"agentId": DOC_AGENT_ID, "status": ["+3"]}, {"agentId": DOC_AGENT_ID, "status": ["-3"]},
    {"agentId": DOC_AGENT_ID, "status": [None]}, {"agentId": DOC_AGENT_ID, "status": {"a": 1}},
    {"agentId": DOC_AGENT_ID, "status": [1e30]}, {"agentId": DOC_AGENT_ID, "status": ["3,"]},
    {"agentId": DOC_AGENT_ID, "createdBeforeDays": 0}, {"agentId": DOC_AGENT_ID, "createdBeforeDays": " 7 "},
    {"agentId": DOC_AGENT_ID, "createdBeforeDays": ""}, {"agentId": DOC_AGENT_ID, "createdBeforeDays": [1]},
    {"agentId": DOC_AGENT_ID, "createdBeforeDays": 9007199254740991},
    {"agentId": DOC_AGENT_ID, "createdBeforeDays": 9007199254740992},
    {"agentId": DOC_AGENT_ID, "createdBeforeDays": -0.5}, {"agentId": DOC_AGENT_ID, "createdBeforeDays": 1e3},
    {"agentId": DOC_AGENT_ID, "attributes": [""]}, {"agentId": DOC_AGENT_ID, "attributes": [None]},
    {"agentId": DOC_AGENT_ID, "attributes": [" msdyn_title "]}, {"agentId": DOC_AGENT_ID, "attributes": {}},
    {"agentId": DOC_AGENT_ID, "attributes": ["@odata.etag"]}, {"agentId": DOC_AGENT_ID, "attributes": None},
    {"agentId": DOC_AGENT_ID, "orderBy": []}, {"agentId": DOC_AGENT_ID, "orderBy": [None]},
    {"agentId": DOC_AGENT_ID, "orderBy": [{"attributeName": ""}]},
    {"agentId": DOC_AGENT_ID, "orderBy": [{"attributeName": "createdon", "descending": 1}]},
    {"agentId": DOC_AGENT_ID, "orderBy": [{"attributeName": "createdon"}, {"attributeName": "createdon"}]},
    {"agentId": DOC_AGENT_ID, "orderBy": "createdon"}, {"agentId": DOC_AGENT_ID, "orderBy": [[]]},
]


@needs_node
def test_both_clients_accept_and_reject_the_same_inputs_with_the_same_words():
    def python(value):
        try:
            return {"query": build(value).query_string()}
        except OmnichannelError as e:
            return {"error": e.to_dict()}

    js = _node(f"""const o = require({json.dumps(str(SCRIPT))});
        console.log(JSON.stringify({json.dumps(ODD_INPUTS)}.map((v) => {{
          try {{ return {{ query: o.buildQuery(v) }}; }}
          catch (e) {{ return {{ error: {{ message: e.message, code: e.code, status: e.status }} }}; }}
        }})));""")
    for value, js_outcome in zip(ODD_INPUTS, js, strict=False):
        assert python(value) == js_outcome, value


def test_the_client_imports_nothing_from_the_server():
    """Client side only: importing it loads none of the emulator's server packages, nor Flask or SQLAlchemy."""
    probe = ("import sys, emulator.omnichannel, emulator.omnichannel.cli; "
             "print(sorted(m for m in sys.modules if m.startswith(('emulator.', 'flask', 'sqlalchemy'))))")
    run = subprocess.run([sys.executable, "-c", probe],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    loaded = json.loads(run.stdout.replace("'", '"'))
    assert loaded and all(m.startswith("emulator.omnichannel") for m in loaded), loaded
