"""`serve --workers N`: the Flask app on gunicorn (POSIX only: Linux, macOS), through gunicorn's application API.
Imported only on that path: the default server (emulator/serving.py, waitress) runs on Windows too."""
from __future__ import annotations

import socket
from collections.abc import Callable

from gunicorn.app.base import BaseApplication

from . import server

WORKER_CLASS = "sync"  # one request at a time per process: fastest for short CPU-bound requests (docs/decisions.md)
TIMEOUT = 300  # seconds a worker may spend on one request (a reset or seed of 1M rows) before gunicorn restarts it


class EmulatorApplication(BaseApplication):
    """gunicorn with the options set here (no config file, no command line of its own) and an app factory.

    The factory runs once, in the master, before the workers fork (preload): seeding and the reset baseline happen
    once, and every worker starts from the same app. After the fork each worker drops the database connections it
    inherited, so no SQLite or PostgreSQL connection is ever shared by two processes."""

    def __init__(self, factory: Callable, options: dict, middleware: Callable | None = None) -> None:
        self.factory = factory
        self.options = options
        self.middleware = middleware
        self.flask = None  # the Flask app (post_fork reaches the emulator through it)
        self.application = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        if self.application is None:
            self.flask = self.factory()
            self.application = self.middleware(self.flask) if self.middleware else self.flask
        return self.application


def serve(factory: Callable, *, host: str, port: int, workers: int, certfile: str | None = None,
          keyfile: str | None = None, sock: socket.socket | None = None, middleware: Callable | None = None) -> None:
    """Serve the app `factory()` returns with `workers` processes on host:port (or on the already bound `sock`)
    until interrupted; `middleware(app)` wraps it (the request log)."""

    def post_fork(_arbiter, _worker) -> None:
        application.load()
        server.current(application.flask).db.dispose(close=False)  # the parent's pooled connections stay its own

    bind = f"fd://{sock.fileno()}" if sock is not None else f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {"bind": bind, "workers": workers,
               "worker_class": WORKER_CLASS, "preload_app": True, "timeout": TIMEOUT, "post_fork": post_fork,
               "accesslog": None, "errorlog": "-", "loglevel": "warning",
               # gunicorn's own 4 KB request-line cap would refuse URLs Dataverse accepts (32 KB); the app's limits
               # module answers over-long URLs in Dataverse's shape instead
               "limit_request_line": 0}
    if certfile:
        options.update(certfile=certfile, keyfile=keyfile)
    application = EmulatorApplication(factory, options, middleware)
    application.run()
