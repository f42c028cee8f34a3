"""The poller alone, with a fake fetch: fairness, slow rentals, final states, expiry,
errors and back-off."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rentnumber_tui.api.errors import NotFound, ServerError, Unauthorized
from rentnumber_tui.api.models import RentalState, RentalStatus
from rentnumber_tui.api.scheduler import Priority
from rentnumber_tui.core.poller import Poller, PollSettings
from rentnumber_tui.core.rentals import TrackedRental
from tests.core.waiting import wait_until

NOW = datetime(2026, 4, 12, 14, 0, tzinfo=UTC)


def rental(rental_id: int, status: str = "waiting", minutes_left: float = 15) -> TrackedRental:
    return TrackedRental(
        rental_id=rental_id,
        phone=f"+23480000000{rental_id}",
        status=RentalStatus(status),
        cost=Decimal("450.00"),
        expires_at=NOW + timedelta(minutes=minutes_left),
    )


def state(rental_id: int, status: str = "waiting", code: str | None = None) -> RentalState:
    return RentalState(
        rental_id=rental_id,
        phone=f"+23480000000{rental_id}",
        status=RentalStatus(status),
        code=code,
        sms=f"Your code is {code}" if code else None,
        cost=Decimal("450.00"),
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
    )


class FakeServer:
    def __init__(self) -> None:
        self.answers: dict[int, object] = {}
        self.calls: list[tuple[int, Priority]] = []

    async def fetch(self, rental_id: int, priority: Priority) -> RentalState:
        self.calls.append((rental_id, priority))
        answer = self.answers.get(rental_id, state(rental_id))
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    def count(self, rental_id: int) -> int:
        return sum(1 for call in self.calls if call[0] == rental_id)


def make_poller(server: FakeServer, settings: PollSettings | None = None, now=lambda: NOW):
    changes: list[tuple[TrackedRental, bool]] = []
    errors: list[tuple[int, str]] = []
    auth: list[str] = []
    saved: list[TrackedRental] = []

    async def save(r: TrackedRental) -> None:
        saved.append(r)

    poller = Poller(
        server.fetch,
        save,
        now,
        on_change=lambda r, new: changes.append((r, new)),
        on_error=lambda rid, error: errors.append((rid, error.message)),
        on_auth_lost=lambda error: auth.append(error.message),
        settings=settings or PollSettings(rate=2.0, min_interval=1.0, slow_interval=5.0),
    )
    return poller, changes, errors, auth, saved


@contextlib.asynccontextmanager
async def running(poller: Poller):
    task = asyncio.create_task(poller.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_budget_is_shared_fairly_between_waiting_rentals():
    poller, *_ = make_poller(FakeServer())
    for n in range(1, 21):
        poller.track(rental(n))
    # 20 rentals at 2 requests per second: each is polled every 10 s.
    assert poller.interval_for(rental(1)) == 10.0
    for n in range(2, 21):
        poller.forget(n)
    assert poller.interval_for(rental(1)) == 1.0  # never faster than min_interval


def test_rentals_with_a_code_or_unknown_status_are_polled_slowly():
    poller, *_ = make_poller(FakeServer())
    poller.track(rental(1, "received"))
    assert poller.interval_for(rental(1, "received")) == 5.0  # alone: the slow interval
    poller.track(rental(2, "on_hold"))
    poller.track(rental(3))
    # Two slow rentals may use a tenth of 2 requests/s between them: each every 10 s.
    assert poller.interval_for(rental(1, "received")) == 10.0
    assert poller.interval_for(rental(2, "on_hold")) == 10.0
    # The waiting one gets the rest, but is never polled faster than min_interval.
    assert poller.interval_for(rental(3)) == 1.0


def test_slow_rentals_never_poll_faster_than_a_full_round():
    poller, *_ = make_poller(FakeServer())
    poller.track(rental(1, "received"))
    for n in range(2, 21):
        poller.track(rental(n))
    # 20 rentals at 2/s: a round takes 10 s; the one with a code waits a round too.
    assert poller.interval_for(rental(1, "received")) == 10.0
    assert poller.interval_for(rental(2)) == 19 / (2 - 1 / 10)


def test_final_rentals_are_not_followed():
    poller, *_ = make_poller(FakeServer())
    poller.track(rental(1, "completed"))
    assert poller.followed == []


async def test_code_is_saved_then_reported_and_polling_continues_slowly():
    server = FakeServer()
    settings = PollSettings(rate=100, min_interval=0.01, slow_interval=0.05)
    poller, changes, _, _, saved = make_poller(server, settings)
    poller.track(rental(1))
    server.answers[1] = state(1, "received", code="123456")
    async with running(poller):
        await wait_until(lambda: changes, what="a change")
        first = server.count(1)
        await wait_until(lambda: server.count(1) > first, what="another poll")
    changed, new_code = changes[0]
    assert new_code and changed.code == "123456"
    assert saved[0] == changed
    assert len([c for c in changes if c[1]]) == 1  # the same code is announced once


async def test_final_status_stops_polling():
    server = FakeServer()
    poller, changes, *_ = make_poller(server, PollSettings(rate=100, min_interval=0.01))
    poller.track(rental(1))
    server.answers[1] = state(1, "refunded")
    async with running(poller):
        await wait_until(lambda: changes, what="the final status")
        polls = server.count(1)
        poller.track(rental(2))  # keep the loop busy with another rental
        await wait_until(lambda: server.count(2) >= 3, what="other polls")
    assert server.count(1) == polls
    assert poller.followed and poller.followed[0].rental_id == 2


async def test_expired_countdown_triggers_an_immediate_poll():
    server = FakeServer()
    clock_now = [NOW]
    poller, *_ = make_poller(
        server, PollSettings(rate=2, min_interval=30, slow_interval=60), now=lambda: clock_now[0]
    )
    poller.track(rental(1, minutes_left=0.001))  # expires in 0.06 s; next poll would be 30 s
    async with running(poller):
        await wait_until(lambda: server.count(1) >= 1, what="first poll")
        clock_now[0] = NOW + timedelta(minutes=1)
        server.answers[1] = state(1, "expired")
        poller.poll_soon(1)
        await wait_until(lambda: not poller.followed, timeout=2, what="expiry poll")


async def test_not_found_gives_up_with_a_reason():
    server = FakeServer()
    server.answers[1] = NotFound("Rental not found", status_code=404)
    poller, changes, errors, *_ = make_poller(server, PollSettings(rate=100, min_interval=0.01))
    poller.track(rental(1))
    async with running(poller):
        await wait_until(lambda: changes, what="give up")
    assert "no longer knows" in (changes[0][0].problem or "")
    assert poller.followed == []
    assert errors and errors[0][0] == 1


async def test_unauthorized_pauses_everything_until_resumed():
    server = FakeServer()
    server.answers[1] = Unauthorized("Unauthorized", status_code=401)
    poller, _, _, auth, _ = make_poller(server, PollSettings(rate=100, min_interval=0.01))
    poller.track(rental(1))
    poller.track(rental(2))
    async with running(poller):
        await wait_until(lambda: auth, what="auth lost")
        assert poller.paused
        calls = len(server.calls)
        await asyncio.sleep(0.1)  # a pause must hold: nothing is sent meanwhile
        assert len(server.calls) <= calls + 1  # at most the poll already in flight
        server.answers[1] = state(1)
        poller.resume()
        await wait_until(lambda: server.count(1) >= 2, what="polling again")


async def test_failures_back_off_and_recover():
    server = FakeServer()
    server.answers[1] = ServerError("boom", status_code=500)
    poller, _, errors, *_ = make_poller(server, PollSettings(rate=100, min_interval=0.01))
    poller.track(rental(1))
    async with running(poller):
        await wait_until(lambda: len(errors) >= 3, what="failures")
    # Intervals double: 0.02, 0.04, 0.08 … the poller is not hammering a failing server.
    entry = poller._entries[1]
    assert entry.failures >= 3
    assert poller._next_due(entry, 0.0) >= 0.01 * 2**3


async def test_a_long_expired_rental_whose_answers_fail_is_not_asked_every_moment() -> None:
    """The hostile server's `on_hold` rental past its expiry, every answer unreadable:
    111 of 114 requests in a minute went to it. Now it is asked once and given up."""
    from rentnumber_tui.api.errors import InvalidResponse

    server = FakeServer()
    server.answers[1] = InvalidResponse("unreadable")
    fast = PollSettings(rate=50.0, min_interval=0.02, slow_interval=0.05)
    poller, changes, _errors, _, _ = make_poller(server, fast)
    poller.track(rental(1, "on_hold", minutes_left=-5))
    async with running(poller):
        await wait_until(lambda: not poller.followed, what="given up")
        await asyncio.sleep(0.3)  # the claim is about what does NOT happen in this time
    assert server.count(1) == 1
    assert "no longer checking" in (changes[-1][0].problem or "")


async def test_a_rental_whose_expiry_is_never_known_is_given_up_after_the_limit() -> None:
    from rentnumber_tui.core import poller as poller_module

    server = FakeServer()
    now = [1000.0]
    unknown = TrackedRental(1, "+1", RentalStatus("on_hold"), Decimal("1"), expires_at=None)
    # Found on the account (no expiry there), and every answer about it unreadable.
    from rentnumber_tui.api.errors import InvalidResponse

    server.answers[1] = InvalidResponse("no timestamps")
    changes: list[tuple[TrackedRental, bool]] = []

    async def save(_: TrackedRental) -> None:
        return None

    poller = Poller(
        server.fetch,
        save,
        lambda: NOW,
        on_change=lambda r, new: changes.append((r, new)),
        on_error=lambda rid, error: None,
        on_auth_lost=lambda error: None,
        settings=PollSettings(rate=50.0, min_interval=0.02, slow_interval=0.05),
        clock=lambda: now[0],
        current=lambda rid: unknown,  # the engine's copy never learns an expiry
    )
    poller.track(unknown)
    entry = poller._entries[1]
    await poller._poll(entry)
    assert poller.followed  # still within the limit
    now[0] += poller_module.UNKNOWN_EXPIRY_LIMIT + 1
    await poller._poll(entry)
    assert not poller.followed
    assert "expiry is unknown" in (changes[-1][0].problem or "")


def test_an_answer_without_dates_keeps_the_dates_known():
    """A `GET /rental` answer that leaves its dates out (issue 11) takes the status and
    code, and the expiry the rent answer gave stays: the countdown and the give-up
    rule still have it."""
    known = rental(1, minutes_left=5)
    merged = known.with_state(
        replace(state(1, "on_hold", code="4242"), created_at=None, expires_at=None), NOW
    )
    assert merged.status == "on_hold" and merged.code == "4242"
    assert merged.expires_at == known.expires_at
    assert merged.seconds_left(NOW) == 300


async def test_a_cancel_that_comes_as_the_poller_wakes_still_ends_it() -> None:
    """The engine's stop cancels the poller: on Python 3.11 `asyncio.wait_for` returned
    normally when the wait it guarded finished in the same moment (cpython#86296),
    so the poller swallowed the cancel and went on waiting. The stop gave up after
    5 s and left it pending, destroyed noisily at exit. Here the wake and the cancel
    come in the same step, every time."""
    server = FakeServer()
    poller, *_ = make_poller(server)
    poller.track(rental(1), due_in=3600)  # not due: the poller waits with a timeout
    task = asyncio.create_task(poller.run())
    for _ in range(3):  # let it reach its wait (no time passes: each step is ready)
        await asyncio.sleep(0)
    assert not task.done()
    poller.track(rental(2), due_in=3600)  # wakes it...
    task.cancel()  # ...and the engine stops, before it has run again
    await wait_until(task.done, what="the poller to end")
    assert task.cancelled()
    assert server.calls == []
