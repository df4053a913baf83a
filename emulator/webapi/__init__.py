"""The Flask app: the Dataverse Web API under /api/data/v9.x/, the control plane under /_emulator/."""
from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .. import server
from ..errors import DataverseError, ResourceNotFound
from ..settings import API_VERSIONS
from . import auth, limits, read  # noqa: F401  (modules register their handlers)
from . import batch, discovery, entitydefinitions, write  # noqa: F401
from .responses import error_response
from .routing import dispatch

log = logging.getLogger("emulator")
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def create_app(emulator: server.Emulator) -> Flask:
    app = Flask("emulator", static_folder=None)
    app.extensions["emulator"] = emulator
    app.json.sort_keys = False
    app.url_map.merge_slashes = app.url_map.strict_slashes = False  # no HTML redirect pages: Dataverse has none
    limits.install(app, emulator.settings)
    auth.install(app, emulator.settings)

    @app.route("/api/data/<version>/", defaults={"path": ""}, methods=METHODS)
    @app.route("/api/data/<version>/<path:path>", methods=METHODS)
    def web_api(version: str, path: str):
        if version not in API_VERSIONS:
            raise ResourceNotFound(version)
        auth.check(emulator.settings.auth)
        method = "GET" if request.method == "HEAD" else request.method  # HEAD is GET without the body
        return dispatch(path, method)

    @app.errorhandler(DataverseError)
    def dataverse_error(error: DataverseError):
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 404:
            segment = request.path.strip("/").split("/")[0] or "/"
            return error_response(ResourceNotFound(segment))
        return error_response(DataverseError(error.description or error.name, code="0x80040216",
                                             status=error.code or 400))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(DataverseError(f"An unexpected error occurred in the emulator "
                                             f"({type(error).__name__}). This is a bug: please report it.",
                                             code="0x80040216", status=500))

    from ..control import blueprint as control

    app.register_blueprint(control)
    from .dashboard import blueprint as dashboard

    app.register_blueprint(dashboard)

    @app.get("/omnichannel.js")
    def omnichannel_js():
        """The reference getConversations for browsers and Node (emulator/static/omnichannel.js); no auth."""
        from pathlib import Path

        script = Path(__file__).resolve().parent.parent / "static" / "omnichannel.js"
        return Response(script.read_bytes(), content_type="application/javascript; charset=utf-8")

    return app
