"""Real token auth (`--auth strict`): a token endpoint shaped like Microsoft Entra's (client credentials), its
OpenID discovery document and signing keys, and the check of every Web API request's RS256 JWT: signature,
expiry, audience (the org URL) and issuer. Each configured client maps to a systemuser. Secrets and tokens are
never logged."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Flask, current_app, g, request
from jwt.algorithms import RSAAlgorithm

from ..clock import format_instant
from ..errors import NotAuthenticated
from ..responses import json_response
from ..settings import Settings
from ..store.seed import ADMIN_USER_ID

ALGORITHM = "RS256"
LEEWAY = 30  # seconds of clock skew tolerated on exp/nbf, as token libraries commonly do


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str = field(repr=False)  # never in a repr, hence never in a log line
    systemuserid: str = ADMIN_USER_ID


def load_clients(source: str | None) -> dict[str, Client]:
    """EMULATOR_AUTH_CLIENTS: JSON text or a JSON file path holding a list (or {"clients": [...]}) of
    {"client_id", "client_secret", "systemuserid"?}."""
    if not source:
        raise ValueError("--auth strict needs clients: set EMULATOR_AUTH_CLIENTS to JSON or a JSON file path, "
                         'e.g. [{"client_id": "...", "client_secret": "...", "systemuserid": "..."}]')
    text = source if source.lstrip()[:1] in ("[", "{") else Path(source).read_text()
    data = json.loads(text)
    items = data.get("clients", []) if isinstance(data, dict) else data
    clients = {}
    for item in items:
        if not item.get("client_id") or not item.get("client_secret"):
            raise ValueError("every client needs client_id and client_secret")
        user = str(uuid.UUID(item.get("systemuserid") or ADMIN_USER_ID))
        clients[item["client_id"]] = Client(item["client_id"], item["client_secret"], user)
    if not clients:
        raise ValueError("EMULATOR_AUTH_CLIENTS names no clients")
    return clients


class TokenService:
    """One signing key per server process (tokens do not outlive a restart), the clients, and the tenant."""

    def __init__(self, settings: Settings) -> None:
        self.tenant = settings.tenant_id
        self.lifetime = settings.token_lifetime
        self.clients = load_clients(settings.auth_clients)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.key.public_key()
        self.kid = hashlib.sha256(f"{self.public_key.public_numbers().n}".encode()).hexdigest()[:32]
        public = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        # the members Entra publishes for a signing key (pyjwt's key_ops is not among them)
        self.jwk = {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": self.kid, "n": public["n"],
                    "e": public["e"]}

    # -- URLs, from the request so they work whatever host name the client used -----------------------------------
    @staticmethod
    def base() -> str:
        return request.host_url.rstrip("/")

    def issuer(self) -> str:
        return f"{self.base()}/{self.tenant}/v2.0"

    def issue(self, client: Client, audience: str) -> str:
        now = int(time.time())
        claims = {"aud": audience, "iss": self.issuer(), "iat": now, "nbf": now, "exp": now + self.lifetime,
                  "appid": client.client_id, "azp": client.client_id, "oid": client.systemuserid,
                  "sub": client.systemuserid, "tid": self.tenant, "ver": "2.0", "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> Client:
        """The client a valid token was issued to; NotAuthenticated naming what is wrong otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthenticated("The access token is malformed: it is not a signed JWT.") from None
        if header.get("alg") != ALGORITHM or header.get("kid") != self.kid:
            raise unauthenticated("The access token was not signed by this emulator's key "
                                  f"(alg {header.get('alg')!s:.20}, kid {header.get('kid')!s:.40}).")
        audiences = [self.base(), self.base() + "/"]
        try:
            claims = jwt.decode(token, self.public_key, algorithms=[ALGORITHM], audience=audiences,
                                issuer=self.issuer(), leeway=LEEWAY,
                                options={"require": ["exp", "iat", "aud", "iss"]})
        except jwt.ExpiredSignatureError:
            raise unauthenticated("The access token has expired. Get a new token and try again.",
                                  "invalid_token", "The token expired") from None
        except jwt.InvalidAudienceError:
            raise unauthenticated(f"The access token's audience is not this organization: request it with "
                                  f"scope '{self.base()}/.default'.") from None
        except jwt.InvalidIssuerError:
            raise unauthenticated(f"The access token was not issued by this organization's tenant; its issuer "
                                  f"must be '{self.issuer()}'.") from None
        except jwt.InvalidSignatureError:
            raise unauthenticated("The access token's signature is not valid.") from None
        except jwt.PyJWTError as e:
            raise unauthenticated(f"The access token is not valid: {type(e).__name__}.") from None
        client = self.clients.get(str(claims.get("appid") or claims.get("azp")))
        if client is None:
            raise unauthenticated("The access token was issued to a client that is no longer configured.")
        return client


