"""Fault knobs: the ways the real server (or the network in front of it) misbehaves.

Probabilistic knobs model a flaky day; the one-shot queue (`Faults.inject`) gives
fault-matrix tests a deterministic failure on exactly the next matching request(s).

Whether the request is *executed* (state changed) before the fault matters for
`POST /rent`, which is not idempotent; each kind is one or the other, on purpose:

| kind                | executed? | what the client gets                                   |
|---------------------|-----------|--------------------------------------------------------|
| `502_html`          | no        | 502, an nginx-style HTML page                          |
| `success_false_200` | no        | 200, `{"success": false, "error": ...}`                |
| `429`               | no        | 429, `Retry-After: 2` (`retry_after`), a JSON error    |
| `hang`              | no        | nothing for `hang_seconds` (real time), then a 504     |
| `401`               | no        | 401, the key refused for this request (as if revoked)  |
| `slow`              | yes       | the real answer (or the next injected fault) after     |
|                     |           | `slow_seconds` (real time)                             |
| `truncated_json`    | yes       | the real status, the JSON body cut in half             |
| `wrong_types`       | yes       | documented fields with the wrong JSON types            |
| `missing_fields`    | yes       | top level keeps `success` (and `data`, whose items     |
|                     |           | keep only their first field)                           |
| `unknown_status`    | yes       | every `status` field reads `"on_hold"`                 |
| `500`               | yes       | 500 with a JSON error (the work was done, then a crash)|
| `drop`              | yes       | headers and half a body, then the connection dies      |

`error_502_probability` behaves like `502_html`, `malformed_json_probability` like
`truncated_json`; both draw from their own RNG seeded from the sandbox seed.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field

API_PREFIX = "/api/v1"

FAULT_KINDS = frozenset(
    {
        "502_html",
        "truncated_json",
        "wrong_types",
        "missing_fields",
        "unknown_status",
        "success_false_200",
        "429",
        "500",
        "hang",
        "drop",
        "401",
        "slow",
    }
)
#: Kinds answered before the request reaches the simulated server.
PRE_EXECUTION_KINDS = frozenset({"502_html", "success_false_200", "429", "hang", "401"})


def relative_path(path: str) -> str:
    """`/api/v1/rental/5` -> `/rental/5`; paths outside the API stay as they are."""
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return path[len(API_PREFIX) :] or "/"
    return path


def path_matches(prefix: str | None, path: str) -> bool:
    """Segment-aware prefix match: `/rent` matches `/rent` but not `/rentals`.

    `prefix` may be given with or without `/api/v1`; a trailing `/` matches any
    deeper path only (`/rental/` matches `/rental/5` and `/rental/5/cancel`).
    """
    if prefix is None:
        return True
    rel, want = relative_path(path), relative_path(prefix)
    if want.endswith("/"):
        return rel.startswith(want)
    return rel == want or rel.startswith(want + "/")


@dataclass
class _Injection:
    kind: str
    path_prefix: str | None
    method: str | None
    remaining: int


@dataclass
class Faults:
    """Mutable knobs, read on every request; safe to change from any thread."""

    #: Chance that a request gets a 502 HTML page (not executed).
    error_502_probability: float = 0.0
    #: Chance that a response's JSON is truncated (executed).
    malformed_json_probability: float = 0.0
    #: Real seconds to wait before answering every request.
    latency: float = 0.0
    #: Real seconds a successful `POST /rent` waits *after* committing the rental.
    rent_response_delay: float = 0.0
    #: Refuse (429, `Retry-After: 1`) a request when `rate_limit_requests` others
    #: arrived within the last `rate_limit_window` seconds of real monotonic time, as
    #: the server measures it (at the start of the ASGI call). Every arrival counts,
    #: refused ones too. Note that a client spacing its sends exactly 1 s apart can
    #: still be refused: a first request's connection set-up delays its arrival.
    enforce_rate_limit: bool = False
    rate_limit_requests: int = 2
    rate_limit_window: float = 1.0
    #: How long (real seconds) a `hang` lasts unless the client gives up first.
    hang_seconds: float = 3600.0
    #: How long (real seconds) a `slow` request waits before it is served.
    slow_seconds: float = 1.0
    #: The `Retry-After` header value of the `429` fault (seconds, or an HTTP-date).
    retry_after: str = "2"
    seed: int = 1
    _queue: list[_Injection] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def inject(
        self,
        kind: str,
        path_prefix: str | None = None,
        count: int = 1,
        *,
        method: str | None = None,
    ) -> None:
        """The next `count` requests matching `path_prefix` (and `method`) get `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._queue.append(
                _Injection(kind, path_prefix, method.upper() if method else None, count)
            )

    def pending(self) -> list[tuple[str, str | None, int]]:
        """(kind, path_prefix, remaining) of injections not used up yet."""
        with self._lock:
            return [(i.kind, i.path_prefix, i.remaining) for i in self._queue]

    def clear(self) -> None:
        """Forget pending injections and turn every knob off."""
        with self._lock:
            self._queue.clear()
        self.error_502_probability = 0.0
        self.malformed_json_probability = 0.0
        self.latency = 0.0
        self.rent_response_delay = 0.0
        self.enforce_rate_limit = False

    def take(self, method: str, path: str) -> str | None:
        """Consume and return the first injection matching this request, if any."""
        with self._lock:
            for injection in self._queue:
                if injection.method not in (None, method) or not path_matches(
                    injection.path_prefix, path
                ):
                    continue
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._queue.remove(injection)
                return injection.kind
        return None

    def roll(self, probability: float) -> bool:
        """One draw from the faults' own RNG (never consumed when `probability` is 0)."""
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability


class RateWindow:
    """Arrival times of recent requests (every arrival is counted, refused ones too)."""

    def __init__(self) -> None:
        self._arrivals: deque[float] = deque()
        self._lock = threading.Lock()

    def arrive(self, now: float, limit: int = 2, window: float = 1.0) -> bool:
        """Record an arrival; False when `limit` others arrived within the last `window`
        seconds (so more than `limit` would be in one window)."""
        with self._lock:
            while self._arrivals and self._arrivals[0] <= now - window:
                self._arrivals.popleft()
            allowed = len(self._arrivals) < limit
            self._arrivals.append(now)
            return allowed
