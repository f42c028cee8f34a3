"""Follows every active rental until it ends, sharing the request budget fairly.

One loop polls whichever rental is due next. Rentals still waiting for an SMS share what
the budget leaves after the slow ones, so with N of them each is polled every
max(min_interval, N / rate) seconds: the code shows within about that long of arriving,
and the whole process never exceeds the API's rate (the scheduler enforces the ceiling;
this keeps the queue short and fair). Rentals that already have a code, or a status we
do not know, are polled at the slow interval. Final statuses stop polling; an expired
countdown triggers one last poll at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from rentnumber_tui.api.errors import ApiError, NotFound, Unauthorized
from rentnumber_tui.api.models import RentalState
from rentnumber_tui.api.scheduler import Priority
from rentnumber_tui.core.rentals import TrackedRental

#: Seconds after expiry during which a rental the server still calls active is re-checked.
EXPIRY_GRACE = 60.0
#: A rental whose expiry is not known is given up after being followed this long: longer
#: than any rental lasts (the documented ones last 15 minutes).
UNKNOWN_EXPIRY_LIMIT = 1800.0
#: The most of the request budget that rentals already showing a code may use.
SLOW_SHARE = 0.1
#: Longest wait between polls of a rental whose polls keep failing.
MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class PollSettings:
    #: Requests per second polling may use in all (the scheduler's real ceiling).
    rate: float = 2.0
    min_interval: float = 1.0
    slow_interval: float = 5.0


@dataclass(slots=True)
class _Entry:
    rental: TrackedRental
    due: float
    #: When this process started following it (clock()).
    since: float = 0.0
    failures: int = 0
    in_flight: bool = False
    final_poll_done: bool = False


class Poller:
    """Polls rentals through `fetch` and reports every change through `on_change` (after
    `save` has stored it) and every failure through `on_error`."""

    def __init__(
        self,
        fetch: Callable[[int, Priority], Awaitable[RentalState]],
        save: Callable[[TrackedRental], Awaitable[None]],
        server_now: Callable[[], datetime],
        *,
        on_change: Callable[[TrackedRental, bool], None],
        on_error: Callable[[int, ApiError], None],
        on_auth_lost: Callable[[ApiError], None],
        settings: PollSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        current: Callable[[int], TrackedRental | None] | None = None,
        census: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        """`current(rental_id)`: the freshest copy of a rental (the engine's, which other
        sources update too); an answer is merged into it, not into a stale copy.
        `census()`: (waiting, slow) active rentals of the whole account, when other
        processes poll some of them: the pace is set for all, so that together they
        stay within the budget."""
        self._current = current
        self._census = census
        self._fetch = fetch
        self._save = save
        self._server_now = server_now
        self._on_change = on_change
        self._on_error = on_error
        self._on_auth_lost = on_auth_lost
        self.settings = settings or PollSettings()
        self._clock = clock
        self._entries: dict[int, _Entry] = {}
        self._wake: asyncio.Event | None = None
        self._paused = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- what is followed ----------------------------------------------------------------

    def track(self, rental: TrackedRental, *, due_in: float = 0.0) -> None:
        if not rental.followed:
            self._entries.pop(rental.rental_id, None)
            return
        entry = self._entries.get(rental.rental_id)
        if entry is None:
            now = self._clock()
            self._entries[rental.rental_id] = _Entry(rental, now + due_in, since=now)
        else:
            entry.rental = rental
        self._poke()

    def forget(self, rental_id: int) -> None:
        self._entries.pop(rental_id, None)

    def poll_soon(self, rental_id: int) -> None:
        entry = self._entries.get(rental_id)
        if entry is not None:
            entry.due = self._clock()
            self._poke()

    @property
    def followed(self) -> list[TrackedRental]:
        return [entry.rental for entry in self._entries.values()]

    @property
    def following(self) -> bool:
        """Whether any rental is followed (without building the list)."""
        return bool(self._entries)

    @property
    def followed_ids(self) -> set[int]:
        return set(self._entries)

    def busy_ids(self) -> set[int]:
        """Rentals with a poll on its way (their lease must not move mid-poll)."""
        return {rid for rid, entry in self._entries.items() if entry.in_flight}

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop polling (the key was refused) until `resume`."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        now = self._clock()
        for entry in self._entries.values():
            entry.due = now
            entry.failures = 0
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- timing --------------------------------------------------------------------------

    def interval_for(self, rental: TrackedRental) -> float:
        """Seconds between two polls of `rental`, given everything followed now.

        Rentals that already show a code (or a status we do not know) share at most
        `SLOW_SHARE` of the budget, and are polled no faster than `slow_interval` nor
        than a full round of every rental; rentals still waiting for their SMS share the
        rest equally, no faster than `min_interval`."""
        settings = self.settings
        n_slow = sum(1 for e in self._entries.values() if _is_slow(e.rental))
        n_fast = len(self._entries) - n_slow
        if self._census is not None:
            waiting, slow = self._census()
            n_fast, n_slow = max(n_fast, waiting), max(n_slow, slow)
        slow_interval = max(
            settings.slow_interval,
            (n_fast + n_slow) / settings.rate,
            n_slow / (settings.rate * SLOW_SHARE),
        )
        if _is_slow(rental):
            return slow_interval
        spare = settings.rate - (n_slow / slow_interval if n_slow else 0.0)
        return max(settings.min_interval, n_fast / spare)

    def _next_due(self, entry: _Entry, now: float, started: float | None = None) -> float:
        """When to poll `entry` next, after a poll `started` (scheduled) then and finished
        `now`. Counting from the start keeps each rental's cadence even when polls wait
        in the scheduler's queue; when polling is behind, it goes again at once (the
        scheduler still holds the ceiling). Failures back off from now."""
        interval = self.interval_for(entry.rental)
        if entry.failures:
            due = now + min(MAX_BACKOFF, interval * 2.0**entry.failures)
        else:
            due = max(now, (now if started is None else started) + interval)
        left = entry.rental.seconds_left(self._server_now())
        if left is not None and not entry.final_poll_done:
            # The moment the countdown reaches zero, look once more — once: a rental
            # long expired whose answers keep failing must not be asked every 0.25 s.
            due = min(due, now + max(left, 0.0) + 0.25)
            if left <= 0:
                entry.final_poll_done = True
        return due

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled. The wait is `asyncio.timeout`, not `asyncio.wait_for`: on
        Python 3.11 `wait_for` returns normally when the wait it guards ends in the same
        moment as it is cancelled (cpython#86296), and the poller swallowed the engine's
        stop: the stop gave up after 5 s and its tasks were destroyed pending at exit."""
        self._wake = asyncio.Event()
        try:
            while True:
                self._wake.clear()
                delay = self._launch_due()
                if delay is None:
                    await self._wake.wait()
                else:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
        finally:
            for task in list(self._tasks):
                task.cancel()

    def _launch_due(self) -> float | None:
        """Start polls that are due; return seconds until the next one (None: nothing)."""
        if self._paused:
            return None
        now = self._clock()
        next_due: float | None = None
        for entry in list(self._entries.values()):
            if entry.in_flight:
                continue
            if entry.due <= now:
                entry.in_flight = True
                task = asyncio.create_task(self._poll(entry))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif next_due is None or entry.due < next_due:
                next_due = entry.due
        return None if next_due is None else max(0.0, next_due - now)

    async def poll_once(self, rental_id: int, priority: Priority = Priority.USER) -> None:
        """Poll one rental now (a person asked to refresh it)."""
        entry = self._entries.get(rental_id)
        if entry is not None and not entry.in_flight:
            entry.in_flight = True
            await self._poll(entry, priority)

    async def _poll(self, entry: _Entry, priority: Priority = Priority.BACKGROUND) -> None:
        rental_id = entry.rental.rental_id
        started = self._clock()
        try:
            state = await self._fetch(rental_id, priority)
        except Unauthorized as error:
            entry.failures += 1
            self.pause()
            self._on_auth_lost(error)
        except NotFound as error:
            await self._give_up(entry, "The server no longer knows this rental (404).")
            self._on_error(rental_id, error)
        except ApiError as error:
            entry.failures += 1
            self._on_error(rental_id, error)
            if (why := self._past_caring(entry)) is not None:
                await self._give_up(entry, why)
        else:
            entry.failures = 0
            await self._apply(entry, state)
            if rental_id in self._entries and (why := self._past_caring(entry)) is not None:
                await self._give_up(entry, why)
        finally:
            entry.in_flight = False
            if rental_id in self._entries:
                entry.due = self._next_due(entry, self._clock(), started)
            self._poke()

    async def _apply(self, entry: _Entry, state: RentalState) -> None:
        now = self._server_now()
        fresh = self._current(entry.rental.rental_id) if self._current is not None else None
        before = fresh if fresh is not None else entry.rental
        rental = before.with_state(state, now)
        left = rental.seconds_left(now)
        expired = left is not None and left <= 0
        if expired:
            entry.final_poll_done = True
            if rental.followed and left is not None and -left > EXPIRY_GRACE:
                rental = replace(
                    rental,
                    problem=f"Expired, but the server still says “{rental.status}”; "
                    "no longer checking.",
                )
        new_code = rental.code_seen_at is not None and rental.code_seen_at != before.code_seen_at
        if rental != before:
            await self._save(rental)
        entry.rental = rental
        if not rental.followed:
            self._entries.pop(rental.rental_id, None)
        if rental != before:
            self._on_change(rental, new_code)

    def _past_caring(self, entry: _Entry) -> str | None:
        """Why a rental is no longer worth asking about although the server never said
        it ended: long expired, or its expiry unknown for longer than any rental lasts."""
        rental = entry.rental
        left = rental.seconds_left(self._server_now())
        if left is not None and -left > EXPIRY_GRACE:
            return f"Expired, but the server still says “{rental.status}”; no longer checking."
        if left is None and self._clock() - entry.since > UNKNOWN_EXPIRY_LIMIT:
            minutes = UNKNOWN_EXPIRY_LIMIT / 60
            return (
                f"Its expiry is unknown and it has been followed for {minutes:g} minutes "
                f"(status “{rental.status}”); no longer checking."
            )
        return None

    async def _give_up(self, entry: _Entry, why: str) -> None:
        rental = replace(entry.rental, problem=why)
        await self._save(rental)
        self._entries.pop(rental.rental_id, None)
        self._on_change(rental, False)


def _is_slow(rental: TrackedRental) -> bool:
    """Rentals with a code already, or a status we do not know, are polled slowly."""
    return rental.status.has_sms or not rental.status.is_known
