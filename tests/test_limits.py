"""Request limits answer with clear Dataverse-shaped errors: URL length (32 KB), body size, $filter nesting depth
and number of conditions, $select width, and a per-query time limit that stops a runaway query."""
from __future__ import annotations

import socket

import pytest
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.webapi import limits

from .conftest import API, Client, make_emulator

CONVERSATIONS = "msdyn_ocliveworkitems"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emulator = make_emulator(tmp_path_factory.mktemp("limits") / "limits.db", conversations=300)
    yield emulator
    emulator.db.dispose()


@pytest.fixture(scope="module")
def api(emulator) -> Client:
    return Client(create_app(emulator))


def error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and isinstance(body["error"]["code"], str)
    return body["error"]["message"]


def padded_url(length: int) -> str:
    """A valid query whose URL (path and query) is exactly `length` characters: options without `$` are ignored."""
    base = f"{API}/{CONVERSATIONS}?$select=subject&$top=1&pad="
    return base + "x" * (length - len(base))


def test_url_of_32_kb_is_served_and_one_more_character_is_414(api):
    assert api.get(padded_url(32768)).status_code == 200
    message = error(api.get(padded_url(32769)), 414)
    assert "32769" in message and "32768" in message


def test_request_line_beyond_the_development_servers_buffer_is_414_json(emulator):
    """Over 64 KB the HTTP server itself refuses the request line, still in the Dataverse error shape."""
    server = make_server("127.0.0.1", 0, create_app(emulator), request_handler=limits.RequestHandler)
    try:
        import threading

        threading.Thread(target=server.handle_request, daemon=True).start()
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
            sock.sendall(f"GET {API}/{CONVERSATIONS}?pad={'x' * 70000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    finally:
        server.server_close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414") or head.startswith(b"HTTP/1.0 414")
    assert b"application/json" in head
    assert b'"error"' in body and b"32 KB" in body


def test_body_over_the_maximum_is_413(tmp_path):
    emulator = make_emulator(tmp_path / "body.db", conversations=0)
    emulator.settings.max_body_bytes = 1000
    api = Client(create_app(emulator))
    message = error(api.request("POST", CONVERSATIONS, data=b'{"subject": "' + b"x" * 2000 + b'"}',
                                headers={"Content-Type": "application/json"}), 413)
    assert "1000" in message
    emulator.db.dispose()


def test_filter_nesting_depth(api, emulator):
    limit = emulator.settings.max_filter_depth
    # `not` k times over a comparison: k levels, the comparison, its operands
    assert api.get(f"{CONVERSATIONS}?$select=subject&$filter={'not ' * (limit - 2)}(statecode eq 0)"
                   ).status_code == 200
    message = error(api.get(f"{CONVERSATIONS}?$filter={'not ' * (limit - 1)}(statecode eq 0)"), 400)
    assert "recursion limit" in message and str(limit) in message
    error(api.get(f"{CONVERSATIONS}?$filter={'-' * 500}1 eq statecode"), 400)


def test_long_chains_count_conditions_not_depth(api, emulator):
    limit = emulator.settings.max_filter_conditions
    chain = " or ".join(["statecode eq 0"] * limit)
    assert api.get(f"{CONVERSATIONS}?$select=subject&$filter={chain}").status_code == 200
    message = error(api.get(f"{CONVERSATIONS}?$filter={chain} or statecode eq 1"), 400)
    assert f"{limit + 1} conditions" in message and " in " in message


def test_select_columns(api, emulator):
    limit = emulator.settings.max_select_columns
    assert api.get(f"{CONVERSATIONS}?$top=1&$select={','.join(['subject'] * limit)}").status_code == 200
    message = error(api.get(f"{CONVERSATIONS}?$select={','.join(['subject'] * (limit + 1))}"), 400)
    assert str(limit) in message


def test_runaway_query_is_stopped_and_the_server_keeps_serving(tmp_path):
    emulator = make_emulator(tmp_path / "slow.db", conversations=500)
    emulator.settings.query_timeout_ms = 50
    api = Client(create_app(emulator))
    # 120 correlated subqueries per row, each a LIKE scan: seconds of work without the limit
    runaway = " or ".join(f"contains(msdyn_activeagentid_msdyn_ocliveworkitem/fullname,'zz{i}')" for i in range(120))
    message = error(api.get(f"{CONVERSATIONS}?$select=subject&$filter={runaway}"), 400)
    assert "50 ms" in message and "stopped" in message
    assert len(api.values(f"{CONVERSATIONS}?$select=subject&$top=3")) == 3  # the next query runs normally
    emulator.db.dispose()


def test_limits_apply_only_within_requests(tmp_path):
    """Seeding and other work outside a request has no deadline (a large seed may take minutes)."""
    emulator = make_emulator(tmp_path / "seed.db", conversations=0)
    emulator.settings.query_timeout_ms = 1
    create_app(emulator)
    from emulator.store.seed import seed

    result = seed(emulator.db, conversations=300, agents=4, seed=1, reset=True)
    assert result.conversations == 300
    emulator.db.dispose()
