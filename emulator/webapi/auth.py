"""Authentication of Web API requests. `bearer` (default): any non-empty bearer token is accepted, as real
clients only need a token-shaped header; `none`: no check; `strict`: a signed token from the emulator's own
Entra-shaped token endpoint (tokens.py)."""
from __future__ import annotations

from flask import request

from ..errors import NotAuthenticated
from . import tokens


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
