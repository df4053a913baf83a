"""How `serve` serves: the port bound before anything else happens, the startup banner, the request log (text or
JSON lines), and the WSGI server itself — waitress by default (Linux, macOS and Windows), werkzeug's threaded server
for --tls (waitress has no TLS), gunicorn for --workers (emulator/wsgi.py, POSIX only). docs/decisions.md, "serve"."""
from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMATS = ("text", "json", "none")  # none: no request lines (startup lines stay, as text)
EXIT_PORT_IN_USE = 3  # `serve` could not bind its port: nothing was seeded, saved or announced
DEFAULT_THREADS = 8  # waitress request threads
BACKLOG = 1024
API_ROOT = "/api/data/v9.2/"
# URLs up to this long reach the app, which answers its own Dataverse-shaped 414 past 32 KB (64 KB in a $batch)
MAX_REQUEST_HEADER_BYTES = 1024 * 1024


class BindError(Exception):
    """The port could not be bound; the message is the one line `serve` prints."""


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, made before anything is seeded or announced: the port is ours (a clash shows
    here), while connections are still refused until `listen` once the data is ready. Raises BindError."""
    where = f"port {port} on {host}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise BindError(f"error: cannot bind {where}: the host is not an address of this machine ({e.strerror})") \
            from None
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "nt":  # Windows: SO_REUSEADDR would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise _bind_error(e, where) from None
    return sock


def listen(sock: socket.socket) -> None:
    """Starts accepting connections on a socket from `bind`. Raises BindError (two servers that bound the same
    port at the same moment: the second learns it here)."""
    try:
        sock.listen(BACKLOG)
    except OSError as e:
        host, port = sock.getsockname()[:2]
        sock.close()
        raise _bind_error(e, f"port {port} on {host}") from None


def _bind_error(e: OSError, where: str) -> BindError:
    if e.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
        return BindError(f"error: {where} is in use (try --port or EMULATOR_PORT)")
    if e.errno in (errno.EACCES, errno.EPERM):
        return BindError(f"error: cannot bind {where}: permission denied (ports below 1024 need privileges; "
                         f"try --port or EMULATOR_PORT)")
    return BindError(f"error: cannot bind {where}: {e.strerror or e}")


def url_host(host: str) -> str:
    """The host clients use in URLs: loopback for the any-address, IPv6 in brackets."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Urls:
    org: str  # what clients are configured with (the org URL of a real environment)
    api: str  # the Web API root

    @classmethod
    def of(cls, scheme: str, host: str, port: int) -> Urls:
        org = f"{scheme}://{url_host(host)}:{port}"
        return cls(org, org + API_ROOT)


