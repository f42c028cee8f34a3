"""Delivery statistics from this machine's records, and the best-value order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rentnumber_tui.core.delivery import Delivery, delivery_stats, value_key

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def row(country, provider, code_after: float | None, status="completed"):
    code_at = T0 + timedelta(seconds=code_after) if code_after is not None else None
    return (country, provider, code_after is not None, status, T0, code_at)


def test_share_and_median_per_country_and_provider():
    stats = delivery_stats(
        [
            row(1, 10, 30),
            row(1, 10, 50),
            row(1, 10, 400),
            row(1, 10, None, "expired"),
            row(1, 20, None, "cancelled"),
            row(2, 10, 12),
            row(1, 10, None, "waiting"),  # still waiting: not counted yet
        ]
    )
    assert stats[(1, 10)] == Delivery(rentals=4, delivered=3, median_seconds=50.0)
    assert stats[(1, 10)].text == "75% of 4" and stats[(1, 10)].median_text == "50 s"
    assert stats[(1, 20)].text == "0% of 1" and stats[(1, 20)].median_text == "—"
    assert stats[(2, 10)].share == 1.0
    assert Delivery(3, 3, 400.0).median_text == "6.7 min"


def test_best_value_is_price_per_delivered_sms_unknowns_in_the_middle():
    good = Delivery(10, 9, 20.0)
    poor = Delivery(10, 3, 20.0)
    never = Delivery(4, 0, None)
    assert value_key(450.0, good, 0) == 500.0
    assert value_key(300.0, poor, 0) == 1000.0  # cheaper, but a third as often
    assert value_key(100.0, never, 0) == float("inf")  # never first
    assert value_key(100.0, None, 777.0) == 777.0
