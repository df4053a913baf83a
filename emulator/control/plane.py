"""The control plane's blueprint and the accessor of its state: a leaf module, so the route modules can import it
while control/__init__.py imports them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask, current_app

if TYPE_CHECKING:
    from . import ControlState

EXTENSION = "control"  # the app.extensions key of the control plane's state

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")


def state(app: Flask | None = None) -> ControlState:
    """The control plane's state: of `app`, or of the app serving the current request."""
    return (app or current_app).extensions[EXTENSION]
