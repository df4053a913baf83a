"""Request limits with Dataverse-shaped errors: URL length, body size, $select width and a per-query time limit
(SQLite's progress handler aborts a statement that runs past its deadline). The $filter limits: odata/limits.py."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import Flask, current_app, request
from werkzeug.serving import WSGIRequestHandler

from ..errors import BadRequest, DataverseError
from ..settings import Settings

if TYPE_CHECKING:
    from ..store.database import Database

BATCH_PART = "emulator.batch_part"  # WSGI environ key set on the requests a $batch runs
PROGRESS_STEPS = 1000  # SQLite VM instructions between deadline checks: cheap, and fine-grained enough


class UriTooLong(DataverseError):
    status = 414
    code = ""


class PayloadTooLarge(DataverseError):
    status = 413
    code = ""


class QueryTimeout(DataverseError):
    status = 400
    code = ""


_state = threading.local()  # per request thread: whether a deadline applies, and the current statement's


def _settings() -> Settings:
    return current_app.extensions["emulator"].settings


def check_request() -> None:
    """Before every request: URL length, declared body size, $select width. Also arms the query time limit."""
    settings = _settings()
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
    _state.timeout = settings.query_timeout_ms / 1000 if settings.query_timeout_ms else None


def end_request(_exc=None) -> None:
    _state.timeout = None
    _state.deadline = None


# -- the per-query time limit ----------------------------------------------------------------------------------
def _progress() -> int:
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        _state.expired = True
        return 1  # non-zero: SQLite aborts the statement with "interrupted"
    return 0


def _arm(conn, cursor, statement, parameters, context, executemany) -> None:
    timeout = getattr(_state, "timeout", None)
    _state.deadline = time.monotonic() + timeout if timeout is not None else None
    _state.expired = False


def _checkout(dbapi_connection, record, proxy) -> None:
    dbapi_connection.set_progress_handler(_progress, PROGRESS_STEPS)


def _translate(context) -> None:
    if isinstance(context.original_exception, sqlite3.OperationalError) and getattr(_state, "expired", False):
        _state.expired = False
        timeout_ms = round(_state.timeout * 1000) if getattr(_state, "timeout", None) else 0
        raise QueryTimeout(f"The query ran longer than the emulator's limit of {timeout_ms} ms and was stopped. "
                           f"Narrow the $filter, lower $top, or raise the limit with --query-timeout-ms.")


def install_query_timeout(db: "Database") -> None:
    if not db.is_sqlite or getattr(db, "_query_timeout_installed", False):
        return
    sa.event.listen(db.engine, "checkout", _checkout)
    sa.event.listen(db.engine, "before_cursor_execute", _arm)
    sa.event.listen(db.engine, "handle_error", _translate)
    db._query_timeout_installed = True


def install(app: Flask, db: "Database", settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes  # also bounds chunked bodies as they are read
    app.before_request(check_request)
    app.teardown_request(end_request)
    install_query_timeout(db)


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
