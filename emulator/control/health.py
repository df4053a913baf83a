"""GET /_emulator/health: ready, version, database, row counts."""
from flask import jsonify

from .. import __version__, server
from ..clock import format_instant
from .plane import blueprint, state


@blueprint.get("/health")
def health():
    emulator = server.current()
    return jsonify({"ready": True, "version": __version__, "database": emulator.db.describe(),
                    "now": format_instant(emulator.clock.now(), "auto"),
                    "scenario": state().scenario, "counts": emulator.db.counts()})
