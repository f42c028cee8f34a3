"""ServerClock: the offset to the server's clock from 1-second `Date` headers."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest

from rentnumber_tui.api import ServerClock


class FakeTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def exchange(clock: ServerClock, local: FakeTime, skew: float, rtt: float, served_at: float):
    """One request: sent now, answered `served_at` of the way through a `rtt` round trip,
    by a server whose clock is `skew` seconds ahead; its Date header is truncated."""
    sent = local()
    server_time = sent + served_at * rtt + skew
    local.now += rtt
    assert clock.observe(formatdate(math.floor(server_time), usegmt=True), sent, local())


def test_no_sample_means_no_offset() -> None:
    local = FakeTime(1_776_000_000.0)
    clock = ServerClock(time_func=local)
    assert clock.offset == 0.0 and clock.uncertainty is None
    assert clock.now() == datetime.fromtimestamp(local.now, UTC)


@pytest.mark.parametrize("skew", [137.3, -42.75, 0.4, -3600.9])
def test_offset_converges_on_a_skewed_server(skew: float) -> None:
    rng = random.Random(7)
    local = FakeTime(1_776_000_000.0)
    clock = ServerClock(time_func=local)
    exchange(clock, local, skew, rtt=0.08, served_at=0.5)
    assert abs(clock.offset - skew) <= 1.1  # one sample: within a second or so
    for _ in range(60):
        local.now += rng.uniform(0.1, 3.0)  # requests at assorted sub-second phases
        exchange(clock, local, skew, rtt=rng.uniform(0.02, 0.2), served_at=rng.random())
    assert abs(clock.offset - skew) < 0.1
    assert clock.uncertainty is not None and clock.uncertainty < 0.1
    assert clock.samples == 61


def test_now_and_seconds_until_follow_the_server() -> None:
    local = FakeTime(1_776_000_000.0)
    clock = ServerClock(time_func=local)
    rng = random.Random(1)
    for _ in range(40):
        local.now += rng.uniform(0.1, 2.0)
        exchange(clock, local, 300.0, rtt=0.05, served_at=rng.random())
    server_now = datetime.fromtimestamp(local.now + 300.0, UTC)
    assert abs((clock.now() - server_now).total_seconds()) < 0.1
    expires = server_now + timedelta(minutes=15)
    assert clock.seconds_until(expires) == pytest.approx(900.0, abs=0.1)
    assert clock.seconds_until(expires.replace(tzinfo=None)) == pytest.approx(900.0, abs=0.1)
    assert clock.seconds_until(server_now - timedelta(seconds=5)) == pytest.approx(-5, abs=0.1)
    assert clock.now().tzinfo is UTC


def test_clock_jump_restarts_from_the_latest_sample() -> None:
    local = FakeTime(1_776_000_000.0)
    clock = ServerClock(time_func=local)
    rng = random.Random(3)
    for _ in range(30):
        local.now += rng.uniform(0.1, 2.0)
        exchange(clock, local, 20.0, rtt=0.05, served_at=rng.random())
    assert abs(clock.offset - 20.0) < 0.1
    local.now -= 3600.0  # the local clock is set back an hour: the offset is now +3620
    exchange(clock, local, 3620.0, rtt=0.05, served_at=0.5)
    assert clock.samples == 1
    assert abs(clock.offset - 3620.0) <= 1.1
    for _ in range(30):
        local.now += rng.uniform(0.1, 2.0)
        exchange(clock, local, 3620.0, rtt=0.05, served_at=rng.random())
    assert abs(clock.offset - 3620.0) < 0.1


@pytest.mark.parametrize("header", [None, "", "not a date", "Sun, 99 Foo 2026 99:99:99 GMT"])
def test_unusable_date_headers_are_ignored(header: str | None) -> None:
    clock = ServerClock(time_func=FakeTime(1_776_000_000.0))
    assert clock.observe(header, 1.0, 2.0) is False
    assert clock.samples == 0 and clock.offset == 0.0


def test_reset() -> None:
    local = FakeTime(1_776_000_000.0)
    clock = ServerClock(time_func=local)
    exchange(clock, local, 50.0, rtt=0.05, served_at=0.5)
    clock.reset()
    assert clock.offset == 0.0 and clock.samples == 0
