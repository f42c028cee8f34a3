"""The server's clock, estimated from HTTP `Date` headers (spec, clarification 3).

Countdowns to `expires_at` must be right even on a machine whose clock is wrong, so
we estimate `offset = server time - local time`. A `Date` header has one-second
resolution: if it says D, the server's clock read some time in [D, D+1) while it
produced the answer, which happened between our local send time and receive time. So
each response bounds the offset to [D - t_recv, D + 1 - t_send]. Intersecting these
intervals over many responses narrows the estimate. If a new interval does not overlap
the current one, a clock jumped (ours or theirs): start again from that sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["ServerClock"]


class ServerClock:
    """Tracks the offset between the local wall clock and the server's."""

    def __init__(self, *, time_func: Callable[[], float] = time.time) -> None:
        self._time = time_func
        self._low: float | None = None
        self._high: float | None = None
        self.samples = 0

    def local_time(self) -> float:
        """The local wall clock (the one `observe` expects send/receive times in)."""
        return self._time()

    def observe(self, date_header: str | None, sent: float, received: float) -> bool:
        """Take one response into account; returns False if the header is unusable."""
        server = _parse_http_date(date_header)
        if server is None or received < sent:
            return False
        low, high = server - received, server + 1.0 - sent
        if self._low is None or self._high is None:
            self._low, self._high = low, high
        else:
            new_low, new_high = max(self._low, low), min(self._high, high)
            if new_low > new_high:  # inconsistent: a clock jumped; trust the latest
                self._low, self._high = low, high
                self.samples = 0
            else:
                self._low, self._high = new_low, new_high
        self.samples += 1
        return True

    @property
    def offset(self) -> float:
        """Seconds to add to local time to get server time (0.0 before any sample)."""
        if self._low is None or self._high is None:
            return 0.0
        return (self._low + self._high) / 2

    @property
    def uncertainty(self) -> float | None:
        """Half the width of the offset interval, or None before any sample."""
        if self._low is None or self._high is None:
            return None
        return (self._high - self._low) / 2

    def now(self) -> datetime:
        """The server's current time, as an aware UTC datetime."""
        return datetime.fromtimestamp(self._time() + self.offset, UTC)

    def seconds_until(self, moment: datetime) -> float:
        """Seconds from the server's now until `moment` (negative once it has passed).
        A naive `moment` is taken as UTC, like the API's zone-less timestamps."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() - (self._time() + self.offset)

    def reset(self) -> None:
        """Forget every sample (e.g. after switching to another server)."""
        self._low = self._high = None
        self.samples = 0

    def __repr__(self) -> str:
        return f"ServerClock(offset={self.offset:+.3f}s, samples={self.samples})"


def _parse_http_date(value: str | None) -> float | None:
    """An HTTP-date as a POSIX timestamp, or None if absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None
