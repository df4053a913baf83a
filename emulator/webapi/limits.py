"""Request limits with Dataverse-shaped errors: URL length, body size, $select width; and each request's queries get
the per-query time limit (which the Database enforces). The $filter limits: odata/limits.py."""
from __future__ import annotations

import json

from flask import Flask, request
from werkzeug.serving import WSGIRequestHandler

from .. import server
from ..errors import BadRequest, DataverseError
from ..settings import Settings

BATCH_PART = "emulator.batch_part"  # WSGI environ key set on the requests a $batch runs


class UriTooLong(DataverseError):
    status = 414
    code = ""


class PayloadTooLarge(DataverseError):
    status = 413
    code = ""


def check_request() -> None:
    """Before every request: URL length, declared body size, $select width. Also arms the query time limit."""
    emulator = server.current()
    settings = emulator.settings
    raw = request.environ.get("RAW_URI") or request.full_path
    if request.environ.get(BATCH_PART):  # the documented way around the URL limit: twice as long inside a $batch
        if len(raw) > 2 * settings.max_url_length:
            raise UriTooLong(f"The request URL in the $batch is {len(raw)} characters long; the limit is "
                             f"{2 * settings.max_url_length} (Dataverse allows URLs of up to 64 KB in a $batch).")
    elif len(raw) > settings.max_url_length:
        raise UriTooLong(f"The request URL is {len(raw)} characters long; the limit is {settings.max_url_length} "
                         f"(Dataverse allows URLs of up to 32 KB). Send long queries as a $batch request or "
                         f"shorten the $filter.")
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise PayloadTooLarge(f"The request body is {request.content_length} bytes; the limit is "
                              f"{settings.max_body_bytes} bytes.")
    select = request.args.get("$select")
    if select is not None and select.count(",") + 1 > settings.max_select_columns:
        raise BadRequest(f"The $select query option names {select.count(',') + 1} columns; the limit is "
                         f"{settings.max_select_columns}.", code="0x80060888")
    emulator.db.limit_queries(settings.query_timeout_ms)


def end_request(_exc=None) -> None:
    server.current().db.limit_queries(None)


def install(app: Flask, settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes  # also bounds chunked bodies as they are read
    app.before_request(check_request)
    app.teardown_request(end_request)


class RequestHandler(WSGIRequestHandler):
    """The development server's own errors (a request line over 64 KB, a malformed request line) in the Dataverse
    error shape instead of http.server's HTML page."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        short = self.responses.get(code, ("Error",))[0]
        text = message or short
        if code == 414:
            text = "The request URL is longer than the server accepts (Dataverse allows URLs of up to 32 KB)."
        body = json.dumps({"error": {"code": "", "message": text}}).encode()
        self.log_error("code %d, message %s", code, text)
        self.send_response(code, short)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json; odata.metadata=minimal")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
