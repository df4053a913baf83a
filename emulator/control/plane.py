"""The control plane's blueprint, the accessor of its state and the checks every control request passes: a leaf
module, so the route modules can import it while control/__init__.py imports them.

Nothing sent to the control plane is silently ignored: each route declares the query parameters it reads and
whether it reads a body (`takes`); anything else is a 400 naming it, and JSON bodies name their unknown fields."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Flask, current_app, request

from ..errors import BadRequest

if TYPE_CHECKING:
    from . import ControlState

EXTENSION = "control"  # the app.extensions key of the control plane's state

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")

F = TypeVar("F", bound=Callable[..., Any])
_TAKES: dict[str, tuple[tuple[str, ...], bool]] = {}  # view name -> (query parameters, reads a body)


def state(app: Flask | None = None) -> ControlState:
    """The control plane's state: of `app`, or of the app serving the current request."""
    return (app or current_app).extensions[EXTENSION]


def takes(query: Iterable[str] = (), body: bool = False) -> Callable[[F], F]:
    """Declares what a control route reads; routes without it read neither query parameters nor a body."""
    def register(view: F) -> F:
        _TAKES[view.__name__] = (tuple(query), body)
        return view
    return register


@blueprint.before_request
def refuse_what_the_route_ignores() -> None:
    endpoint = request.endpoint or ""
    if not endpoint.startswith(f"{blueprint.name}."):
        return
    query, body = _TAKES.get(endpoint.partition(".")[2], ((), False))
    for name in request.args:
        if name not in query:
            raise BadRequest(f"Unknown query parameter '{name}' for {request.method} {request.path}: "
                             + (f"it takes {', '.join(query)}." if query else "it takes none."))
    if not body and request.get_data():
        raise BadRequest(f"{request.method} {request.path} takes no request body.")


def json_body(example: str, fields: Iterable[str] | None = None, required: bool = True) -> Any:
    """The request's JSON body, whatever its content type (curl -d sends a form's); {} when it may be empty and is.
    With `fields`, it must be an object of those fields only."""
    if not request.get_data():
        if required:
            raise BadRequest(f"{request.method} {request.path} needs a JSON body, e.g. {example}.")
        return {}
    body = request.get_json(force=True, silent=True)
    if fields is None:
        return body
    if not isinstance(body, dict):
        raise BadRequest(f"The request body must be a JSON object, e.g. {example}.")
    known = tuple(fields)
    for name in body:
        if name not in known:
            raise BadRequest(f"Unknown field '{name}' for {request.method} {request.path}: it takes "
                             f"{', '.join(known)}.")
    return body
