"""How well each provider delivers, from this machine's own records: for a service, per
country × provider, how many rentals, the share that received an SMS, and the median
seconds from the rental's start to its code.

Only rentals whose outcome is known count (a code came, or the rental ended); one still
waiting says nothing yet. The store remembers beyond the API's last 100.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Delivery", "DeliveryRow", "delivery_stats", "value_key"]

#: (country id, provider id, a code was seen, status, created at, code first seen at)
DeliveryRow = tuple[int, int, bool, str, datetime | None, datetime | None]

_ENDED = frozenset({"completed", "cancelled", "expired", "refunded", "received"})


@dataclass(frozen=True, slots=True)
class Delivery:
    rentals: int
    delivered: int
    median_seconds: float | None

    @property
    def share(self) -> float:
        return self.delivered / self.rentals if self.rentals else 0.0

    @property
    def text(self) -> str:
        """ "92% of 13" """
        return f"{round(self.share * 100)}% of {self.rentals}"

    @property
    def median_text(self) -> str:
        seconds = self.median_seconds
        if seconds is None:
            return "—"
        if seconds < 100:
            return f"{seconds:.0f} s"
        return f"{seconds / 60:.1f} min"


def delivery_stats(rows: Iterable[DeliveryRow]) -> dict[tuple[int, int], Delivery]:
    counts: dict[tuple[int, int], list[int]] = {}
    waits: dict[tuple[int, int], list[float]] = {}
    for country_id, provider_id, had_code, status, created, code_at in rows:
        if not had_code and status not in _ENDED:
            continue  # still waiting: no outcome yet
        key = (country_id, provider_id)
        count = counts.setdefault(key, [0, 0])
        count[0] += 1
        if had_code or status == "received":
            count[1] += 1
            if created is not None and code_at is not None and code_at >= created:
                waits.setdefault(key, []).append((code_at - created).total_seconds())
    return {
        key: Delivery(total, got, statistics.median(waits[key]) if key in waits else None)
        for key, (total, got) in counts.items()
    }


def value_key(price: float, delivery: Delivery | None, unknown: float) -> float:
    """ "Best value": the price per delivered SMS (price ÷ share); a provider that never
    delivered comes last, one with no record at `unknown` (the middle of the known)."""
    if delivery is None:
        return unknown
    if delivery.delivered == 0:
        return float("inf")
    return price / delivery.share
