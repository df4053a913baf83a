"""Request hooks around the Web API (/api/..., never the control plane or other pages): journal, service
protection, faults. They run outside the Dataverse handlers, which stay unaware of them."""
from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from flask import Flask, g, request

from ..clock import format_instant
from . import faults
from .journal import caller
from .plane import state


def _skipped() -> bool:
    return not request.path.startswith("/api/")


def register(app: Flask) -> None:
    control = state(app)
    shared = control.shared is not None

    @app.before_request
    def before():
        if shared and (request.path.startswith(("/api/", "/_emulator/")) or request.path == "/_emulator"):
            control.sync()  # with --workers: the clock, faults and limits another worker changed
        if _skipped():
            return None
        g.emulator_started = time.perf_counter()
        g.emulator_caller = caller()
        g.emulator_admission = control.protection.admit(g.emulator_caller)  # raises Throttled (429)
        g.emulator_admitted = control.protection.enabled
        return faults.apply(control.faults)

    @app.after_request
    def after(response):
        if "emulator_started" not in g:  # set by `before` on the Web API only
            return response
        if control.protection.enabled:
            requests_left, ms_left = control.protection.remaining(g.emulator_caller)
            response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(requests_left)
            response.headers["x-ms-ratelimit-time-remaining-xrm-requests"] = str(ms_left)
        fault = g.get("emulator_fault")
        headers = request.headers
        control.journal.record({
            "at": format_instant(datetime.now(UTC), "milliseconds"),
            "method": request.method, "path": request.path,
            "query": request.query_string.decode("utf-8", "replace"),
            "status": 0 if fault and fault["kind"] == "drop" else response.status_code,
            "duration_ms": round((time.perf_counter() - g.emulator_started) * 1000, 2),
            "correlation_id": headers.get("x-ms-correlation-id"),
            "caller": g.emulator_caller, "user_agent": headers.get("User-Agent"),
            "fault": fault, "worker": os.getpid(),
        })
        if shared:
            control.after_request()
        return response

    @app.teardown_request
    def teardown(_error):
        if g.get("emulator_admitted"):
            g.emulator_admitted = False
            control.protection.release(g.emulator_caller, (time.perf_counter() - g.emulator_started) * 1000,
                                       g.get("emulator_admission"))
