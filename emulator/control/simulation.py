"""GET /_emulator/simulation: the live simulation's state; POST {"running", "rate", "seed"} changes it."""
from __future__ import annotations

from flask import current_app, jsonify

from .. import simulation
from ..errors import BadRequest, NotSupported
from .plane import blueprint, json_body, state, takes


@blueprint.get("/simulation")
def simulation_state():
    return jsonify(simulation.for_app(current_app).state())


@blueprint.post("/simulation")
@takes(body=True)
def simulation_control():
    if state().shared is not None:
        raise NotSupported("The live simulation runs in one process: it is not available with --workers "
                           "(serve without --workers to simulate).")
    body = json_body('{"running": true, "rate": 12, "seed": 1}')
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object such as {"running": true, "rate": 12, "seed": 1}.')
    unknown = sorted(set(body) - {"running", "rate", "seed"})
    if unknown:
        raise BadRequest(f"Unknown simulation setting(s): {', '.join(unknown)}. Known: running, rate, seed.")
    running, rate, seed = body.get("running"), body.get("rate"), body.get("seed")
    if running is not None and not isinstance(running, bool):
        raise BadRequest("'running' must be true or false.")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                             or not 0 < rate <= simulation.MAX_RATE):
        raise BadRequest(f"'rate' (new conversations per minute) must be a number above 0 and at most "
                         f"{simulation.MAX_RATE:g}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest("'seed' must be an integer.")
    simulator = simulation.for_app(current_app)
    simulator.configure(rate=rate, seed=seed)
    if running is True:
        simulator.start()
    elif running is False:
        simulator.stop()
    return jsonify(simulator.state())
