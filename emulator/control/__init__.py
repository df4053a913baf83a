"""The emulator's own control plane under /_emulator/: never mixed into the Dataverse routes."""
from flask import Blueprint

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")

from . import health  # noqa: E402,F401  (routes register on the blueprint)
from . import clock  # noqa: E402,F401
