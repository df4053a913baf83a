"""`--auth strict`: msal's confidential client gets a token from the emulator's Entra-shaped endpoint over HTTPS
and uses it; every kind of bad token is a 401 in the Dataverse error shape with a WWW-Authenticate header."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading
import time
import uuid

import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from emulator.app import create_app
from emulator.settings import DEFAULT_TENANT

from .conftest import API, make_emulator

AGENT = "2b330c52-6844-4d36-8e05-03c78c9681dc"
CLIENTS = [{"client_id": "11111111-aaaa-4bbb-8ccc-000000000001", "client_secret": "s3cret-one~value",
            "systemuserid": AGENT},
           {"client_id": "11111111-aaaa-4bbb-8ccc-000000000002", "client_secret": "s3cret-two~value"}]


def self_signed(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class Org:
    """A strict-auth emulator served over HTTPS on a free port."""

    def __init__(self, tmp_path) -> None:
        self.emulator = make_emulator(tmp_path / "strict.db", conversations=20, auth="strict")
        self.emulator.settings.auth_clients = json.dumps(CLIENTS)  # as EMULATOR_AUTH_CLIENTS would
        self.app = create_app(self.emulator)
        self.tokens = self.app.extensions["tokens"]
        self.cert, key = self_signed(tmp_path)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, ssl_context=(self.cert, key))
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def get(self, path: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return requests.get(f"{self.url}{API}/{path}", headers=headers, verify=self.cert, timeout=10, **kwargs)

    def msal_token(self, client: dict, scope: str | None = None) -> dict:
        # requests lets REQUESTS_CA_BUNDLE override a session's own `verify`; trust_env=False keeps the test's CA
        session = requests.Session()
        session.verify, session.trust_env = self.cert, False
        app = msal.ConfidentialClientApplication(
            client["client_id"], client_credential=client["client_secret"], authority=f"{self.url}/{DEFAULT_TENANT}",
            validate_authority=False, instance_discovery=False, http_client=session)
        return app.acquire_token_for_client(scopes=[scope or f"{self.url}/.default"])

    def sign(self, key=None, kid=None, **overrides) -> str:
        now = int(time.time())
        claims = {"aud": self.url, "iss": f"{self.url}/{DEFAULT_TENANT}/v2.0", "iat": now, "nbf": now,
                  "exp": now + 600, "appid": CLIENTS[0]["client_id"], "tid": DEFAULT_TENANT}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.tokens.key, algorithm="RS256",
                          headers={"kid": kid or self.tokens.kid})


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    org = Org(tmp_path_factory.mktemp("strict"))
    yield org
    org.server.shutdown()
    org.emulator.db.dispose()


def assert_unauthenticated(response, *, mentions: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"]["code"], str)
    assert mentions in body["error"]["message"], body["error"]["message"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=") and f"/{DEFAULT_TENANT}/oauth2/authorize" in challenge


def test_msal_confidential_client_gets_a_token_and_reads_with_it(org):
    result = org.msal_token(CLIENTS[0])
    assert "access_token" in result, result
    assert result["token_type"].lower() == "bearer" and result["expires_in"] > 0
    response = org.get("msdyn_ocliveworkitems?$select=subject&$top=2", result["access_token"])
    assert response.status_code == 200, response.text
    assert len(response.json()["value"]) == 2
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == org.url and claims["iss"] == f"{org.url}/{DEFAULT_TENANT}/v2.0"
    assert claims["oid"] == AGENT  # the client's systemuser


def test_token_is_verifiable_with_the_published_keys(org):
    config = requests.get(f"{org.url}/{DEFAULT_TENANT}/v2.0/.well-known/openid-configuration", verify=org.cert,
                          timeout=10).json()
    assert config["token_endpoint"] == f"{org.url}/{DEFAULT_TENANT}/oauth2/v2.0/token"
    assert config["issuer"] == f"{org.url}/{DEFAULT_TENANT}/v2.0"
    jwks = requests.get(config["jwks_uri"], verify=org.cert, timeout=10).json()
    token = org.msal_token(CLIENTS[1])["access_token"]
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=org.url, issuer=config["issuer"])
    assert claims["appid"] == CLIENTS[1]["client_id"]


def test_missing_token(org):
    response = org.get("msdyn_ocliveworkitems")
    assert_unauthenticated(response, mentions="not authenticated")
    assert "error=" not in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer abc"])
def test_malformed_authorization(org, header):
    response = requests.get(f"{org.url}{API}/msdyn_ocliveworkitems", headers={"Authorization": header},
                            verify=org.cert, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_token_signed_by_another_key(org):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", org.sign(key=stranger)), mentions="signature")


def test_token_with_an_unknown_key_id(org):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", org.sign(key=stranger, kid="other")),
                           mentions="not signed by this emulator")


def test_unsigned_or_symmetric_tokens_are_refused(org):
    claims = jwt.decode(org.sign(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", unsigned), mentions="not signed by this emulator")
    public_pem = org.tokens.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    hs = jwt.encode(claims, public_pem.decode()[:32], algorithm="HS256", headers={"kid": org.tokens.kid})
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", hs), mentions="not signed by this emulator")


def test_expired_token(org):
    past = int(time.time()) - 7200
    response = org.get("msdyn_ocliveworkitems", org.sign(iat=past, nbf=past, exp=past + 600))
    assert_unauthenticated(response, mentions="expired")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_for_another_audience(org):
    result = org.msal_token(CLIENTS[0], scope="https://contoso.crm.dynamics.com/.default")
    assert "access_token" in result, result
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", result["access_token"]), mentions="audience")


def test_token_from_another_issuer(org):
    token = org.sign(iss=f"https://login.microsoftonline.com/{uuid.uuid4()}/v2.0")
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", token), mentions="issuer")


def test_token_without_expiry(org):
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", org.sign(exp=None)), mentions="not valid")


def test_token_of_a_client_no_longer_configured(org):
    token = org.sign(appid="99999999-0000-4000-8000-000000000000")
    assert_unauthenticated(org.get("msdyn_ocliveworkitems", token), mentions="no longer configured")


@pytest.mark.parametrize("form, status, error", [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "nobody"}, 400, "unauthorized_client"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"scope": "openid"}, 400, "invalid_scope"),
])
def test_token_endpoint_refusals_in_entra_shape(org, form, status, error):
    data = {"grant_type": "client_credentials", "client_id": CLIENTS[0]["client_id"],
            "client_secret": CLIENTS[0]["client_secret"], "scope": f"{org.url}/.default", **form}
    response = requests.post(f"{org.url}/{DEFAULT_TENANT}/oauth2/v2.0/token", data=data, verify=org.cert,
                             timeout=10)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_description"].startswith("AADSTS")
    assert "access_token" not in body


def test_unknown_tenant(org):
    response = requests.get(f"{org.url}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration", verify=org.cert,
                            timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_msal_reports_a_wrong_secret(org):
    result = org.msal_token({**CLIENTS[0], "client_secret": "guess"})
    assert result.get("error") == "invalid_client" and "access_token" not in result


def test_each_client_acts_as_its_systemuser(org):
    from emulator.store.seed import ADMIN_USER_ID

    for client, user in ((CLIENTS[0], AGENT), (CLIENTS[1], ADMIN_USER_ID), (CLIENTS[0], AGENT)):
        token = org.msal_token(client)["access_token"]
        who = org.get("WhoAmI", token)
        assert who.status_code == 200, who.text
        assert who.json()["UserId"] == user
    token = org.msal_token(CLIENTS[0])["access_token"]
    created = requests.post(f"{org.url}{API}/msdyn_ocliveworkitems?$select=_createdby_value,_ownerid_value",
                            json={"subject": "made by the agent's app"}, verify=org.cert, timeout=10,
                            headers={"Authorization": f"Bearer {token}", "Prefer": "return=representation"})
    assert created.status_code == 201, created.text
    assert created.json()["_createdby_value"] == AGENT
