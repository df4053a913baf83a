"""Who may call the control plane: anyone while the server listens on loopback only; beyond it, only a caller with
the admin key (and nobody when no key is set)."""
from __future__ import annotations

import hmac

from flask import Flask, request

from ..errors import DataverseError
from ..settings import Settings

ADMIN_KEY_HEADER = "X-Emulator-Admin-Key"


def status(settings: Settings) -> str:
    """One line for the startup banner; never shows the key itself."""
    if settings.on_loopback:
        return "open (loopback only)"
    if settings.admin_key:
        return f"requires the {ADMIN_KEY_HEADER} header (the server listens beyond loopback)"
    return "disabled (the server listens beyond loopback and no admin key is set: EMULATOR_ADMIN_KEY)"


def install(app: Flask, settings: Settings) -> None:
    """Off loopback, a check before every request under /_emulator (also those no route matches)."""
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
