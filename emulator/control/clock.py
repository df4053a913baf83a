"""/_emulator/clock: read, fix, move or release the emulator clock that every server "now" comes from."""
from __future__ import annotations

import math
from datetime import timedelta

from .. import server
from ..clock import format_instant, parse_instant
from ..errors import BadRequest
from ..responses import json_response
from .plane import blueprint, json_body, state, takes

ADVANCE_UNITS = ("days", "hours", "minutes", "seconds")


def _state():
    clock = server.current().clock
    return json_response({"now": format_instant(clock.now()), "frozen": clock.frozen})


def _body() -> dict:
    body = json_body('{"now": "2026-01-15T12:00:00Z"}')
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object, e.g. {\"now\": \"2026-01-15T12:00:00Z\"}.")
    return body


@blueprint.get("/clock")
def get_clock():
    return _state()


@blueprint.put("/clock")
@takes(body=True)
def set_clock():
    body = _body()
    unknown = sorted(set(body) - {"now", "frozen"})
    if unknown:
        raise BadRequest(f"Unknown clock field(s): {', '.join(unknown)}. The clock takes 'now' and 'frozen'.")
    text, frozen = body.get("now"), body.get("frozen", True)
    if not isinstance(text, str):
        raise BadRequest("'now' is required: an ISO 8601 instant such as \"2026-01-15T12:00:00Z\".")
    if not isinstance(frozen, bool):
        raise BadRequest("'frozen' must be true or false.")
    try:
        instant = parse_instant(text)
    except (ValueError, OverflowError):
        raise BadRequest(f"'now' is not an ISO 8601 instant such as \"2026-01-15T12:00:00Z\": '{text}'.") from None
    server.current().clock.set(instant, frozen=frozen)
    state().clock_changed()
    return _state()


@blueprint.post("/clock/advance")
@takes(body=True)
def advance_clock():
    body = _body()
    unknown = sorted(set(body) - set(ADVANCE_UNITS))
    if unknown or not body:
        raise BadRequest(f"Advance the clock with any of {', '.join(ADVANCE_UNITS)}, e.g. {{\"seconds\": 90}}"
                         + (f"; unknown field(s): {', '.join(unknown)}." if unknown else "."))
    for unit, value in body.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadRequest(f"'{unit}' must be a number, not {value!r}.")
    try:
        delta = timedelta(**body)
        clock = server.current().clock
        clock.now() + delta  # refuse a move past year 1 or 9999 before applying it
    except (OverflowError, ValueError):
        raise BadRequest("The clock cannot be moved that far.") from None
    clock.advance(delta)
    state().clock_changed()
    return _state()


@blueprint.delete("/clock")
def reset_clock():
    server.current().clock.reset()
    state().clock_changed()
    return _state()
