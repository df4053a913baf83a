"""Write bodies that are not JSON, over real HTTP: 415 in Dataverse's error shape naming the content type and what is
expected, and nothing written (docs/decisions.md, "Write bodies that are not JSON"). $batch keeps multipart/mixed."""
from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
import requests

from emulator.app import create_app

from .conftest import API, AUTH, LiveServer

SET = "msdyn_ocliveworkitems"
BODY = b'{"subject": "should not be written"}'
REFUSED = [
    ("text/plain", "text/plain"),
    ("text/plain;charset=UTF-8", "text/plain;charset=UTF-8"),  # fetch() with a string body and no header
    ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),  # curl -d
    ("application/xml", "application/xml"),
    (None, None),  # requests.post(url, data=...) without a header
]
ACCEPTED = ["application/json", "application/json; charset=utf-8", "application/json;odata.metadata=minimal",
            "Application/JSON", "application/json; type=entry"]


@pytest.fixture
def server(emulator):
    live = LiveServer(create_app(emulator))
    yield live
    live.stop()


def send(server, method: str, path: str, content_type: str | None, body: bytes = BODY) -> requests.Response:
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return requests.request(method, f"{server.url}{API}/{path}", data=body, headers=headers, timeout=10)


def count(server) -> int:
    return int(requests.get(f"{server.url}{API}/{SET}/$count", headers=AUTH, timeout=10).text)


def first(server) -> dict:
    return requests.get(f"{server.url}{API}/{SET}?$select=subject&$top=1&$orderby=activityid", headers=AUTH,
                        timeout=10).json()["value"][0]


def assert_refused(response: requests.Response, content_type: str | None) -> None:
    assert response.status_code == 415, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == ""
    message = body["error"]["message"]
    assert "application/json" in message
    if content_type is None:
        assert "no Content-Type header" in message
    else:
        assert f"'{content_type}'" in message


@pytest.mark.parametrize(("content_type", "shown"), REFUSED)
def test_create_with_a_body_that_is_not_json_is_refused_and_writes_nothing(server, content_type, shown):
    before = count(server)
    assert_refused(send(server, "POST", SET, content_type), shown)
    assert count(server) == before


@pytest.mark.parametrize(("content_type", "shown"), REFUSED)
def test_update_upsert_and_property_put_are_refused_and_write_nothing(server, content_type, shown):
    record = first(server)
    key = record["activityid"]
    assert_refused(send(server, "PATCH", f"{SET}({key})", content_type), shown)
    assert_refused(send(server, "PUT", f"{SET}({key})/subject", content_type, b'{"value": "changed"}'), shown)
    assert first(server)["subject"] == record["subject"]
    new = str(uuid.uuid4())
    before = count(server)
    assert_refused(send(server, "PATCH", f"{SET}({new})", content_type), shown)  # an upsert would create
    assert count(server) == before


@pytest.mark.parametrize("content_type", ACCEPTED)
def test_json_with_parameters_or_any_case_is_accepted(server, content_type):
    before = count(server)
    response = send(server, "POST", SET, content_type, b'{"subject": "JSON is fine"}')
    assert response.status_code == 204, response.text
    assert count(server) == before + 1


def test_requests_without_a_body_are_not_judged(server):
    key = first(server)["activityid"]
    response = requests.delete(f"{server.url}{API}/{SET}({key})", headers={**AUTH, "Content-Type": "text/plain"},
                               timeout=10)
    assert response.status_code == 204


def batch_body(part_content_type: str) -> bytes:
    lines = ["--batch_t", "Content-Type: multipart/mixed; boundary=changeset_t", "",
             "--changeset_t", "Content-Type: application/http", "Content-Transfer-Encoding: binary",
             "Content-ID: 1", "", f"POST {API}/{SET} HTTP/1.1", f"Content-Type: {part_content_type}", "",
             '{"subject": "made in a batch"}', "--changeset_t--", "--batch_t--", ""]
    return "\r\n".join(lines).encode()


def test_batch_keeps_multipart_and_judges_each_part(server):
    before = count(server)
    refused = send(server, "POST", "$batch", "multipart/mixed; boundary=batch_t", batch_body("text/plain"))
    assert refused.status_code == 415  # a failed change set: the batch answers with its failing request
    assert refused.headers["Content-Type"].startswith("multipart/mixed")
    assert "HTTP/1.1 415" in refused.text and "'text/plain'" in refused.text
    assert count(server) == before
    accepted = send(server, "POST", "$batch", "multipart/mixed; boundary=batch_t",
                    batch_body("application/json; type=entry"))
    assert accepted.status_code == 200 and "HTTP/1.1 204" in accepted.text
    assert count(server) == before + 1


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_d_as_a_newcomer_types_it(server):
    before = count(server)
    run = subprocess.run(["curl", "-s", "-w", "\\n%{http_code}", "-H", "Authorization: Bearer t", "-d",
                          '{"subject": "from curl"}', f"{server.url}{API}/{SET}"], capture_output=True, text=True,
                         timeout=30)
    body, status = run.stdout.rsplit("\n", 1)
    assert status == "415" and "application/x-www-form-urlencoded" in body
    assert count(server) == before
    run = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer t",
                          "-H", "Content-Type: application/json", "-d", '{"subject": "from curl"}',
                          f"{server.url}{API}/{SET}"], capture_output=True, text=True, timeout=30)
    assert run.stdout == "204" and count(server) == before + 1
