"""The media type of write bodies: the Web API reads JSON only (docs/decisions.md, "Write bodies that are not JSON").
A POST, PATCH or PUT with a body sent as anything but application/json (text/plain as fetch sends a string, curl -d's
application/x-www-form-urlencoded, or no Content-Type at all) is refused with 415 before anything is written.
$batch keeps its multipart/mixed (batch.py checks it); each request inside it is checked here like any other."""
from __future__ import annotations

from flask import request

from ..errors import DataverseError

WRITE_METHODS = ("POST", "PATCH", "PUT")
JSON = "application/json"


class UnsupportedMediaType(DataverseError):
    status = 415
    code = ""  # an HTTP-level refusal, like 413 and 414: no Dataverse code is documented for it


def _has_body() -> bool:
    if request.content_length is not None:
        return request.content_length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check(kind: str, method: str) -> None:
    """Before a write handler runs: its body, if any, must be declared as JSON."""
    if method not in WRITE_METHODS or kind == "$batch" or not _has_body():
        return
    if request.mimetype == JSON:  # parameters (charset, odata.metadata, type=entry) are fine
        return
    declared = request.headers.get("Content-Type", "").strip()
    expected = f"send the body as JSON with 'Content-Type: {JSON}'"
    if not declared:
        raise UnsupportedMediaType(f"The request has a body but no Content-Type header: {expected}.")
    shown = declared if len(declared) <= 100 else declared[:100] + "..."
    raise UnsupportedMediaType(f"The request's Content-Type '{shown}' is not supported for this resource: "
                               f"{expected}.")
