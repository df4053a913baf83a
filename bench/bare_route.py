"""The web framework's floor for the benchmarks: `dataverse-emulator serve` with one more route, GET /_bench/bare,
which answers the service document's bytes without touching the database, on the same app, gunicorn, worker count
and worker class as every other figure.

    python bench/bare_route.py serve --workers 2 --database URL ...   (the CLI's own options)

The app is built by the CLI itself (the product's path, whatever module holds the factory) and taken where the CLI
hands it to emulator/wsgi.py's `serve`; the bare route is added there, before gunicorn forks its workers.
`app_from_cli` uses the same hand-over to give bench/profile_get.py the served app in-process."""
from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import AUTH, BARE_PATH, SERVICE_DOCUMENT  # noqa: E402

from emulator import wsgi  # noqa: E402
from emulator.cli import main as cli  # noqa: E402


def add_bare_route(app: Flask) -> None:
    """GET BARE_PATH: the service document's body and headers, taken once from the app itself."""
    document: dict = {}

    @app.get(BARE_PATH)  # registered before the first request, as Flask requires
    def bare() -> Response:
        return Response(document["body"], headers=document["headers"])

    response = app.test_client().get(SERVICE_DOCUMENT, headers=AUTH)
    assert response.status_code == 200, response.data
    document["body"] = response.get_data()
    document["headers"] = [(k, v) for k, v in response.headers if k.lower() != "content-length"]


def _hand_over(take: Callable[[Callable[[], Flask], dict], None]) -> None:
    """Have the CLI call `take(factory, options)` where it would call wsgi.serve (`serve --workers N`)."""
    wsgi.serve = lambda factory, **options: take(factory, options)


class _Built(Exception):
    def __init__(self, app: Flask) -> None:
        self.app = app


def app_from_cli(*serve_args: str) -> Flask:
    """The Flask app `dataverse-emulator serve --workers 1 *serve_args` would serve, without serving it."""

    def take(factory: Callable[[], Flask], _options: dict) -> None:
        raise _Built(factory())

    serve, said = wsgi.serve, io.StringIO()
    _hand_over(take)
    try:
        with contextlib.redirect_stderr(said):  # the CLI's start-up lines; shown only if it fails
            cli(["serve", "--workers", "1", "--port", "0", *serve_args], standalone_mode=False)
    except _Built as built:
        return built.app
    except Exception:
        sys.stderr.write(said.getvalue())
        raise
    finally:
        wsgi.serve = serve
    raise SystemExit("the CLI did not hand an app to emulator.wsgi.serve")


def main() -> None:
    if "--workers" not in sys.argv:
        raise SystemExit("bench/bare_route.py serves through gunicorn only: pass --workers N")
    serve = wsgi.serve

    def take(factory: Callable[[], Flask], options: dict) -> None:
        app = factory()
        add_bare_route(app)
        serve(lambda: app, **options)

    _hand_over(take)
    cli()


if __name__ == "__main__":
    main()
