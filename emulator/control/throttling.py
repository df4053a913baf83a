"""Dataverse service protection limits, off by default: per user (bearer token), over a sliding window, a number
of requests, a combined execution time and a number of concurrent requests; beyond them 429 with Retry-After
(seconds) and the documented codes and messages. GET/PUT /_emulator/service-protection."""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from flask import jsonify, request

from ..errors import BadRequest, DataverseError
from .plane import blueprint, state

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

    def admit(self, user: str) -> None:
        """Counts the request in, or raises Throttled with Retry-After."""
        if not self.enabled:
            return
        now = time.monotonic()
        limits = self.limits
        with self.lock:
            usage = self.users.setdefault(user, Usage())
            self._expire(usage, now)
            if len(usage.admitted) >= limits.requests:
                wait = usage.admitted[len(usage.admitted) - limits.requests] + limits.window_seconds - now
                raise self._throttled(REQUESTS_CODE, wait)
            spent = sum(ms for _, ms in usage.executions)
            if spent >= limits.execution_ms:
                wait = 0.0
                for end, ms in usage.executions:  # until enough of the window's time has expired
                    spent -= ms
                    wait = end + limits.window_seconds - now
                    if spent < limits.execution_ms:
                        break
                raise self._throttled(EXECUTION_CODE, wait)
            if usage.in_flight >= limits.concurrent:
                raise self._throttled(CONCURRENCY_CODE, 1)
            usage.admitted.append(now)
            usage.in_flight += 1

    def release(self, user: str, milliseconds: float) -> None:
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

    def _throttled(self, code: str, wait: float) -> Throttled:
        return Throttled(MESSAGES[code](self.limits), code=code,
                         headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def describe(self) -> dict:
        with self.lock:
            users = {}
            for user, usage in self.users.items():
                self._expire(usage, time.monotonic())
                users[user] = {"requests": len(usage.admitted), "in_flight": usage.in_flight,
                               "execution_ms": round(sum(ms for _, ms in usage.executions), 1)}
            return {"enabled": self.enabled, **asdict(self.limits), "users": users}


@blueprint.get("/service-protection")
def get_protection():
    return jsonify(state().protection.describe())


@blueprint.put("/service-protection")
def put_protection():
    """{"enabled": true, "requests": 10, "execution_ms": 5000, "concurrent": 2, "window_seconds": 5}; omitted
    limits take the documented defaults. Usage windows start empty."""
    body = request.get_json(silent=True)
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
