"""Authentication of Web API requests. `bearer` (default): any non-empty bearer token is accepted, as real
clients only need a token-shaped header; `none`: no check; `strict`: a signed token from the emulator's own
Entra-shaped token endpoint (tokens.py). Also guards the control plane when the server is off loopback."""
from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from flask import Flask, request

from ..errors import DataverseError, NotAuthenticated
from . import tokens

if TYPE_CHECKING:
    from ..settings import Settings

ADMIN_KEY_HEADER = "X-Emulator-Admin-Key"


def check(mode: str) -> None:
    if mode == "none":
        return
    if mode == "strict":
        tokens.authenticate()
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        org = request.host_url.rstrip("/")
        raise NotAuthenticated(
            "The request is not authenticated: send an 'Authorization: Bearer <token>' header "
            "(the emulator accepts any non-empty token; start it with --auth none to skip the check).",
            headers={"WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline.com/common/"
                                         f"oauth2/authorize, resource_id={org}"})


def control_plane_status(settings: "Settings") -> str:
    """One line for the startup banner; never shows the key itself."""
    if settings.on_loopback:
        return "open (loopback only)"
    if settings.admin_key:
        return f"requires the {ADMIN_KEY_HEADER} header (the server listens beyond loopback)"
    return "disabled (the server listens beyond loopback and no admin key is set: EMULATOR_ADMIN_KEY)"


def install(app: Flask, settings: "Settings") -> None:
    tokens.install(app, settings)
    if settings.on_loopback:
        return

    @app.before_request
    def guard_control_plane():
        if not (request.path == "/_emulator" or request.path.startswith("/_emulator/")):
            return None
        if not settings.admin_key:
            raise DataverseError("The control plane is disabled: the server listens beyond loopback and no admin "
                                 "key is set (EMULATOR_ADMIN_KEY or --admin-key).", code="", status=403)
        given = request.headers.get(ADMIN_KEY_HEADER, "")
        if not hmac.compare_digest(given.encode(), settings.admin_key.encode()):
            raise DataverseError(f"The control plane needs the admin key in the {ADMIN_KEY_HEADER} header.",
                                 code="", status=401 if not given else 403)
        return None
