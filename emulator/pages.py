"""The pages: the agent dashboard (GET / and its files under /dashboard/) and the reference getConversations script
(/omnichannel.js, and /omnichannel.mjs as an ES module). No auth for the files themselves; the page's own Web API
calls send a bearer token."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def index() -> Response:
    return send_from_directory(STATIC / "dashboard", "index.html", max_age=0)


@blueprint.get("/dashboard/<path:name>")
def asset(name: str) -> Response:
    return send_from_directory(STATIC / "dashboard", name, max_age=0)


@blueprint.get("/omnichannel.js")
@blueprint.get("/omnichannel.mjs")
def omnichannel_js() -> Response:
    """The reference getConversations for browsers and Node (emulator/static/omnichannel.js), and the same as an
    ES module with named exports (omnichannel.mjs)."""
    script = STATIC / ("omnichannel.mjs" if request.path.endswith(".mjs") else "omnichannel.js")
    return Response(script.read_bytes(), content_type="application/javascript; charset=utf-8")
