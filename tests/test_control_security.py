"""The control plane stays off the network by default: beyond loopback, /_emulator/ needs the admin key or is
disabled, and startup says which. Secrets and tokens never reach the logs (checked on a real server process)."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from emulator.app import create_app
from emulator.settings import DEFAULT_TENANT

from .conftest import API, AUTH, free_port, make_emulator

ADMIN_KEY = "adm1n-key-Zq81"
SECRET = "client-secret-Xv93~never-logged"
CLIENT_ID = "22222222-aaaa-4bbb-8ccc-000000000001"


def app_for(tmp_path, host: str, admin_key: str | None = None):
    emulator = make_emulator(tmp_path / "control.db", conversations=5)
    emulator.settings.host, emulator.settings.admin_key = host, admin_key
    return create_app(emulator).test_client()


def test_loopback_control_plane_is_open(tmp_path):
    assert app_for(tmp_path, "127.0.0.1").get("/_emulator/health").status_code == 200


def test_beyond_loopback_without_a_key_the_control_plane_is_disabled(tmp_path):
    client = app_for(tmp_path, "0.0.0.0")
    response = client.get("/_emulator/health")
    assert response.status_code == 403
    assert "disabled" in response.get_json()["error"]["message"]
    assert client.get(f"{API}/msdyn_ocliveworkitems?$top=1", headers=AUTH).status_code == 200  # the API is not


@pytest.mark.parametrize("header, status", [(None, 401), ("wrong", 403), (ADMIN_KEY, 200)])
def test_beyond_loopback_the_admin_key_is_required(tmp_path, header, status):
    client = app_for(tmp_path, "0.0.0.0", ADMIN_KEY)
    headers = {"X-Emulator-Admin-Key": header} if header else {}
    response = client.get("/_emulator/health", headers=headers)
    assert response.status_code == status
    if status != 200:
        body = response.get_json()
        assert isinstance(body["error"]["code"], str) and ADMIN_KEY not in response.get_data(as_text=True)


def test_server_process_says_how_the_control_plane_is_guarded_and_logs_no_secret(tmp_path):
    port = free_port()
    env = {**os.environ, "EMULATOR_ADMIN_KEY": ADMIN_KEY, "EMULATOR_AUTH": "strict",
           "EMULATOR_AUTH_CLIENTS": json.dumps([{"client_id": CLIENT_ID, "client_secret": SECRET}]),
           "EMULATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'proc.db'}", "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "serve", "--host", "0.0.0.0",
                                    "--port", str(port), "--now", "2026-01-15T12:00:00Z"],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/_emulator/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        token_url = f"{url}/{DEFAULT_TENANT}/oauth2/v2.0/token"
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "scope": f"{url}/.default"}
        token = requests.post(token_url, data={**form, "client_secret": SECRET}, timeout=10).json()["access_token"]
        assert requests.post(token_url, data={**form, "client_secret": SECRET + "x"}, timeout=10).status_code == 401
        ok = requests.get(f"{url}{API}/msdyn_ocliveworkitems?$top=1",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert ok.status_code == 200
        assert requests.get(f"{url}{API}/msdyn_ocliveworkitems", timeout=10,
                            headers={"Authorization": f"Bearer {token[:-4]}abcd"}).status_code == 401
        assert requests.get(f"{url}/_emulator/health", timeout=10).status_code == 401
        assert requests.get(f"{url}/_emulator/health", headers={"X-Emulator-Admin-Key": ADMIN_KEY},
                            timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = log_path.read_text()
    assert "Control plane /_emulator/: requires the X-Emulator-Admin-Key header" in output
    assert "Token endpoint:" in output and "GET /api/data/v9.2/msdyn_ocliveworkitems" in output  # logs exist
    for secret in (SECRET, ADMIN_KEY, token, token.split(".")[2]):
        assert secret not in output


def test_in_process_logs_carry_no_secret(tmp_path, caplog):
    emulator = make_emulator(tmp_path / "logs.db", conversations=5, auth="strict")
    emulator.settings.auth_clients = json.dumps([{"client_id": CLIENT_ID, "client_secret": SECRET}])
    client = create_app(emulator).test_client()
    caplog.set_level(logging.DEBUG)
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "scope": "http://localhost/.default"}
    response = client.post(f"/{DEFAULT_TENANT}/oauth2/v2.0/token", data={**form, "client_secret": SECRET})
    token = response.get_json()["access_token"]
    client.post(f"/{DEFAULT_TENANT}/oauth2/v2.0/token", data={**form, "client_secret": "bad" + SECRET})
    for auth in (token, token + "x", "garbage"):
        client.get(f"{API}/msdyn_ocliveworkitems?$top=1", headers={"Authorization": f"Bearer {auth}"})
    client.get(f"{API}/msdyn_ocliveworkitems?$filter=" + "x eq " * 3)  # an error path that logs
    text = caplog.text + repr(emulator.settings) + repr(list(create_app(emulator).extensions["tokens"].clients.values()))
    assert SECRET not in text and token not in text
