"""The per-query time limit on SQLite: a progress handler aborts a statement that runs past its deadline."""
from __future__ import annotations

import sqlite3
import threading
import time

import sqlalchemy as sa

from ..errors import QueryTimeout

PROGRESS_STEPS = 1000  # SQLite VM instructions between deadline checks: cheap, and fine-grained enough


class QueryTimeLimit:
    """The limit of each statement on one engine, per thread: the thread serving a request sets it, and work
    outside requests (seeding, snapshots at start-up) runs without one."""

    def __init__(self, engine: sa.Engine) -> None:
        self._thread = threading.local()  # timeout (s) of this thread's statements; deadline and expiry of the current
        sa.event.listen(engine, "connect", self._watch)
        sa.event.listen(engine, "before_cursor_execute", self.arm)
        sa.event.listen(engine, "handle_error", self._translate)

    def set(self, time_limit_ms: int | None) -> None:
        self._thread.timeout = time_limit_ms / 1000 if time_limit_ms else None
        self._thread.deadline = None

    def _progress(self) -> int:
        deadline = getattr(self._thread, "deadline", None)
        if deadline is not None and time.monotonic() > deadline:
            self._thread.expired = True
            return 1  # non-zero: SQLite aborts the statement with "interrupted"
        return 0

    def _watch(self, dbapi_connection, _record) -> None:
        dbapi_connection.set_progress_handler(self._progress, PROGRESS_STEPS)

    def arm(self, *_args) -> None:
        """The deadline of the statement this thread starts now (also for statements run on a DB-API cursor)."""
        timeout = getattr(self._thread, "timeout", None)
        self._thread.deadline = time.monotonic() + timeout if timeout is not None else None
        self._thread.expired = False

    def timeout(self, error: BaseException) -> QueryTimeout | None:
        """The QueryTimeout that `error` (raised by a statement of this thread) stands for, if it does."""
        if not (isinstance(error, sqlite3.OperationalError) and getattr(self._thread, "expired", False)):
            return None
        self._thread.expired = False
        timeout = getattr(self._thread, "timeout", None)
        timeout_ms = round(timeout * 1000) if timeout else 0
        return QueryTimeout(f"The query ran longer than the emulator's limit of {timeout_ms} ms and was stopped. "
                            f"Narrow the $filter, lower $top, or raise the limit with --query-timeout-ms.")

    def _translate(self, context: sa.engine.ExceptionContext) -> None:
        error = self.timeout(context.original_exception)
        if error is not None:
            raise error
