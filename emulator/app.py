"""The app factory: one Flask app with the Web API, the control plane and the pages as blueprints side by side, and
every error rendered in Dataverse's shape in one place."""
from __future__ import annotations

import logging
from typing import cast

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from . import control, metadata, pages, server, webapi
from .errors import DataverseError, ResourceNotFound
from .responses import error_response

log = logging.getLogger("emulator")


def create_app(emulator: server.Emulator) -> Flask:
    """The WSGI app serving `emulator` (made by server.prepare). The control plane saves its reset baseline here
    when the settings ask for one."""
    app = Flask("emulator", static_folder=None)
    app.extensions[server.EXTENSION] = emulator
    cast(DefaultJSONProvider, app.json).sort_keys = False
    app.url_map.merge_slashes = app.url_map.strict_slashes = False  # no HTML redirect pages: Dataverse has none
    _render_errors(app)
    _serve_catalog(app, emulator)
    webapi.install(app)  # request limits run before the control plane's guard and hooks
    control.install(app)
    for blueprint in (webapi.blueprint, control.blueprint, pages.blueprint):
        app.register_blueprint(blueprint)
    return app


def _serve_catalog(app: Flask, emulator: server.Emulator) -> None:
    """Each request sees the catalog its database holds when the request starts (metadata.current())."""
    @app.before_request
    def activate() -> None:
        emulator.db.refresh_catalog()  # another process's schema change (store/ddl.py: one indexed read)
        g.catalog_token = metadata.catalog.activate(emulator.db.catalog)

    @app.teardown_request
    def deactivate(_error: BaseException | None) -> None:
        if (token := g.pop("catalog_token", None)) is not None:
            metadata.catalog.deactivate(token)


def _render_errors(app: Flask) -> None:
    @app.errorhandler(DataverseError)
    def dataverse_error(error: DataverseError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code == 404:
            segment = request.path.strip("/").split("/")[0] or "/"
            return error_response(ResourceNotFound(segment))
        return error_response(DataverseError(error.description or error.name, code="0x80040216",
                                             status=error.code or 400))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(DataverseError(f"An unexpected error occurred in the emulator "
                                             f"({type(error).__name__}). This is a bug: please report it.",
                                             code="0x80040216", status=500))