def banner(urls: Urls) -> list[str]:
    """The startup banner (docs show it; keep its shape)."""
    return ["Dataverse emulator running",
            f"  Org URL:    {urls.org}",
            f"  Web API:    {urls.api}",
            f"  Workspace:  {urls.org}/"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Reporter:
    """Everything `serve` says on stderr: startup lines and one line per request, as text or JSON objects."""

    def __init__(self, log_format: str = "text", stream: TextIO | None = None) -> None:
        self.json = log_format == "json"
        self.requests = log_format != "none"
        self.stream = stream
        self.lock = threading.Lock()

    def _write(self, line: str) -> None:
        stream = self.stream or sys.stderr
        with self.lock:
            stream.write(line + "\n")
            stream.flush()

    def note(self, text: str, level: str = "info", **fields: Any) -> None:
        if self.json:
            self._write(json.dumps({"time": _now(), "level": level, "message": text, **fields}))
        else:
            self._write(text)

    def request(self, method: str, path: str, status: int | None, duration_ms: float) -> None:
        level = "info" if status is not None and status < 400 else "warning" if status and status < 500 else "error"
        if self.json:
            self._write(json.dumps({"time": _now(), "level": level, "method": method, "path": path,
                                    "status": status, "duration_ms": round(duration_ms, 2)}))
        else:
            shown = "dropped" if status is None else str(status)
            self._write(f"{_now()} {method} {path} {shown} {duration_ms:.1f} ms")

    def handler(self) -> logging.Handler:
        """A logging handler that writes the server's and the app's log records in the same format."""
        reporter = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                text = record.getMessage()
                if record.exc_info:
                    text += "\n" + logging.Formatter().formatException(record.exc_info)
                reporter.note(text, level=record.levelname.lower(), logger=record.name)

        return Handler()


def _target(environ: dict) -> str:
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        return raw
    query = environ.get("QUERY_STRING")
    return environ.get("PATH_INFO", "") + (f"?{query}" if query else "")


class RequestLog:
    """WSGI middleware: one line per request (method, path, status, duration) once its body is sent or dropped."""

    def __init__(self, app: Callable, reporter: Reporter) -> None:
        self.app = app
        self.reporter = reporter

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        start = time.perf_counter()
        status: list[int | None] = [None]

        def respond(line: str, headers: list, exc_info: Any = None):
            status[0] = int(line.split(" ", 1)[0])
            return start_response(line, headers, exc_info)

        body = self.app(environ, respond)
        return _Logged(body, lambda dropped: self.reporter.request(
            environ.get("REQUEST_METHOD", "-"), _target(environ), None if dropped else status[0],
            (time.perf_counter() - start) * 1000))


class _Logged:
    def __init__(self, body: Iterable[bytes], done: Callable[[bool], None]) -> None:
        self.body = body
        self.done = done
        self.dropped = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except ConnectionError:  # a `drop` fault rule shut the connection
            self.dropped = True
            raise

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done(self.dropped)


def configure_logging(reporter: Reporter) -> None:
    """The app's and the server's log records go through the reporter (no ANSI colours, JSON when asked)."""
    handler = reporter.handler()
    for name, level in (("emulator", logging.WARNING), ("waitress", logging.WARNING),
                        ("waitress.queue", logging.ERROR),  # "task queue depth" notes under load: not actionable
                        ("werkzeug", logging.WARNING), ("gunicorn.error", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler] if name in ("emulator", "waitress", "werkzeug") else []
        logger.setLevel(level)
        logger.propagate = name not in ("emulator", "waitress", "werkzeug")


def serve_waitress(app: Callable, sock: socket.socket, threads: int = DEFAULT_THREADS) -> None:
    """The default server: waitress, pure Python, the same on Linux, macOS and Windows."""
    from waitress import create_server

    def raw_uri(environ: dict, start_response: Callable) -> Iterable[bytes]:
        # the request target as sent, where the URL length limit reads it (werkzeug and gunicorn set RAW_URI)
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)

    server = create_server(raw_uri, sockets=[sock], threads=threads, ident="dataverse-emulator",
                           max_request_header_size=MAX_REQUEST_HEADER_BYTES,
                           # a `drop` fault's shut socket ends the request silently instead of a 500 page
                           log_socket_errors=False)
    server.channel_class = _channel_class()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _channel_class():
    """waitress's own error answers (a malformed request line, headers over the limit) in Dataverse's error
    shape instead of plain text."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class DataverseErrorTask(ErrorTask):
        def execute(self) -> None:
            error = self.request.error
            text = f"{error.reason}: {error.body}".strip().rstrip(":")
            if error.code == 431:
                text = ("The request URL or headers are longer than the server accepts (Dataverse allows URLs of up "
                        "to 32 KB).")
            body = json.dumps({"error": {"code": "", "message": text}}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", "application/json; odata.metadata=minimal"),
                                          ("Content-Length", str(len(body))), ("OData-Version", "4.0")])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class DataverseChannel(HTTPChannel):
        error_task_class = DataverseErrorTask

    return DataverseChannel


def serve_tls(app: Callable, sock: socket.socket, ssl_context: Any) -> None:
    """--tls: werkzeug's threaded server on the bound socket (waitress cannot terminate TLS itself)."""
    from werkzeug.serving import make_server

    from .webapi.limits import RequestHandler

    class Handler(RequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # RequestLog writes the request lines

    server = make_server(sock.getsockname()[0], sock.getsockname()[1], app, threaded=True,
                         request_handler=Handler, ssl_context=ssl_context, fd=sock.fileno())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def workers_supported() -> bool:
    """`--workers` runs gunicorn, which needs fork(): Linux, macOS and other POSIX systems."""
    return os.name == "posix"
