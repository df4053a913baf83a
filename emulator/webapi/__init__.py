"""The Dataverse Web API under /api/data/v9.x/: a blueprint that create_app (emulator/app.py) registers beside the
control plane and the pages. Its modules register their handlers in routing's URL table."""
from __future__ import annotations

from flask import Blueprint, Flask, request

from .. import server
from ..errors import DataverseError, ResourceNotFound
from ..settings import API_VERSIONS
from . import (  # noqa: F401  (handlers)
    auth,
    batch,
    discovery,
    entitydefinitions,
    hints,
    limits,
    messages,
    metadata_writes,
    read,
    tokens,
    write,
)
from .routing import dispatch

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]

blueprint = Blueprint("webapi", __name__)


def install(app: Flask) -> None:
    """The app-wide parts of the Web API, before the blueprint: request limits and, in strict auth, the token
    endpoints."""
    emulator = server.current(app)
    limits.install(app, emulator.settings)
    tokens.install(app, emulator.settings)


@blueprint.route("/api/data/<version>/", defaults={"path": ""}, methods=METHODS)
@blueprint.route("/api/data/<version>/<path:path>", methods=METHODS)
def web_api(version: str, path: str):
    if version not in API_VERSIONS:
        raise ResourceNotFound(version)
    auth.check(server.current().settings.auth)
    method = "GET" if request.method == "HEAD" else request.method  # HEAD is GET without the body
    try:
        return dispatch(path, method)
    except DataverseError as error:
        hints.attach(error, path)  # x-emulator-hint on the classic mistakes; the error itself is unchanged
        raise
