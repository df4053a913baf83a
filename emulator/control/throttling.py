"""Dataverse service protection limits, off by default: per user (bearer token), over a sliding window, a number
of requests, a combined execution time and a number of concurrent requests; beyond them 429 with Retry-After
(seconds) and the documented codes and messages. GET/PUT /_emulator/service-protection."""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import orjson
import sqlalchemy as sa
from flask import jsonify

from ..errors import BadRequest, DataverseError
from .plane import blueprint, json_body, state, takes
from .shared import SharedStore

REQUESTS_CODE, EXECUTION_CODE, CONCURRENCY_CODE = "0x80072322", "0x80072321", "0x80072326"


@dataclass
class Limits:
    """Documented defaults (webapi.md 3.9); tests set smaller ones."""

    requests: int = 6000
    execution_ms: int = 1_200_000
    concurrent: int = 52
    window_seconds: float = 300


def _window(limits: Limits) -> str:
    seconds = limits.window_seconds
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


DEFAULT_LIMITS = Limits()
MESSAGES = {
    REQUESTS_CODE: lambda limits=DEFAULT_LIMITS: (
        f"Number of requests exceeded the limit of {limits.requests} over time window of {_window(limits)} seconds."),
    EXECUTION_CODE: lambda limits=DEFAULT_LIMITS: (
        f"Combined execution time of incoming requests exceeded limit of {limits.execution_ms:,} milliseconds over "
        f"time window of {_window(limits)} seconds. Decrease number of concurrent requests or reduce the duration "
        "of requests and try again later."),
    CONCURRENCY_CODE: lambda limits=DEFAULT_LIMITS: (
        f"Number of concurrent requests exceeded the limit of {limits.concurrent}."),
}


@dataclass
class Usage:
    admitted: deque = field(default_factory=deque)  # monotonic times of admitted requests
    executions: deque = field(default_factory=deque)  # (monotonic end time, milliseconds)
    in_flight: int = 0


class Throttled(DataverseError):
    status = 429


def _check(limits: Limits, admitted, executions, in_flight: int, now: float) -> None:
    """Raises Throttled when one more request would break a limit. `admitted`: the window's admission times,
    oldest first; `executions`: its (end time, milliseconds), oldest first."""
    if len(admitted) >= limits.requests:
        wait = admitted[len(admitted) - limits.requests] + limits.window_seconds - now
        raise _throttled(limits, REQUESTS_CODE, wait)
    spent = sum(ms for _, ms in executions)
    if spent >= limits.execution_ms:
        wait = 0.0
        for end, ms in executions:  # until enough of the window's time has expired
            spent -= ms
            wait = end + limits.window_seconds - now
            if spent < limits.execution_ms:
                break
        raise _throttled(limits, EXECUTION_CODE, wait)
    if in_flight >= limits.concurrent:
        raise _throttled(limits, CONCURRENCY_CODE, 1)


def _throttled(limits: Limits, code: str, wait: float) -> Throttled:
    return Throttled(MESSAGES[code](limits), code=code, headers={"Retry-After": str(max(1, math.ceil(wait)))})


class ServiceProtection:
    """Sliding windows on real (monotonic) time: Retry-After is what a real client waits, whatever the emulator
    clock says. Rejected requests do not count, so a client that waits Retry-After gets through."""

    def __init__(self, enabled: bool = False, limits: Limits | None = None) -> None:
        self.lock = threading.Lock()
        self.reset(enabled, limits)

    def reset(self, enabled: bool = False, limits: Limits | None = None) -> None:
        with self.lock:
            self.enabled = enabled
            self.limits = limits or Limits()
            self.users: dict[str, Usage] = {}

    def _expire(self, usage: Usage, now: float) -> None:
        start = now - self.limits.window_seconds
        while usage.admitted and usage.admitted[0] <= start:
            usage.admitted.popleft()
        while usage.executions and usage.executions[0][0] <= start:
            usage.executions.popleft()

    def admit(self, user: str) -> int | None:
        """Counts the request in, or raises Throttled with Retry-After."""
        if not self.enabled:
            return None
        now = time.monotonic()
        with self.lock:
            usage = self.users.setdefault(user, Usage())
            self._expire(usage, now)
            _check(self.limits, usage.admitted, usage.executions, usage.in_flight, now)
            usage.admitted.append(now)
            usage.in_flight += 1
        return None

    def release(self, user: str, milliseconds: float, _admission: int | None = None) -> None:
        with self.lock:
            usage = self.users.get(user)
            if usage is None:
                return
            usage.in_flight = max(0, usage.in_flight - 1)
            usage.executions.append((time.monotonic(), milliseconds))

    def remaining(self, user: str) -> tuple[int, int]:
        """(requests, execution milliseconds) left in the window: Dataverse's x-ms-ratelimit-* headers."""
        with self.lock:
            usage = self.users.get(user) or Usage()
            self._expire(usage, time.monotonic())
            return (max(0, self.limits.requests - len(usage.admitted)),
                    max(0, int(self.limits.execution_ms - sum(ms for _, ms in usage.executions))))

    def describe(self) -> dict:
        with self.lock:
            users = {}
            for user, usage in self.users.items():
                self._expire(usage, time.monotonic())
                users[user] = {"requests": len(usage.admitted), "in_flight": usage.in_flight,
                               "execution_ms": round(sum(ms for _, ms in usage.executions), 1)}
            return {"enabled": self.enabled, **asdict(self.limits), "users": users}


