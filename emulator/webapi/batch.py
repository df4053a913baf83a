"""POST /$batch: a multipart/mixed body of requests and change sets. Each inner request runs through the same app
(so it behaves exactly as it would alone); a change set runs in one transaction and is rolled back whole when one
of its requests fails. Responses come back as multipart/mixed with batchresponse_/changesetresponse_ boundaries."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import orjson
from flask import Response, current_app, request
from werkzeug.http import HTTP_STATUS_CODES

from .. import server
from ..errors import BadRequest
from . import limits, write
from .routing import Resource, handles

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_REFERENCE = re.compile(r"^\$(\d+)(?=$|/)")


@dataclass
class Part:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSetPart:
    requests: list[Part] = field(default_factory=list)


def _boundary(content_type: str | None) -> str:
    match = _BOUNDARY.search(content_type or "")
    if not content_type or not content_type.lower().startswith("multipart/mixed") or not match:
        raise BadRequest("A $batch request needs 'Content-Type: multipart/mixed; boundary=batch_<id>'.")
    return match.group(1) or match.group(2)


def _split(body: bytes, boundary: str) -> list[bytes]:
    """The parts between `--boundary` lines, up to the closing `--boundary--`."""
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|$)")
    parts, position, opened = [], None, False
    for match in delimiter.finditer(body):
        if opened:
            parts.append(body[position:match.start()])
        if match.group(1):
            return parts
        position, opened = match.end(), True
    raise BadRequest(f"The $batch body does not end with the closing delimiter '--{boundary}--'.")


def _headers(block: bytes) -> list[tuple[str, str]]:
    headers = []
    for line in block.decode("utf-8", "replace").splitlines():
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name.lower()), None)


def _head_and_body(raw: bytes) -> tuple[bytes, bytes]:
    match = _BLANK_LINE.search(raw)
    return (raw, b"") if match is None else (raw[:match.start()], raw[match.end():])


def _request(mime_headers: list[tuple[str, str]], payload: bytes) -> Part:
    head, body = _head_and_body(payload.lstrip(b"\r\n"))
    lines = head.decode("utf-8", "replace").splitlines()
    if not lines or " " not in lines[0]:
        raise BadRequest("Each $batch part must hold an HTTP request such as 'GET <url> HTTP/1.1'.")
    method, _, rest = lines[0].partition(" ")
    url = rest.rsplit(" ", 1)[0] if rest.rstrip().upper().split(" ")[-1].startswith("HTTP/") else rest
    return Part(method.upper(), url.strip(), _headers("\n".join(lines[1:]).encode()), body.rstrip(b"\r\n"),
                _header(mime_headers, "Content-ID"))


def _check(part: Part) -> Part:
    if "$batch" in part.url:
        raise BadRequest("Batch requests can't contain other batch requests.")
    return part


def parse(body: bytes, content_type: str | None) -> list[Part | ChangeSetPart]:
    items: list[Part | ChangeSetPart] = []
    count = 0
    for raw in _split(body, _boundary(content_type)):
        head, payload = _head_and_body(raw)
        mime = _headers(head)
        kind = (_header(mime, "Content-Type") or "").lower()
        if kind.startswith("multipart/mixed"):
            change_set = ChangeSetPart()
            for inner_raw in _split(payload, _boundary(_header(mime, "Content-Type"))):
                inner_head, inner_payload = _head_and_body(inner_raw)
                part = _check(_request(_headers(inner_head), inner_payload))
                if part.method == "GET":
                    raise BadRequest("GET requests are not allowed inside a change set: put them in the batch "
                                     "outside any change set.")
                change_set.requests.append(part)
            count += len(change_set.requests)
            items.append(change_set)
        else:
            items.append(_check(_request(mime, payload)))
            count += 1
    if count > MAX_REQUESTS:
        raise BadRequest(f"A $batch request can contain at most {MAX_REQUESTS} requests; this one has {count}.")
    return items


def _resolve(url: str, references: dict[str, str]) -> str:
    """Absolute, root-relative, service-relative or `$n`-relative URL -> a path on this server."""
    match = _REFERENCE.match(url)
    if match:
        if match.group(1) not in references:
            raise BadRequest(f"Content-ID Reference: '${match.group(1)}' does not exist in the batch context.")
        url = references[match.group(1)] + url[match.end():]
    parts = urlsplit(url)
    if parts.scheme:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    elif url.startswith("/"):
        path = url
    else:
        root = request.path.rsplit("/", 1)[0]  # /api/data/v9.2
        path = f"{root}/{url}"
    return quote(path, safe="/:?&=$%,()'@*;+[]!~-._")


def _substitute(body: bytes, references: dict[str, str]) -> bytes:
    """`$n` references inside JSON bodies (e.g. "nav@odata.bind": "$1") -> the entity URL they stand for."""
    if b'"$' not in body:
        return body
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body  # the inner request reports the bad JSON itself

    def walk(value, key: str = ""):
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and key.endswith(("@odata.bind", "@odata.id")):  # only URLs are references
            match = _REFERENCE.match(value)
            if match and match.group(1) in references:
                return references[match.group(1)] + value[match.end():]
            if match:
                raise BadRequest(f"Content-ID Reference: '${match.group(1)}' does not exist in the batch context.")
        return value

    return orjson.dumps(walk(data))


@dataclass
class Outcome:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    content_id: str | None = None
    entity_url: str | None = None


def _execute(part: Part, references: dict[str, str]) -> Outcome:
    try:
        path = _resolve(part.url, references)
        body = _substitute(part.body, references)
    except BadRequest as error:
        return Outcome(error.status, [("Content-Type", "application/json; odata.metadata=minimal"),
                                      ("OData-Version", "4.0")], orjson.dumps(error.body()), part.content_id)
    headers = [(k, v) for k, v in part.headers if k.lower() not in ("content-length", "host")]
    if _header(headers, "Authorization") is None and request.headers.get("Authorization"):
        headers.append(("Authorization", request.headers["Authorization"]))
    token = write.last_entity_url.set(None)
    try:
        response = current_app.test_client().open(path, method=part.method, headers=headers, data=body,
                                                  base_url=request.host_url.rstrip("/"),
                                                  environ_overrides={limits.BATCH_PART: True})
        entity_url = write.last_entity_url.get()
    finally:
        write.last_entity_url.reset(token)
    kept = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length",)]
    if response.headers.get("OData-EntityId") and not response.headers.get("Location"):
        kept.append(("Location", response.headers["OData-EntityId"]))
    return Outcome(response.status_code, kept, response.get_data(), part.content_id, entity_url)


def _render(outcome: Outcome) -> bytes:
    reason = HTTP_STATUS_CODES.get(outcome.status, "Unknown")
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if outcome.content_id is not None:
        lines.append(f"Content-ID: {outcome.content_id}")
    lines += ["", f"HTTP/1.1 {outcome.status} {reason}"]
    lines += [f"{k}: {v}" for k, v in outcome.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + outcome.body


@handles("$batch", "POST")
def batch(resource: Resource) -> Response:
    if resource.rest not in ("", "/"):
        raise BadRequest(f"'{resource.path}' is not the $batch endpoint.")
    items = parse(request.get_data(), request.headers.get("Content-Type"))
    continue_on_error = "odata.continue-on-error" in (request.headers.get("Prefer") or "").lower()
    db = server.current().db
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    status = 200
    for item in items:
        if isinstance(item, Part):
            outcome = _execute(item, {})
            chunks.append(_render(outcome))
            failure = outcome if outcome.status >= 400 else None
        else:
            outcomes: list[Outcome] = []
            failure = None
            references: dict[str, str] = {}
            with db.change_set() as change_set:
                for part in item.requests:
                    outcome = _execute(part, references)
                    if outcome.status >= 400:
                        failure = outcome
                        change_set.failed = True
                        break
                    outcomes.append(outcome)
                    if outcome.content_id and outcome.entity_url:
                        references[outcome.content_id] = outcome.entity_url
            if failure is not None:
                chunks.append(_render(failure))  # the failed change set answers with its failing request only
            else:
                inner = f"changesetresponse_{uuid.uuid4()}"
                body = b"".join(f"--{inner}\r\n".encode() + _render(o) + b"\r\n" for o in outcomes)
                chunks.append(f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode() + body
                              + f"--{inner}--".encode())
        if failure is not None and not continue_on_error:
            status = failure.status
            break
    payload = b"".join(f"--{boundary}\r\n".encode() + chunk + b"\r\n" for chunk in chunks)
    payload += f"--{boundary}--\r\n".encode()
    response = Response(payload, status=status, content_type=f"multipart/mixed; boundary={boundary}")
    response.headers["OData-Version"] = "4.0"
    if continue_on_error:
        response.headers["Preference-Applied"] = "odata.continue-on-error"
    return response

