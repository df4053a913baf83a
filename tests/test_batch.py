"""POST /$batch: GETs, change sets (atomic), Content-ID references, error handling and the multipart response."""
from __future__ import annotations

import re

import pytest

from .conftest import API, Client
from .test_writes import dump

CONV = "msdyn_ocliveworkitems"


def request_part(method: str, url: str, body: str | None = None, content_id: int | None = None) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    lines += ["Content-Type: application/json; type=entry", "", body] if body is not None else \
        ["Accept: application/json", "", ""]
    return lines


def change_set(boundary: str, *parts: list[str]) -> list[str]:
    lines = [f"Content-Type: multipart/mixed; boundary={boundary}", ""]
    for part in parts:
        lines += [f"--{boundary}", *part]
    return lines + [f"--{boundary}--"]


def batch_body(*items: list[str]) -> bytes:
    lines: list[str] = []
    for item in items:
        lines += ["--batch_test", *item]
    return "\r\n".join(lines + ["--batch_test--", ""]).encode()


def send(api: Client, body: bytes, **headers):
    return api.request("POST", "$batch", data=body,
                       headers={"Content-Type": 'multipart/mixed; boundary="batch_test"', **headers})


def responses(response) -> list[tuple[int, str]]:
    """(status, text from the status line on) of every inner response, change sets flattened, in order."""
    chunks = re.split(r"\r\n--(?:batchresponse|changesetresponse)_[0-9a-f-]+(?:--)?",
                      "\r\n" + response.get_data(as_text=True))
    found = []
    for chunk in chunks:
        match = re.search(r"^HTTP/1\.1 (\d{3}) .*", chunk, re.MULTILINE | re.DOTALL)
        if match:
            found.append((int(match.group(1)), match.group(0).strip()))
    return found


def count(emulator, logical_name: str) -> int:
    return emulator.db.count(logical_name)


def test_change_set_and_get_with_content_id_references(api, emulator):
    body = batch_body(
        change_set("changeset_one",
                   request_part("POST", f"http://localhost{API}/accounts", '{"name": "Batch Co"}', 1),
                   request_part("POST", f"{API}/{CONV}",
                                '{"subject": "from batch", '
                                '"msdyn_customer_msdyn_ocliveworkitem_account@odata.bind": "$1"}', 2),
                   request_part("PATCH", "$1", '{"telephone1": "555-0100"}', 3)),
        request_part("GET", "accounts?$select=name,telephone1&$filter=name eq 'Batch Co'"))
    response = send(api, body)
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/mixed; boundary=batchresponse_")
    boundary = content_type.split("boundary=")[1]
    text = response.get_data(as_text=True)
    assert text.startswith(f"--{boundary}\r\n") and text.rstrip().endswith(f"--{boundary}--")
    assert "Content-Type: multipart/mixed; boundary=changesetresponse_" in text
    assert [s for s, _ in responses(response)] == [204, 204, 204, 200]
    assert re.findall(r"Content-ID: (\d+)", text) == ["1", "2", "3"]
    account = re.search(r"OData-EntityId: http://localhost/api/data/v9\.2/accounts\(([0-9a-f-]{36})\)", text).group(1)
    listed = api.values("accounts?$select=telephone1&$filter=name eq 'Batch Co'")
    assert listed == [{"@odata.etag": listed[0]["@odata.etag"], "telephone1": "555-0100", "accountid": account}]
    assert '"telephone1":"555-0100"' in text  # the GET after the change set sees its changes
    conversations = api.values(f"{CONV}?$select=_msdyn_customer_value&$filter=subject eq 'from batch'")
    assert [c["_msdyn_customer_value"] for c in conversations] == [account]


def test_a_change_set_whose_third_request_fails_rolls_back_the_first_two(api, emulator):
    before = dump(emulator)
    body = batch_body(change_set(
        "changeset_two",
        request_part("POST", f"{API}/{CONV}", '{"subject": "first"}', 1),
        request_part("POST", f"{API}/accounts", '{"name": "second"}', 2),
        request_part("POST", f"{API}/{CONV}", '{"subject": "third", "prioritycode": 99}', 3)))
    response = send(api, body)
    assert response.status_code == 400
    statuses = responses(response)
    assert [s for s, _ in statuses] == [400]  # the failed change set answers with its failing request only
    assert '"code":"0x8004431a"' in statuses[0][1]
    assert "changesetresponse_" not in response.get_data(as_text=True)
    assert dump(emulator) == before


