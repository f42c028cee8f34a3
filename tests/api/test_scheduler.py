"""The request scheduler: the rate ceiling under many concurrent callers, USER before
BACKGROUND, FIFO within a priority, pauses, cancellation, and surviving event loops.

Windows here are short and real (the scheduler sleeps on asyncio timers); each test
asserts on what the scheduler itself guarantees, not on how long things took."""

from __future__ import annotations

import asyncio
import time

import pytest

from rentnumber_tui.api import Priority, RentNumberClient, RequestScheduler, default_scheduler


async def wait_until(condition, *, limit: int = 10_000) -> None:
    """Let other tasks run until `condition()` holds (a bounded number of loop turns)."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


def max_in_any_window(starts: list[float], per: float) -> int:
    starts = sorted(starts)
    return max(sum(1 for t in starts[i:] if t < start + per) for i, start in enumerate(starts))


class CountingClock:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return time.monotonic()


async def test_rate_ceiling_with_many_concurrent_callers() -> None:
    clock = CountingClock()
    per = 0.2
    scheduler = RequestScheduler(max_requests=2, per=per, clock=clock, margin=0.02)
    starts: list[float] = []

    async def request(priority: Priority) -> None:
        async with scheduler.slot(priority):
            starts.append(time.monotonic())

    await asyncio.gather(*(request(Priority(i % 2)) for i in range(10)))
    assert len(starts) == 10
    assert max_in_any_window(starts, per) == 2
    # Exact timers, not polling: a handful of clock reads per request.
    assert clock.calls < 10 * 8


async def test_first_requests_go_immediately_and_are_counted() -> None:
    scheduler = RequestScheduler(max_requests=2, per=10.0)
    assert scheduler.in_window() == 0
    async with scheduler.slot():
        pass
    async with scheduler.slot(Priority.BACKGROUND):
        pass
    assert scheduler.in_window() == 2
    third = asyncio.create_task(_enter(scheduler, Priority.USER))
    await wait_until(lambda: scheduler.waiting() == 1)
    assert scheduler.waiting(Priority.USER) == 1 and scheduler.waiting(Priority.BACKGROUND) == 0
    assert not third.done()
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    assert scheduler.waiting() == 0


async def _enter(
    scheduler: RequestScheduler, priority: Priority, log: list | None = None, tag: object = None
) -> None:
    async with scheduler.slot(priority):
        if log is not None:
            log.append(tag)


async def test_user_request_jumps_the_background_queue() -> None:
    scheduler = RequestScheduler(max_requests=1, per=0.05, margin=0.01)
    order: list[str] = []
    async with scheduler.slot():  # take the only slot of the window
        pass
    background = [
        asyncio.create_task(_enter(scheduler, Priority.BACKGROUND, order, f"bg{i}"))
        for i in range(5)
    ]
    await wait_until(lambda: scheduler.waiting(Priority.BACKGROUND) == 5)
    user = asyncio.create_task(_enter(scheduler, Priority.USER, order, "user"))
    await wait_until(lambda: scheduler.waiting(Priority.USER) == 1)
    await asyncio.gather(user, *background)
    assert order == ["user", "bg0", "bg1", "bg2", "bg3", "bg4"]


async def test_fifo_within_a_priority() -> None:
    scheduler = RequestScheduler(max_requests=1, per=0.02, margin=0.01)
    order: list[int] = []
    async with scheduler.slot():
        pass
    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(_enter(scheduler, Priority.USER, order, i)))
        await wait_until(lambda n=i + 1: scheduler.waiting() == n)
    await asyncio.gather(*tasks)
    assert order == list(range(6))


async def test_pause_until_holds_everyone() -> None:
    scheduler = RequestScheduler(max_requests=100, per=1.0)
    deadline = scheduler.clock() + 0.1
    scheduler.pause_until(deadline)
    scheduler.pause_until(deadline - 0.05)  # an earlier deadline never shortens a pause
    assert 0 < scheduler.paused_for() <= 0.1
    granted: list[float] = []

    async def request(priority: Priority) -> None:
        async with scheduler.slot(priority):
            granted.append(scheduler.clock())

    await asyncio.gather(request(Priority.USER), request(Priority.BACKGROUND))
    assert len(granted) == 2 and min(granted) >= deadline
    assert scheduler.paused_for() == 0.0


async def test_pause_set_while_waiting_is_respected() -> None:
    scheduler = RequestScheduler(max_requests=1, per=0.05, margin=0.01)
    async with scheduler.slot():
        pass
    granted: list[float] = []

    async def request() -> None:
        async with scheduler.slot():
            granted.append(scheduler.clock())

    task = asyncio.create_task(request())
    await wait_until(lambda: scheduler.waiting() == 1)
    deadline = scheduler.clock() + 0.15
    scheduler.pause_until(deadline)
    await task
    assert granted[0] >= deadline


async def test_cancelled_head_does_not_block_the_queue() -> None:
    scheduler = RequestScheduler(max_requests=1, per=0.05, margin=0.01)
    order: list[str] = []
    async with scheduler.slot():
        pass
    head = asyncio.create_task(_enter(scheduler, Priority.USER, order, "head"))
    await wait_until(lambda: scheduler.waiting() == 1)
    tail = asyncio.create_task(_enter(scheduler, Priority.BACKGROUND, order, "tail"))
    await wait_until(lambda: scheduler.waiting() == 2)
    head.cancel()
    await tail
    assert order == ["tail"]
    assert scheduler.waiting() == 0


async def test_held_ticket_counts_from_when_it_was_sent() -> None:
    """A request that is still connecting counts as starting now; the next one waits a
    full window after it actually went out, not after it was granted."""
    scheduler = RequestScheduler(max_requests=1, per=0.05, margin=0.01)
    granted: list[float] = []

    async def next_request() -> None:
        async with scheduler.slot():
            granted.append(scheduler.clock())

    async with scheduler.slot() as ticket:
        ticket.hold()
        follower = asyncio.create_task(next_request())
        await wait_until(lambda: scheduler.waiting() == 1)
        await asyncio.sleep(0.15)  # a slow connect: well past the granted window
        assert scheduler.in_window() == 1 and not follower.done()
        ticket.sent()
        sent_at = scheduler.clock()
    await follower
    assert granted[0] >= sent_at + 0.05


def test_ticket_without_hold_counts_from_the_grant() -> None:
    now = [100.0]
    scheduler = RequestScheduler(max_requests=2, per=1.0, clock=lambda: now[0])

    async def use() -> None:
        async with scheduler.slot() as ticket:
            now[0] += 5.0  # a long request
            ticket.sent()  # no effect without hold()

    asyncio.run(use())
    assert scheduler.in_window() == 0  # counted at 100.0, now is 105.0


def test_held_ticket_never_sent_counts_until_the_slot_ends() -> None:
    now = [100.0]
    scheduler = RequestScheduler(max_requests=2, per=1.0, clock=lambda: now[0])

    async def use() -> None:
        async with scheduler.slot() as ticket:
            ticket.hold()
            now[0] += 5.0
            assert scheduler.in_window() == 1
        now[0] += 0.5
        assert scheduler.in_window() == 1  # ended at 105.0: counted from then
        now[0] += 0.6
        assert scheduler.in_window() == 0

    asyncio.run(use())


def test_one_scheduler_survives_several_event_loops() -> None:
    scheduler = RequestScheduler(max_requests=1, per=0.02, margin=0.01)

    async def burst() -> int:
        order: list[int] = []
        await asyncio.gather(*(_enter(scheduler, Priority.USER, order, i) for i in range(3)))
        return len(order)

    assert asyncio.run(burst()) == 3
    assert asyncio.run(burst()) == 3


def test_waiters_of_a_dead_loop_are_forgotten() -> None:
    scheduler = RequestScheduler(max_requests=1, per=60.0)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_enter(scheduler, Priority.USER))
    stuck = loop.create_task(_enter(scheduler, Priority.USER))
    loop.run_until_complete(asyncio.sleep(0))
    assert scheduler.waiting() == 1
    loop.set_exception_handler(lambda loop, context: None)  # quiet "Task was destroyed"
    loop.close()  # closed without cancelling `stuck`
    assert scheduler.waiting() == 0
    del stuck


def test_default_scheduler_is_process_wide() -> None:
    assert default_scheduler() is default_scheduler()
    assert default_scheduler().max_requests == 2 and default_scheduler().per == 1.0
    assert RentNumberClient().scheduler is default_scheduler()
    mine = RequestScheduler()
    assert RentNumberClient(scheduler=mine).scheduler is mine


@pytest.mark.parametrize(("max_requests", "per"), [(0, 1.0), (2, 0.0), (2, -1.0)])
def test_invalid_configuration(max_requests: int, per: float) -> None:
    with pytest.raises(ValueError):
        RequestScheduler(max_requests, per)


async def test_background_keeps_one_grant_in_four_through_a_user_burst() -> None:
    """Polling is never starved: twenty rents in a row still let the polls through."""
    from rentnumber_tui.api.scheduler import BACKGROUND_SHARE

    # A window long enough that every request below is queued before the next grant.
    scheduler = RequestScheduler(max_requests=1, per=0.2, margin=0.01)
    order: list[str] = []
    async with scheduler.slot():  # take the only slot of the window
        pass
    background = [
        asyncio.create_task(_enter(scheduler, Priority.BACKGROUND, order, f"bg{i}"))
        for i in range(2)
    ]
    await wait_until(lambda: scheduler.waiting(Priority.BACKGROUND) == 2)
    users = [
        asyncio.create_task(_enter(scheduler, Priority.USER, order, f"u{i}")) for i in range(8)
    ]
    await wait_until(lambda: scheduler.waiting(Priority.USER) == 8)
    assert order == []
    await asyncio.gather(*users, *background)
    assert BACKGROUND_SHARE == 4
    # Three people's requests, then a poll; FIFO within each kind.
    assert order[:8] == ["u0", "u1", "u2", "bg0", "u3", "u4", "u5", "bg1"]
