"""HTTPS: the self-signed certificate (SANs, reuse, renewal), the Web API served over TLS in-process, and
`dataverse-emulator serve --tls` end to end."""
from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from cryptography import x509
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.tls import ensure_certificate, server_context

from .conftest import API, AUTH, free_port


def test_certificate_has_sans_for_loopback_and_is_reused(tmp_path):
    first = ensure_certificate(tmp_path / "tls")
    assert first.created
    cert = x509.load_pem_x509_certificate(first.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert first.key.stat().st_mode & 0o077 == 0  # the private key is private
    pem = first.cert.read_bytes()
    second = ensure_certificate(tmp_path / "tls")
    assert not second.created and second.cert.read_bytes() == pem


def test_expired_or_broken_certificate_is_replaced(tmp_path):
    old = ensure_certificate(tmp_path, now=datetime(2020, 1, 1, tzinfo=UTC))
    pem = old.cert.read_bytes()
    renewed = ensure_certificate(tmp_path)
    assert renewed.created and renewed.cert.read_bytes() != pem
    renewed.cert.write_text("not a certificate")
    assert ensure_certificate(tmp_path).created


@pytest.fixture(scope="module")
def https_server(seeded, tmp_path_factory):
    certificate = ensure_certificate(tmp_path_factory.mktemp("tls"))
    server = make_server("127.0.0.1", 0, create_app(seeded), threaded=True, ssl_context=server_context(certificate))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, str(certificate.cert)
    server.shutdown()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_web_api_over_https_verified_with_the_certificate(https_server, host):
    port, cert = https_server
    base = f"https://{host}:{port}{API}"
    response = requests.get(f"{base}/msdyn_ocliveworkitems?$select=subject&$top=5", headers={
        **AUTH, "Prefer": "odata.maxpagesize=2"}, verify=cert, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert len(body["value"]) == 2
    # links are built from the request, so they keep the https scheme, host and port
    assert body["@odata.context"].startswith(f"{base}/$metadata#")
    assert body["@odata.nextLink"].startswith(f"{base}/msdyn_ocliveworkitems?")
    assert requests.get(body["@odata.nextLink"], headers={**AUTH, "Prefer": "odata.maxpagesize=2"}, verify=cert,
                        timeout=10).status_code == 200


def test_https_is_refused_without_trusting_the_certificate(https_server):
    port, _ = https_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{port}{API}/WhoAmI", headers=AUTH, timeout=10)


def test_serve_tls_command_creates_the_certificate_and_serves_https(tmp_path):
    port = free_port()
    env = {**os.environ, "EMULATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'emulator.db'}",
           "EMULATOR_NOW": "2026-01-15T12:00:00Z"}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "serve", "--tls", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in process.stderr:  # startup messages, up to the banner's line with the API root
            lines.append(line)
            if "Web API:" in line:
                break
        output = "".join(lines)
        cert = tmp_path / ".emulator" / "tls" / "cert.pem"
        assert f"REQUESTS_CA_BUNDLE={cert}" in output and f"NODE_EXTRA_CA_CERTS={cert}" in output, output
        assert f"https://127.0.0.1:{port}/api/data/v9.2/" in output
        response = None
        for _ in range(100):  # the socket opens just after the announcement
            try:
                response = requests.get(f"https://127.0.0.1:{port}{API}/WhoAmI", headers=AUTH, verify=str(cert),
                                        timeout=10)
                break
            except requests.exceptions.ConnectionError:
                time.sleep(0.1)
        assert response is not None and response.status_code == 200
        assert response.json()["UserId"]
    finally:
        process.terminate()
        process.wait(timeout=10)
