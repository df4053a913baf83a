"""Fault injection for the Web API: rules that match method, entity set and path and answer with a Dataverse
error, added latency, a dropped connection or throttling; always, N times, or with a seeded probability.
POST/GET/DELETE /_emulator/faults."""
from __future__ import annotations

import errno
import fnmatch
import itertools
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field, fields

import orjson
import sqlalchemy as sa
from flask import Response, g, jsonify, request

from ..errors import BadRequest, DataverseError, ResourceNotFound
from .plane import blueprint, json_body, state, takes
from .shared import Draws, SharedStore
from .throttling import MESSAGES, REQUESTS_CODE

KINDS = ("error", "latency", "drop", "throttle")
FIELDS = ("kind", "method", "entity_set", "path", "path_regex", "status", "code", "message", "latency_ms",
          "retry_after", "times", "probability", "seed")
# the fields every kind takes (what to match, how often, added latency), and those only some kinds answer with
COMMON = ("kind", "method", "entity_set", "path", "path_regex", "latency_ms", "times", "probability", "seed")
ANSWER_FIELDS = {"error": ("status", "code", "message", "retry_after"),
                 "throttle": ("status", "code", "message", "retry_after"), "latency": (), "drop": ()}
RETRY_AFTER_STATUSES = (429, 503)  # an error fault with one of these answers with Retry-After, given or this default
DEFAULT_RETRY_AFTER = 1
ENTITY_SET = re.compile(r"^/api/data/v\d+\.\d+/([^/(?]+)")


@dataclass
class FaultRule:
    id: int
    kind: str
    method: list[str] | None = None
    entity_set: str | None = None
    path: str | None = None  # glob against the request path, e.g. /api/data/v9.2/msdyn_ocliveworkitems*
    path_regex: str | None = None  # searched in the path plus "?" and the query string
    status: int | None = None
    code: str | None = None
    message: str | None = None
    latency_ms: int = 0
    retry_after: int | None = None
    times: int | None = None  # fire this many times, then stay spent; None: always
    probability: float | None = None  # fire with this probability, drawn from Random(seed)
    seed: int | None = None  # with a probability: 0 unless given
    matched: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, path: str, query: str) -> bool:
        if self.method and method not in self.method:
            return False
        if self.entity_set:
            found = ENTITY_SET.match(path)
            if not found or found.group(1) != self.entity_set:
                return False
        if self.path and not fnmatch.fnmatchcase(path, self.path):
            return False
        if self.path_regex and not re.search(self.path_regex, f"{path}?{query}" if query else path):
            return False
        return True

    def draw(self) -> bool:
        """Counts a match and says whether the rule fires for it."""
        self.matched += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None and self.rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def public(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "rng" and getattr(self, f.name) is not None}
        data["remaining"] = None if self.times is None else max(0, self.times - self.fired)
        return data


