"""Clocks for the sandbox: the simulated server time comes from one injectable object.

Every time-dependent rule (SMS arrival, expiry, the `Date` header) reads `clock.now()`,
so tests move time forward with a `ManualClock` instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything with `now()` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return dt.astimezone(UTC)


class SystemClock:
    """The real wall clock, in UTC (demo mode and `rentnumber-tui sandbox`)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; safe to move from another thread."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _as_utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds` (negative moves back) and return the new time."""
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now

    def set(self, dt: datetime) -> None:
        """Jump to `dt` (aware; converted to UTC)."""
        new = _as_utc(dt)
        with self._lock:
            self._now = new

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"
