"""POST /_emulator/reset (back to the baseline) and POST /_emulator/seed (replace the data with a scenario)."""
from __future__ import annotations

import time

from flask import jsonify

from ..errors import BadRequest
from ..store import scenario as scenarios
from .plane import blueprint, json_body, state, takes
from .snapshots import BASELINE

GENERATOR_KEYS = ("conversations", "agents", "seed")


@blueprint.post("/reset")
@takes(body=True)
def reset():
    """Data back to the scenario the server started with (or the last one seeded); clock, faults, journal and
    service protection back to the start settings. {"full": true} copies every table, also those another process
    wrote to (writes through this server are tracked; only the tables they touched are copied otherwise)."""
    body = json_body('{"full": true}', fields=("full",), required=False)
    if not isinstance(body.get("full", False), bool):
        raise BadRequest("'full' must be true or false.")
    return jsonify(state().reset(full=body.get("full", False)))


def _scenario(body: dict) -> scenarios.Scenario:
    chosen = body.get("scenario")
    generator = {k: body[k] for k in GENERATOR_KEYS if k in body}
    unknown = [k for k in body if k not in (*GENERATOR_KEYS, "scenario")]
    if unknown:
        raise BadRequest(f"Unknown field '{unknown[0]}': send {{\"scenario\": \"<name>\"}}, an inline scenario "
                         f"object as \"scenario\", or generator parameters {', '.join(GENERATOR_KEYS)}.")
    if chosen is not None and generator:
        raise BadRequest("Send either \"scenario\" or generator parameters, not both.")
    if isinstance(chosen, str):
        return scenarios.read(chosen)
    if isinstance(chosen, dict):
        return scenarios.from_dict(chosen, "request body scenario")
    if chosen is not None:
        raise BadRequest("\"scenario\" must be a scenario name or a scenario object.")
    name = "generated:" + ",".join(f"{k}={generator[k]}" for k in GENERATOR_KEYS if k in generator)
    return scenarios.from_dict({"name": name, "generator": generator or {}}, "request body generator")


@blueprint.post("/seed")
@takes(body=True)
def seed():
    """Replace every row with a scenario; it becomes the baseline that /reset returns to."""
    body = json_body('{"scenario": "default"}', required=False)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object, e.g. {\"scenario\": \"default\"}.")
    control = state()
    started = time.perf_counter()
    try:
        chosen = _scenario(body or {})
        result = scenarios.load(control.emulator.db, chosen, now=control.emulator.clock.now(), reset=True)
    except scenarios.ScenarioError as e:
        raise BadRequest(str(e)) from None
    control.scenario = result.name
    control.snapshots.save(BASELINE, result.name)
    return jsonify({"scenario": result.name, "counts": result.counts,
                    "ms": round((time.perf_counter() - started) * 1000, 1)}), 201
