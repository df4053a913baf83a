"""HTTP responses in Dataverse's form: OData headers, orjson bodies, and every error rendered in one place."""
from __future__ import annotations

import orjson
from flask import Response

from .errors import DataverseError

JSON = "application/json; odata.metadata=minimal"
ODATA_HEADERS = {"OData-Version": "4.0"}


def _default(value):
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError


def json_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return bytes_response(orjson.dumps(body, default=_default), status, headers)


def bytes_response(data: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON body already serialised. Headers are added one by one: Headers.update costs more than the rest."""
    response = Response(data, status=status, content_type=JSON)
    added = response.headers
    for name, value in ODATA_HEADERS.items():
        added.add(name, value)
    if headers:
        for name, value in headers.items():
            added[name] = value
    return response


def text_response(text: str, status: int = 200) -> Response:
    response = Response(text, status=status, content_type="text/plain")
    response.headers.update(ODATA_HEADERS)
    return response


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    response = Response(status=status)
    del response.headers["Content-Type"]  # no body, so no content type (Flask would say text/html)
    response.headers.update(ODATA_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


HINT_HEADER = "x-emulator-hint"  # the emulator's own header: Dataverse's error body stays as Dataverse writes it


def error_response(error: DataverseError) -> Response:
    response = json_response(error.body(), error.status, error.headers)
    if error.hint:
        response.headers[HINT_HEADER] = error.hint
    return response