def _rule(rule_id: int, body) -> FaultRule:
    if not isinstance(body, dict):
        raise BadRequest("A fault rule is a JSON object such as {\"kind\": \"error\", \"entity_set\": "
                         "\"msdyn_ocliveworkitems\", \"status\": 503}.")
    for key in body:
        if key not in FIELDS:
            raise BadRequest(f"Unknown fault rule field '{key}'; fields: {', '.join(FIELDS)}.")
    kind = body.get("kind")
    if kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    for key in body:
        if key not in COMMON and key not in ANSWER_FIELDS[kind]:
            takes = [name for name in FIELDS if name in COMMON or name in ANSWER_FIELDS[kind]]
            raise BadRequest(f"Field '{key}' does not apply to a {kind} fault; a {kind} fault takes "
                             f"{', '.join(takes)}.")
    if "seed" in body and body.get("probability") is None:
        raise BadRequest("Field 'seed' applies only with 'probability' (it seeds the random draws).")
    method = body.get("method")
    if isinstance(method, str):
        method = [method]
    if method is not None and not (isinstance(method, list) and all(isinstance(m, str) for m in method)):
        raise BadRequest("method must be an HTTP method or a list of them.")
    for name in ("entity_set", "path", "path_regex", "code", "message"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequest(f"{name} must be a string.")
    if body.get("path_regex"):
        try:
            re.compile(body["path_regex"])
        except re.error as e:
            raise BadRequest(f"path_regex is not a regular expression: {e}.") from None

    def number(name: str, low: float, high: float | None = None, integer: bool = True):
        value = body.get(name)
        if value is None:
            return None
        ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
        if not ok or value < low or (high is not None and value > high):
            raise BadRequest(f"{name} must be a {'whole ' if integer else ''}number from {low}"
                             f"{f' to {high}' if high is not None else ''}, not {value!r}.")
        return value

    status = number("status", 400, 599)
    if kind == "error" and status is None:
        raise BadRequest("An error fault needs a status (400-599), e.g. {\"kind\": \"error\", \"status\": 503}.")
    latency = number("latency_ms", 0, 600000) or 0
    if kind == "latency" and not latency:
        raise BadRequest("A latency fault needs latency_ms > 0.")
    code = body.get("code")
    if kind == "throttle" and code is not None and code not in MESSAGES:
        raise BadRequest(f"A throttle fault's code is one of {', '.join(MESSAGES)}.")
    seed = body.get("seed", 0 if body.get("probability") is not None else None)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest("seed must be a whole number.")
    return FaultRule(
        rule_id, kind, [m.upper() for m in method] if method else None, body.get("entity_set"), body.get("path"),
        body.get("path_regex"), status, code, body.get("message"), latency, number("retry_after", 0, 86400),
        number("times", 1), number("probability", 0, 1, integer=False), seed, rng=random.Random(seed))


class FaultSet:
    """The rules of one process, in memory."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def add(self, body) -> FaultRule:
        with self.lock:
            rule = _rule(next(self.ids), body)
            self.rules.append(rule)
            return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def remove(self, rule_id: int) -> bool:
        with self.lock:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            return len(self.rules) != before

    def listed(self) -> list[dict]:
        with self.lock:
            return [rule.public() for rule in self.rules]

    def firing(self, method: str, path: str, query: str) -> list[FaultRule]:
        """The latency rules that fire, then at most one terminal rule (error, drop, throttle), in rule order."""
        fired: list[FaultRule] = []
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path, query) and rule.draw():
                    fired.append(rule)
                    if rule.kind != "latency":
                        break
        return fired


class SharedFaultSet:
    """The rules of all workers (`serve --workers`), as rows: each worker matches against its cached copy of the
    rules (reloaded when the generation moves) and counts a match with one atomic UPDATE, so a rule with `times`
    fires exactly that often across workers and a seeded `probability` fires on the same draws as in one process."""

    def __init__(self, store: SharedStore) -> None:
        self.store = store
        self.rules: list[FaultRule] = []
        self.draws = Draws()

    def load(self) -> None:
        table = self.store.faults
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.rule).order_by(table.c.id)).all()
        self.rules = [_rule(row.id, orjson.loads(row.rule)) for row in rows]

    def add(self, body) -> FaultRule:
        _rule(0, body)  # checked before it is stored
        with self.store.writing() as conn:
            key = conn.execute(sa.insert(self.store.faults).values(
                rule=orjson.dumps(body).decode(), matched=0, fired=0, draws=0)).inserted_primary_key
            self.store.change(conn)
        assert key is not None  # a one-row insert has one
        return _rule(key[0], body)

    def clear(self) -> None:
        with self.store.writing() as conn:
            conn.execute(sa.delete(self.store.faults))
            self.store.change(conn)

    def remove(self, rule_id: int) -> bool:
        with self.store.writing() as conn:
            removed = conn.execute(sa.delete(self.store.faults).where(self.store.faults.c.id == rule_id)).rowcount
            if removed:
                self.store.change(conn)
        return bool(removed)

    def listed(self) -> list[dict]:
        table = self.store.faults
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
        listed = []
        for row in rows:
            rule = _rule(row.id, orjson.loads(row.rule))
            rule.matched, rule.fired = row.matched, row.fired
            listed.append(rule.public())
        return listed

    def firing(self, method: str, path: str, query: str) -> list[FaultRule]:
        fired: list[FaultRule] = []
        for rule in self.rules:
            if rule.matches(method, path, query) and self._draw(rule):
                fired.append(rule)
                if rule.kind != "latency":
                    break
        return fired

    def _draw(self, rule: FaultRule) -> bool:
        """FaultRule.draw, atomically across workers: one transaction holding the rule's row."""
        table = self.store.faults
        this = table.c.id == rule.id
        live = this if rule.times is None else this & (table.c.fired < rule.times)
        with self.store.writing() as conn:
            if rule.probability is None:
                hit = conn.execute(sa.update(table).where(live).values(
                    matched=table.c.matched + 1, fired=table.c.fired + 1)).rowcount == 1
                if not hit:
                    conn.execute(sa.update(table).where(this).values(matched=table.c.matched + 1))
                return hit
            draw = conn.execute(sa.update(table).where(live).values(
                matched=table.c.matched + 1, draws=table.c.draws + 1).returning(table.c.draws)).scalar()
            if draw is None:  # spent (or removed): counted as a match only
                conn.execute(sa.update(table).where(this).values(matched=table.c.matched + 1))
                return False
            if self.draws.value(rule.id, rule.seed, draw) >= rule.probability:
                return False
            return conn.execute(sa.update(table).where(live).values(fired=table.c.fired + 1)).rowcount == 1


def dropped() -> Response:
    """A response that never arrives: the socket is shut before any byte of it is written."""
    environ = request.environ
    connection = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")

    def body():
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # ENOTCONN: what a server sees from a client gone away, so gunicorn closes it quietly (no traceback)
        raise ConnectionAbortedError(errno.ENOTCONN, "connection dropped by an emulator fault rule")
        yield b""  # pragma: no cover  (makes this a generator)

    return Response(body(), status=200)


def apply(faults: FaultSet | SharedFaultSet) -> Response | None:
    """Runs before the Web API handler: sleeps, raises the injected error, or drops the connection."""
    for rule in faults.firing(request.method, request.path, request.query_string.decode("latin-1")):
        if rule.latency_ms:
            time.sleep(rule.latency_ms / 1000)
        g.emulator_fault = {"id": rule.id, "kind": rule.kind}
        if rule.kind == "error":
            retry = rule.retry_after
            if retry is None and rule.status in RETRY_AFTER_STATUSES:
                retry = DEFAULT_RETRY_AFTER
            raise DataverseError(rule.message or "An unexpected error occurred (injected by an emulator fault rule).",
                                 code=rule.code if rule.code is not None else "0x80040216", status=rule.status,
                                 headers=None if retry is None else {"Retry-After": str(retry)})
        if rule.kind == "throttle":
            code = rule.code or REQUESTS_CODE
            retry = DEFAULT_RETRY_AFTER if rule.retry_after is None else rule.retry_after
            raise DataverseError(rule.message or MESSAGES[code](), code=code, status=rule.status or 429,
                                 headers={"Retry-After": str(retry)})
        if rule.kind == "drop":
            return dropped()
    return None


@blueprint.post("/faults")
@takes(body=True)
def add_fault():
    body = json_body('{"kind": "error", "status": 503}')
    faults = state().faults
    rules = body if isinstance(body, list) else [body]
    for rule in rules:  # all or none: check every rule before adding any
        _rule(0, rule)
    return jsonify({"value": [faults.add(r).public() for r in rules]}), 201


@blueprint.get("/faults")
def list_faults():
    return jsonify({"value": state().faults.listed()})


@blueprint.delete("/faults")
def clear_faults():
    state().faults.clear()
    return "", 204


@blueprint.delete("/faults/<int:rule_id>")
def delete_fault(rule_id: int):
    if not state().faults.remove(rule_id):
        raise ResourceNotFound(f"_emulator/faults/{rule_id}")
    return "", 204
