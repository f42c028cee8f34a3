"""Timings every in-process test shares: polling every 50 ms and the engine's waits
(the grace period after a lost answer, heartbeats and leases, watching the store) cut
down the same way, so tests wait on conditions, not on the real seconds."""

from __future__ import annotations

from rentnumber_tui.core.poller import PollSettings

FAST_POLLING = PollSettings(rate=20.0, min_interval=0.05, slow_interval=0.2)

FAST_ENGINE: dict[str, float] = {
    "reconcile_retry": 0.1,
    "balance_settle": 0.05,
    "rent_grace": 0.3,
    "coordinate_every": 0.05,
    "lease_ttl": 0.5,
    "watch_every": 0.02,
}
