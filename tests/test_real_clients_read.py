"""Real client libraries, installed from their registries, reading from a live emulator: PyPI
`powerplatform-dataverse-client` over HTTPS (it refuses http) and npm `dynamics-web-api` (tests/js, run with
`node --test`). Each must get exactly the records a direct query returns."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.tls import ensure_certificate, server_context

JS = Path(__file__).parent / "js"
TABLE = "msdyn_ocliveworkitem"
ANNOTATION = "OData.Community.Display.V1.FormattedValue"
JS_TESTS = 7  # the test() calls in tests/js/real_clients.test.mjs


class FakeCredential:
    """Satisfies azure-core's TokenCredential protocol; the emulator accepts any bearer token."""

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken("dummy-token", int(time.time()) + 3600)


@pytest.fixture(scope="module")
def https_url(seeded, tmp_path_factory):
    """The seeded emulator served over HTTPS, with its certificate trusted by requests for this module."""
    certificate = ensure_certificate(tmp_path_factory.mktemp("tls"))
    server = make_server("127.0.0.1", 0, create_app(seeded), threaded=True, ssl_context=server_context(certificate))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(certificate.cert))
        yield f"https://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def sdk(https_url):
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.config import DataverseConfig

    return DataverseClient(https_url, FakeCredential(), DataverseConfig(http_retries=1, http_timeout=10))


def _ids(records) -> list[str]:
    return [r["activityid"] for r in records]


def test_sdk_list_with_paging_count_and_annotations(sdk, client):
    direct = client.values("msdyn_ocliveworkitems?$select=subject,statecode&$filter=statecode eq 0"
                           "&$orderby=createdon desc")
    assert len(direct) > 14  # several pages of 7
    pages = list(sdk.records.list_pages(TABLE, select=["subject", "statecode"], filter="statecode eq 0",
                                        orderby=["createdon desc"], count=True, page_size=7,
                                        include_annotations=ANNOTATION))
    assert [len(p) for p in pages] == [7] * (len(direct) // 7) + ([len(direct) % 7] if len(direct) % 7 else [])
    records = [r for page in pages for r in page]
    assert _ids(records) == _ids(direct)
    assert [(r["subject"], r["statecode"]) for r in records] == [(d["subject"], d["statecode"]) for d in direct]
    flat = sdk.records.list(TABLE, select=["subject", "statecode"], filter="statecode eq 0",
                            orderby=["createdon desc"], count=True, page_size=7, include_annotations=ANNOTATION)
    assert _ids(flat) == _ids(direct)


def test_sdk_list_top(sdk, client):
    direct = client.values("msdyn_ocliveworkitems?$top=3")
    assert _ids(sdk.records.list(TABLE, top=3)) == _ids(direct)


def test_sdk_retrieve_and_missing_id(sdk, client):
    [first] = client.values("msdyn_ocliveworkitems?$select=subject&$orderby=createdon desc&$top=1")
    record = sdk.records.retrieve(TABLE, first["activityid"], select=["subject"])
    assert record is not None and record["subject"] == first["subject"]
    assert sdk.records.retrieve(TABLE, "00000000-0000-0000-0000-000000000001") is None


def test_sdk_query_builder(sdk, client):
    from PowerPlatform.Dataverse import col

    result = (sdk.query.builder(TABLE).select("subject", "statecode").where(col("statecode") == 0)
              .order_by("createdon", descending=True).top(10).execute())
    direct = client.values("msdyn_ocliveworkitems?$select=subject,statecode&$filter=statecode eq 0"
                           "&$orderby=createdon desc&$top=10")
    assert len(direct) == 10
    assert _ids(result) == _ids(direct)


# --- dynamics-web-api (Node) ---------------------------------------------------------------------------------

def _node_tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the dynamics-web-api tests and are not on this machine")
    return node, npm


def test_dynamics_web_api(live, client):
    node, npm = _node_tools()
    if not (JS / "node_modules" / "dynamics-web-api").is_dir():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True,
                                   timeout=300)
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env["EMULATOR_URL"] = live.url  # dynamics-web-api ignores no_proxy, so the proxies are left out above
    result = subprocess.run([node, "--test", "--test-reporter=tap", "real_clients.test.mjs"], cwd=JS, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) == JS_TESTS, result.stdout  # none skipped or lost
