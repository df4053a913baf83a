"""The request journal: every Web API request with its outcome, bounded in memory.
GET /_emulator/requests (filter by method, path, status, correlation_id, caller) and DELETE to clear it."""
from __future__ import annotations

import fnmatch
import hashlib
import itertools
import threading
from collections import deque

import jwt
from flask import jsonify, request

from ..errors import BadRequest
from ..lru import LRU
from .plane import blueprint, state, takes

DEFAULT_SIZE = 1000
JWT_CLAIMS = ("upn", "preferred_username", "unique_name", "email", "appid", "azp", "oid", "sub")
_TOKEN_CALLERS: LRU[str] = LRU(256)  # clients resend one token on every request: decode it once


def caller() -> str:
    """Who sent the request: a JWT's user or app claim, else a short hash of the bearer token, else the user
    agent. Two requests with the same token are the same caller (and the same user for service protection)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        name = _TOKEN_CALLERS.get(token)
        if name is None:
            name = _token_caller(token)
            _TOKEN_CALLERS.put(token, name)
        return name
    return "agent:" + (request.headers.get("User-Agent") or "unknown")


def _token_caller(token: str) -> str:
    """The caller a bearer token names: a JWT claim, else a short hash of the token."""
    # Naming the caller needs the claims only: the signature goes unread here, so it need not even be base64.
    unsigned = token.rpartition(".")[0] + "."
    try:
        claims = jwt.decode(unsigned, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    for claim in JWT_CLAIMS:
        if claims.get(claim):
            return f"{claim}:{claims[claim]}"
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def select(entries: list[dict], method: str | None = None, path: str | None = None, status: int | None = None,
           correlation_id: str | None = None, caller_name: str | None = None) -> list[dict]:
    """The entries the journal's filters keep."""
    if method:
        entries = [e for e in entries if e["method"] == method.upper()]
    if path:
        pattern = path if any(c in path for c in "*?[") else f"*{path}*"
        entries = [e for e in entries if fnmatch.fnmatchcase(e["path"], pattern)]
    if status is not None:
        entries = [e for e in entries if e["status"] == status]
    if correlation_id:
        entries = [e for e in entries if e["correlation_id"] == correlation_id]
    if caller_name:
        entries = [e for e in entries if e["caller"] == caller_name]
    return entries


class Journal:
    """The last `size` requests, oldest first, in this process's memory."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[dict] = deque(maxlen=size)
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def record(self, entry: dict) -> None:
        with self.lock:
            self._entries.append({"id": next(self.ids), **entry})

    def clear(self) -> None:
        with self.lock:
            self._entries.clear()

    def entries(self) -> list[dict]:
        with self.lock:
            return list(self._entries)

    def query(self, method: str | None = None, path: str | None = None, status: int | None = None,
              correlation_id: str | None = None, caller_name: str | None = None) -> list[dict]:
        return select(self.entries(), method, path, status, correlation_id, caller_name)


@blueprint.get("/requests")
@takes(query=("method", "path", "status", "correlation_id", "caller"))
def list_requests():
    args = request.args
    status = args.get("status")
    if status is not None and not status.isdigit():
        raise BadRequest(f"status must be an HTTP status number, not '{status}'.")
    entries = select(state().journal.entries(), args.get("method"), args.get("path"),
                     int(status) if status else None, args.get("correlation_id"), args.get("caller"))
    return jsonify({"value": entries, "count": len(entries)})


@blueprint.delete("/requests")
def clear_requests():
    state().journal.clear()
    return "", 204