def unauthenticated(message: str, error: str = "invalid_token", description: str | None = None
                    ) -> NotAuthenticated:
    service: TokenService | None = current_app.extensions.get("tokens")
    base = request.host_url.rstrip("/")
    tenant = service.tenant if service else "common"
    challenge = f"Bearer authorization_uri={base}/{tenant}/oauth2/authorize, resource_id={base}"
    if error and request.headers.get("Authorization"):
        challenge += f', error="{error}"' + (f', error_description="{description}"' if description else "")
    return NotAuthenticated(message, headers={"WWW-Authenticate": challenge})


def authenticate() -> None:
    """Strict mode's check of one Web API request: sets the request's caller (server.request_caller)."""
    service: TokenService = current_app.extensions["tokens"]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("The request is not authenticated: send 'Authorization: Bearer <token>' with a token "
                              f"from {request.host_url}{service.tenant}/oauth2/v2.0/token (client credentials).",
                              error="")
    g.caller_id = service.verify(token.strip()).systemuserid


# -- the Entra-shaped endpoints ----------------------------------------------------------------------------------
blueprint = Blueprint("tokens", __name__)


def _oauth_error(status: int, error: str, code: int, description: str):
    """Errors of the token endpoint take Entra's OAuth shape (the client there is an OAuth library)."""
    body = {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code],
            "timestamp": format_instant(datetime.now(UTC), sep=" "), "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4())}
    response = json_response(body, status)
    response.headers.pop("OData-Version", None)
    return response


def _service(tenant: str) -> TokenService | None:
    service: TokenService = current_app.extensions["tokens"]
    return service if tenant.lower() == service.tenant.lower() else None


def _unknown_tenant(tenant: str):
    return _oauth_error(400, "invalid_request", 90002, f"Tenant '{tenant[:64]}' not found. Use the emulator's "
                                                       f"tenant id.")


@blueprint.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str):
    service = _service(tenant)
    if service is None:
        return _unknown_tenant(tenant)
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if request.authorization and request.authorization.type == "basic":  # client_secret_basic
        client_id = request.authorization.username or client_id
        secret = request.authorization.password or secret
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type: "
                            "the emulator issues tokens for client credentials only.")
    client = service.clients.get(client_id)
    if client is None:
        return _oauth_error(400, "unauthorized_client", 700016, "Application with identifier was not found in "
                            "the directory.")
    if not hmac.compare_digest(client.secret.encode(), secret.encode()):
        return _oauth_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    scopes = form.get("scope", "").split()
    resource = next((s[: -len("/.default")] for s in scopes if s.endswith("/.default")), None)
    if resource is None:
        return _oauth_error(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client "
                            "credential flows must have a scope value with /.default suffixed to the resource "
                            "identifier (application ID URI).")
    access_token = service.issue(client, resource.rstrip("/"))
    response = json_response({"token_type": "Bearer", "expires_in": service.lifetime,
                              "ext_expires_in": service.lifetime, "access_token": access_token})
    response.headers.pop("OData-Version", None)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str):
    service = _service(tenant)
    if service is None:
        return _unknown_tenant(tenant)
    base, t = service.base(), service.tenant
    return json_response({
        "token_endpoint": f"{base}/{t}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": f"{base}/{t}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": service.issuer(),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{base}/{t}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{t}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/{t}/oauth2/v2.0/logout",
        "grant_types_supported": ["client_credentials"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "emulator",
    })


@blueprint.get("/<tenant>/discovery/v2.0/keys")
def keys(tenant: str):
    service = _service(tenant)
    if service is None:
        return _unknown_tenant(tenant)
    return json_response({"keys": [service.jwk]})


def install(app: Flask, settings: Settings) -> None:
    """Strict mode only: the token service and its endpoints (other modes serve no token endpoint)."""
    if settings.auth != "strict":
        return
    app.extensions["tokens"] = TokenService(settings)
    app.register_blueprint(blueprint)
