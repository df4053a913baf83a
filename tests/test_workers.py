"""`serve --workers 2`: the app on gunicorn in a real process on a free port answers as the development server."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from emulator.omnichannel import Omnichannel

from .conftest import API, AUTH, ServerProcess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX systems only")

DOC_AGENT = "2b330c52-6844-4d36-8e05-03c78c9681dc"
EXAMPLE = (f"{API}/msdyn_ocliveworkitems?$select=msdyn_title,msdyn_channel&$filter=_msdyn_activeagentid_value%20eq%20"
           f"{DOC_AGENT}%20and%20statuscode%20eq%203&$orderby=createdon%20desc")  # README, Try it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("workers")
    process = ServerProcess(f"sqlite:///{directory / 'workers.db'}", directory / "server.log", "--workers", "2")
    yield process
    output = process.stop()
    assert "Traceback" not in output, output


def worker_pids(server) -> list[str]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True)
    return listed.stdout.split()


def test_two_worker_processes_serve(server):
    deadline = time.monotonic() + 20  # the first worker may answer before the second has booted
    while len(worker_pids(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(worker_pids(server)) == 2
    health = requests.get(f"{server.url}/_emulator/health", timeout=10).json()
    assert health["counts"]["msdyn_ocliveworkitem"] == 500


def test_documented_example(server):
    response = requests.get(f"{server.url}{EXAMPLE}", headers=AUTH, timeout=10)
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == (f"{server.url}{API}/$metadata#msdyn_ocliveworkitems(msdyn_title,msdyn_channel)")
    assert body["value"] and all(set(r) == {"@odata.etag", "msdyn_title", "msdyn_channel", "activityid"}
                                 for r in body["value"])


def test_reads_agree_across_requests(server):
    """Many requests land on both workers; every one sees the same rows in the same order."""
    url = f"{server.url}{API}/msdyn_ocliveworkitems?$select=msdyn_title&$orderby=createdon desc,activityid&$top=20"
    with requests.Session() as session:
        answers = [session.get(url, headers=AUTH, timeout=10).json()["value"] for _ in range(12)]
    assert len(answers[0]) == 20 and all(answer == answers[0] for answer in answers)
    record = answers[0][0]
    single = requests.get(f"{server.url}{API}/msdyn_ocliveworkitems({record['activityid']})?$select=msdyn_title",
                          headers=AUTH, timeout=10).json()
    assert single["msdyn_title"] == record["msdyn_title"]


def test_errors_keep_their_dataverse_shape(server):
    response = requests.get(f"{server.url}{API}/msdyn_ocliveworkitems?$filter=nosuch eq 1", headers=AUTH, timeout=10)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}
    assert requests.get(f"{server.url}{API}/WhoAmI", timeout=10).status_code == 401


def test_long_urls_are_the_apps_to_judge(server):
    """A 10 KB $filter is legal in Dataverse (32 KB URLs); past 32 KB the answer is Dataverse's 414, not HTML."""
    ids = ",".join(f"'{i:08d}-0000-4000-8000-000000000000'" for i in range(220))
    legal = requests.get(f"{server.url}{API}/msdyn_ocliveworkitems?$filter=activityid in ({ids})", headers=AUTH,
                         timeout=10)
    assert legal.status_code == 200 and legal.json()["value"] == []
    too_long = requests.get(f"{server.url}{API}/msdyn_ocliveworkitems?$filter=subject eq '{'x' * 40000}'",
                            headers=AUTH, timeout=10)
    assert too_long.status_code == 414 and set(too_long.json()["error"]) == {"code", "message"}


def test_reference_client_get_conversations(server):
    conversations = Omnichannel(server.url, "any-token").get_conversations(
        {"agentId": DOC_AGENT, "orderBy": [{"attributeName": "createdon", "descending": True}]})
    assert conversations
    created = [c["createdon"] for c in conversations]
    assert created == sorted(created, reverse=True)


def test_simulate_cannot_be_combined(tmp_path):
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "serve", "--workers", "2", "--simulate",
                             "--database", f"sqlite:///{tmp_path / 'x.db'}"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert result.returncode == 2 and "--simulate" in result.stderr