class SharedServiceProtection:
    """The same windows for all workers (`serve --workers`): one row per admitted request, its end and duration
    set when it ends. Admission reads the caller's rows and adds one in one locked transaction, so the limits are
    global; time.monotonic() is the machine's clock, the same in every worker. While off it costs nothing."""

    def __init__(self, store: SharedStore) -> None:
        self.store = store
        self.enabled = False
        self.limits = Limits()

    def load(self, row: sa.Row) -> None:
        settings = orjson.loads(row.protection)
        self.enabled, self.limits = settings["enabled"], Limits(**settings["limits"])

    @staticmethod
    def settings(enabled: bool, limits: Limits) -> dict:
        return {"enabled": enabled, "limits": asdict(limits)}

    def reset(self, enabled: bool = False, limits: Limits | None = None) -> None:
        limits = limits or Limits()
        with self.store.writing() as conn:
            conn.execute(sa.delete(self.store.usage))
            self.store.change(conn, protection=orjson.dumps(self.settings(enabled, limits)).decode())
        self.enabled, self.limits = enabled, limits

    def _window(self, conn: sa.Connection, user: str | None, now: float):
        """Per caller: (admission times, (end, ms) executions, in flight), the window's only."""
        usage = self.store.usage
        start = now - self.limits.window_seconds
        query = sa.select(usage.c.caller, usage.c.started, usage.c.ended, usage.c.ms).order_by(usage.c.id)
        if user is not None:
            query = query.where(usage.c.caller == user)
        windows: dict[str, tuple[list, list, int]] = {}
        for row in conn.execute(query):
            admitted, executions, in_flight = windows.get(row.caller) or ([], [], 0)
            if row.started > start:
                admitted.append(row.started)
            if row.ended is None:
                in_flight += 1
            elif row.ended > start:
                executions.append((row.ended, row.ms))
            windows[row.caller] = (admitted, executions, in_flight)
        for admitted, executions, _ in windows.values():
            admitted.sort()
            executions.sort()
        return windows

    def admit(self, user: str) -> int | None:
        if not self.enabled:
            return None
        now = time.monotonic()
        usage = self.store.usage
        with self.store.writing() as conn:
            self.store.lock(conn)
            start = now - self.limits.window_seconds
            conn.execute(sa.delete(usage).where(usage.c.started <= start, usage.c.ended.is_not(None),
                                                usage.c.ended <= start))  # every caller's expired requests
            admitted, executions, in_flight = self._window(conn, user, now).get(user) or ([], [], 0)
            _check(self.limits, admitted, executions, in_flight, now)
            key = conn.execute(sa.insert(usage).values(caller=user, started=now)).inserted_primary_key
        return None if key is None else key[0]

    def release(self, user: str, milliseconds: float, admission: int | None = None) -> None:
        if admission is None:
            return
        usage = self.store.usage
        with self.store.writing() as conn:
            conn.execute(sa.update(usage).where(usage.c.id == admission)
                         .values(ended=time.monotonic(), ms=milliseconds))

    def remaining(self, user: str) -> tuple[int, int]:
        with self.store.engine.connect() as conn:
            admitted, executions, _ = self._window(conn, user, time.monotonic()).get(user) or ([], [], 0)
        return (max(0, self.limits.requests - len(admitted)),
                max(0, int(self.limits.execution_ms - sum(ms for _, ms in executions))))

    def describe(self) -> dict:
        with self.store.engine.connect() as conn:
            windows = self._window(conn, None, time.monotonic())
        users = {user: {"requests": len(admitted), "in_flight": in_flight,
                        "execution_ms": round(sum(ms for _, ms in executions), 1)}
                 for user, (admitted, executions, in_flight) in windows.items()}
        return {"enabled": self.enabled, **asdict(self.limits), "users": users}


@blueprint.get("/service-protection")
def get_protection():
    return jsonify(state().protection.describe())


@blueprint.put("/service-protection")
@takes(body=True)
def put_protection():
    """{"enabled": true, "requests": 10, "execution_ms": 5000, "concurrent": 2, "window_seconds": 5}; omitted
    limits take the documented defaults. Usage windows start empty."""
    body = json_body('{"enabled": true, "requests": 10, "window_seconds": 5}')
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object such as {\"enabled\": true, \"requests\": 10, \"window_seconds\": 5}.")
    fields = ("enabled", "requests", "execution_ms", "concurrent", "window_seconds")
    for key in body:
        if key not in fields:
            raise BadRequest(f"Unknown field '{key}'; fields: {', '.join(fields)}.")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise BadRequest("enabled must be true or false.")
    values = {}
    for key in fields[1:]:
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or \
                    (key != "window_seconds" and not isinstance(value, int)):
                raise BadRequest(f"{key} must be a positive {'number' if key == 'window_seconds' else 'whole number'}.")
            values[key] = value
    protection = state().protection
    protection.reset(enabled, Limits(**values))
    return jsonify(protection.describe())