def test_without_continue_on_error_processing_stops_at_the_first_failure(api, emulator):
    conversations = count(emulator, "msdyn_ocliveworkitem")
    body = batch_body(request_part("POST", f"{API}/{CONV}", '{"subject": "kept"}'),
                      request_part("POST", f"{API}/{CONV}", '{"bogus": 1}'),
                      request_part("POST", f"{API}/{CONV}", '{"subject": "never run"}'))
    response = send(api, body)
    assert response.status_code == 400
    assert [s for s, _ in responses(response)] == [204, 400]
    assert count(emulator, "msdyn_ocliveworkitem") == conversations + 1  # outside change sets, each stands alone


def test_continue_on_error_runs_every_request(api, emulator):
    conversations = count(emulator, "msdyn_ocliveworkitem")
    body = batch_body(request_part("POST", f"{API}/{CONV}", '{"bogus": 1}'),
                      change_set("changeset_three", request_part("POST", f"{API}/{CONV}", '{"subject": "a"}', 1),
                                 request_part("POST", f"{API}/{CONV}", '{"subject": "b"}', 2)),
                      request_part("GET", f"{API}/{CONV}/$count"))
    response = send(api, body, Prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    statuses = responses(response)
    assert [s for s, _ in statuses] == [400, 204, 204, 200]
    assert statuses[-1][1].rstrip().endswith(str(conversations + 2))
    assert count(emulator, "msdyn_ocliveworkitem") == conversations + 2


def test_unknown_content_id_reference_fails_the_change_set(api, emulator):
    before = dump(emulator)
    body = batch_body(change_set("changeset_four",
                                 request_part("POST", f"{API}/{CONV}", '{"subject": "x"}', 1),
                                 request_part("PATCH", "$7", '{"subject": "y"}', 2)))
    response = send(api, body)
    assert response.status_code == 400
    assert "Content-ID Reference: '$7' does not exist in the batch context." in response.get_data(as_text=True)
    assert dump(emulator) == before


def test_gets_in_a_batch_answer_like_plain_gets(api, emulator):
    key = api.values(f"{CONV}?$select=subject&$top=1")[0]["activityid"]
    direct = api.get(f"{CONV}({key})?$select=subject").get_data(as_text=True)
    body = batch_body(request_part("GET", f"http://localhost{API}/{CONV}({key})?$select=subject"),
                      request_part("GET", f"{API}/nothings"))
    response = send(api, body, Prefer="odata.continue-on-error")
    statuses = responses(response)
    assert [s for s, _ in statuses] == [200, 404]
    assert statuses[0][1].endswith(direct)
    assert "Content-Type: application/json; odata.metadata=minimal" in statuses[0][1]


@pytest.mark.parametrize("content_type,body", [
    ("application/json", b"{}"),
    ('multipart/mixed; boundary="batch_test"', b"--batch_test\r\nContent-Type: application/http\r\n\r\nGET x"),
    ('multipart/mixed; boundary="batch_test"',
     batch_body(change_set("cs", request_part("GET", f"{API}/{CONV}", None, 1)))),
])
def test_malformed_batches_are_400(api, emulator, content_type, body):
    before = dump(emulator)
    response = api.request("POST", "$batch", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 400 and response.get_json()["error"]["message"]
    assert dump(emulator) == before


def test_only_bind_values_are_content_id_references_and_batches_do_not_nest(api, emulator):
    body = batch_body(change_set("changeset_five", request_part("POST", f"{API}/{CONV}", '{"subject": "$1"}', 1)))
    assert [s for s, _ in responses(send(api, body))] == [204]
    assert [r["subject"] for r in api.values(f"{CONV}?$select=subject&$filter=subject eq '$1'")] == ["$1"]
    before = dump(emulator)
    response = send(api, batch_body(request_part("POST", f"{API}/$batch", "{}")))
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Batch requests can't contain other batch requests."
    assert dump(emulator) == before


def test_batch_needs_post(api):
    response = api.get("$batch")
    assert response.status_code == 404
    assert response.get_json()["error"]["message"].startswith("No HTTP resource was found that matches")
