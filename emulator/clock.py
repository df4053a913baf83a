"""The emulator's one clock (real UTC time by default; it can be fixed (frozen) or offset, and moved), and the one
place instants are parsed from and formatted to text."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta


def parse_instant(text: str) -> datetime:
    """ISO 8601 with a zone (`Z` or offset) or naive (taken as UTC) -> aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_instant(value: datetime | date, timespec: str = "seconds", sep: str = "T") -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, the stored and wire form (a naive value is taken as UTC); `timespec` as
    datetime.isoformat's for finer forms. isoformat is several times faster than strftime on the seeding path, and
    zero-pads years before 1000, so text order stays time order."""
    if not isinstance(value, datetime):
        return f"{value.isoformat()}{sep}00:00:00Z"
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep, timespec) + "Z"


class Clock:
    """`now()` is either frozen at a fixed instant or real time shifted by an offset."""

    def __init__(self, now: datetime | None = None, frozen: bool | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._fixed: datetime | None = None
        if now is not None:
            self.set(now, frozen=True if frozen is None else frozen)

    @staticmethod
    def _real() -> datetime:
        return datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return self._real() + self._offset

    @property
    def frozen(self) -> bool:
        return self._fixed is not None

    def set(self, now: datetime, frozen: bool = True) -> None:
        now = now.astimezone(UTC)
        with self._lock:
            if frozen:
                self._fixed, self._offset = now, timedelta(0)
            else:
                self._fixed, self._offset = None, now - self._real()

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            if self._fixed is not None:
                self._fixed += delta
            else:
                self._offset += delta

    def reset(self) -> None:
        with self._lock:
            self._fixed, self._offset = None, timedelta(0)

    def state(self) -> tuple[datetime | None, timedelta]:
        """(the frozen instant or None, the offset from real time): all another process needs to keep this clock."""
        with self._lock:
            return self._fixed, self._offset

    def load(self, fixed: datetime | None, offset: timedelta) -> None:
        """This clock as `state()` described another one."""
        with self._lock:
            self._fixed, self._offset = fixed, (timedelta(0) if fixed is not None else offset)
