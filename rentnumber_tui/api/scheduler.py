"""The request scheduler: the 2-requests-per-second ceiling and priorities (spec,
clarification 7), for every request of this process and, through a shared ledger, of
every process of this program on the machine.

Every request asks for a *slot* before it is sent. A slot is granted when sending now
keeps at most `max_requests` request starts inside any `per`-second window; people
(USER) are served before background polling (BACKGROUND), first come first served
within a priority. A 429's `Retry-After` pauses everyone (`pause_until`).

Two levels. The scheduler keeps this process's queue (asyncio events, priorities,
FIFO); only the head of that queue asks the *ledger* whether it may start now, and if
not, how long until it might. The ledger holds what the decision needs: recent starts,
the pause, and (when several processes share it) the head waiter of every process.
`LocalLedger` (the default) keeps them in memory for this scheduler alone;
`shared_budget.FileLedger` keeps them in a locked file every process reads, so two
TUIs, a CLI and a script together stay under the ceiling and a person's request in any
of them goes ahead of background polling in all of them.

A request "starts" when it is granted its slot. Over a real socket the moment that
matters is when the request leaves this machine, which can be much later for a request
that first has to open a connection (TCP, TLS) than for one on a warm connection; the
caller can therefore `hold()` its ticket (the request counts as starting *now* for as
long as it is being connected) and mark it `sent()` when its headers went out. Without
that, a slow first connection would let the server see three requests in one second.

Nothing here busy-waits: the head of the queue sleeps for the delay its ledger gives
(the exact moment its slot opens, or a short re-check while another process is ahead)
or until something changes here (a more urgent request arrives, a pause is set).
asyncio primitives are created per wait, never at construction, so one scheduler
outlives the event loops that apps and tests create.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple, Protocol

__all__ = [
    "Head",
    "Ledger",
    "LocalLedger",
    "Priority",
    "RequestScheduler",
    "Ticket",
    "default_scheduler",
]

#: Extra seconds added to the window, so that timer jitter and the varying time a
#: request takes to reach the server do not make the server see a third request inside
#: one of *its* one-second windows. A request counts from when its headers are sent
#: (see `Ticket.sent`); 50 ms then covers the arrival jitter seen against a loopback
#: server on a loaded machine (18 of 18 parallel runs of the server-side rate test
#: passed), while keeping polling near the full 2 per second (1.9).
SAFETY_MARGIN = 0.05


#: Whenever a BACKGROUND request waits, at least one grant in this many goes to one
#: (the oldest): polling for SMS keeps a share of the budget through a burst of rents.
BACKGROUND_SHARE = 4


class Priority(IntEnum):
    """Lower value is served first."""

    USER = 0
    BACKGROUND = 1


class Head(NamedTuple):
    """What a ledger needs to know of a process's head waiter to order it against the
    heads of other processes: its priority, then how long it has waited."""

    priority: int
    since: float


class Ledger(Protocol):
    """Decides whether the head of a scheduler's queue may start now, and records starts.

    `owner` names one scheduler (unique per process and scheduler); `ticket` names one
    granted request of that owner. Times are the scheduler's clock, passed in as `now`:
    every user of one ledger must share that clock (`time.monotonic` across processes).
    `limit` and `window` are the caller's ceiling (`max_requests`, `per` + margin).
    """

    def try_start(
        self,
        owner: str,
        ticket: int,
        head: Head,
        now: float,
        limit: int,
        window: float,
        then: Head | None,
    ) -> float:
        """Record `ticket` as started now and return 0.0, or (without recording a start)
        return the seconds to wait before asking again. `then` is the owner's next head
        once this one starts, so a shared ledger never sees the owner without a waiter
        in between."""
        ...

    def hold(self, owner: str, ticket: int) -> None:
        """Count `ticket`'s start as *now* until `sent` (see `Ticket.hold`)."""
        ...

    def sent(self, owner: str, ticket: int, now: float) -> None:
        """A held `ticket` has left at `now` (never earlier than its grant)."""
        ...

    def withdraw(self, owner: str) -> None:
        """`owner` has no head waiter any more (its head was cancelled)."""
        ...

    def pause_until(self, deadline: float, now: float) -> bool:
        """Hold every start until `deadline` (asked for at `now`); True when this
        extended the pause."""
        ...

    def paused_until(self, now: float) -> float:
        """The deadline of the pause in force (in the past, or -inf, when none)."""
        ...

    def in_window(self, now: float, span: float) -> int:
        """How many requests started within the last `span` seconds."""
        ...


class _Start:
    """When one request started; `pending` while it is still being connected."""

    __slots__ = ("key", "pending", "time")

    def __init__(self, time: float, key: tuple[str, int]) -> None:
        self.time = time
        self.key = key
        self.pending = False

    def effective(self, now: float) -> float:
        return now if self.pending else self.time


class LocalLedger:
    """The ledger of one scheduler, in memory: the decision is exact (the delay is the
    moment the slot opens or the pause ends) and costs no system call.

    It knows nothing of other schedulers' waiters, so sharing one between schedulers
    keeps the ceiling but not USER-before-BACKGROUND across them: use a
    `shared_budget.FileLedger` for that (it works within one process too)."""

    def __init__(self) -> None:
        self._starts: deque[_Start] = deque()
        self._by_key: dict[tuple[str, int], _Start] = {}
        self._paused_until = float("-inf")

    def try_start(
        self,
        owner: str,
        ticket: int,
        head: Head,
        now: float,
        limit: int,
        window: float,
        then: Head | None,
    ) -> float:
        delay = self._delay(now, limit, window)
        if delay > 0:
            return delay
        start = _Start(now, (owner, ticket))
        self._starts.append(start)
        self._by_key[start.key] = start
        return 0.0

    def hold(self, owner: str, ticket: int) -> None:
        start = self._by_key.get((owner, ticket))
        if start is not None:
            start.pending = True

    def sent(self, owner: str, ticket: int, now: float) -> None:
        start = self._by_key.get((owner, ticket))
        if start is not None and start.pending:
            start.pending = False
            start.time = max(start.time, now)

    def withdraw(self, owner: str) -> None:
        """Nothing to do: this ledger keeps no registrations."""

    def pause_until(self, deadline: float, now: float) -> bool:
        if deadline > self._paused_until:
            self._paused_until = deadline
            return True
        return False

    def paused_until(self, now: float) -> float:
        return self._paused_until

    def in_window(self, now: float, span: float) -> int:
        return sum(1 for s in self._starts if s.effective(now) > now - span)

    def _delay(self, now: float, limit: int, window: float) -> float:
        """Seconds until a request may start (forgetting starts older than the window)."""
        horizon = now - window
        kept: deque[_Start] = deque()
        for s in self._starts:
            if s.effective(now) > horizon:
                kept.append(s)
            else:
                self._by_key.pop(s.key, None)
        self._starts = kept
        times = sorted(s.effective(now) for s in kept)
        wait = self._paused_until - now
        if len(times) >= limit:
            oldest_relevant = times[len(times) - limit]
            wait = max(wait, oldest_relevant + window - now)
        return wait

    def __repr__(self) -> str:
        return f"LocalLedger(starts={len(self._starts)})"


@dataclass(eq=False)
class _Waiter:
    """One request waiting for a slot; ordered by (priority, arrival)."""

    priority: int
    seq: int
    since: float
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event

    def __lt__(self, other: _Waiter) -> bool:
        return (self.priority, self.seq) < (other.priority, other.seq)


class Ticket:
    """A granted slot. By default the request counts as started when it was granted;
    `hold()` + `sent()` move that moment to when it actually left (see module doc)."""

    __slots__ = ("_held", "_id", "_owner", "_scheduler")

    def __init__(self, scheduler: RequestScheduler, owner: str, ticket_id: int) -> None:
        self._scheduler = scheduler
        self._owner = owner
        self._id = ticket_id
        self._held = False

    def hold(self) -> None:
        """Count this request as starting *now* until `sent()` (or the slot ends)."""
        if not self._held:
            self._held = True
            self._scheduler.ledger.hold(self._owner, self._id)

    def sent(self) -> None:
        """The request has left: its start is now (never earlier than the grant)."""
        if self._held:
            self._held = False
            scheduler = self._scheduler
            scheduler.ledger.sent(self._owner, self._id, scheduler.clock())
            scheduler._wake_head()

    def _close(self) -> None:
        self.sent()  # never marked: conservatively, it started when the slot ended


class RequestScheduler:
    """Grants request slots under a rate ceiling, USER before BACKGROUND, FIFO within,
    except that a BACKGROUND request that has waited through `BACKGROUND_SHARE` - 1
    USER grants in a row goes next; the ceiling is kept in `ledger` (this scheduler's
    own unless one is shared)."""

    def __init__(
        self,
        max_requests: int = 2,
        per: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = SAFETY_MARGIN,
        ledger: Ledger | None = None,
    ) -> None:
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if per <= 0:
            raise ValueError("per must be positive")
        self.max_requests = max_requests
        self.per = per
        self.clock = clock
        self.margin = max(margin, 0.0)
        self.ledger: Ledger = ledger if ledger is not None else LocalLedger()
        self._window = per + self.margin
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()
        self._tickets = itertools.count()
        self._token = secrets.token_hex(4)
        self._owner_of: tuple[int, str] = (-1, "")
        #: USER grants in a row while a BACKGROUND request waited.
        self._user_streak = 0

    # -- the one operation -------------------------------------------------------------

    @asynccontextmanager
    async def slot(self, priority: Priority = Priority.USER) -> AsyncIterator[Ticket]:
        """Wait for this request's turn; the request counts as started on entry (or,
        with `ticket.hold()`, when `ticket.sent()` is called)."""
        ticket = await self._acquire(int(priority))
        try:
            yield ticket
        finally:
            ticket._close()

    def pause_until(self, deadline: float) -> None:
        """Hold every request until `deadline` (in this scheduler's clock), e.g. after a
        429 with `Retry-After`. An earlier deadline never shortens a pause in force. With
        a shared ledger the pause holds every process that shares it."""
        if self.ledger.pause_until(deadline, self.clock()):
            self._wake_head()

    # -- introspection for the UI ------------------------------------------------------

    @property
    def granted_rate(self) -> float:
        """Requests per second this scheduler really lets through (the margin included)."""
        return self.max_requests / self._window

    @property
    def owner(self) -> str:
        """This scheduler's name in its ledger: unique per process (the pid changes in a
        forked child) and per scheduler."""
        pid = os.getpid()
        if self._owner_of[0] != pid:
            self._owner_of = (pid, f"{pid}-{self._token}")
        return self._owner_of[1]

    def in_window(self) -> int:
        """How many requests started in the last `per` seconds (in every process that
        shares the ledger)."""
        return self.ledger.in_window(self.clock(), self.per)

    def waiting(self, priority: Priority | None = None) -> int:
        """How many requests of this process wait for a slot (of one priority, or all)."""
        self._drop_dead_waiters()
        if priority is None:
            return len(self._queue)
        return sum(1 for w in self._queue if w.priority == int(priority))

    def paused_for(self) -> float:
        """Seconds left of a pause set by `pause_until` (0.0 when not paused)."""
        now = self.clock()
        return max(0.0, self.ledger.paused_until(now) - now)

    # -- internals ---------------------------------------------------------------------

    async def _acquire(self, priority: int) -> Ticket:
        loop = asyncio.get_running_loop()
        self._drop_dead_waiters()
        me = _Waiter(priority, next(self._seq), self.clock(), loop, asyncio.Event())
        previous_head = self._queue[0] if self._queue else None
        heapq.heappush(self._queue, me)
        if previous_head is not None and self._queue[0] is me:
            previous_head.event.set()  # it no longer heads the queue: let it step back
        owner = self.owner
        ticket_id = next(self._tickets)
        try:
            while True:
                if self._queue[0] is me:
                    head = Head(me.priority, me.since)  # promoted: it heads as USER
                    delay = self.ledger.try_start(
                        owner,
                        ticket_id,
                        head,
                        self.clock(),
                        self.max_requests,
                        self._window,
                        self._runner_up(),
                    )
                    if delay <= 0:
                        heapq.heappop(self._queue)
                        self._granted(priority)
                        self._wake_head()
                        return Ticket(self, owner, ticket_id)
                    try:
                        async with asyncio.timeout(delay):
                            await me.event.wait()
                    except TimeoutError:
                        pass
                else:
                    await me.event.wait()
                me.event.clear()
        except BaseException:
            if me in self._queue:
                was_head = self._queue[0] is me
                self._queue.remove(me)
                heapq.heapify(self._queue)
                if was_head:
                    # Its registration must not hold other processes back; the next head
                    # (woken below) registers itself. A failing ledger must not mask
                    # the exception that got us here.
                    with contextlib.suppress(OSError):
                        self.ledger.withdraw(owner)
                self._wake_head()
            raise

    def _granted(self, priority: int) -> None:
        """Count USER grants made while BACKGROUND waits; at the share, the oldest
        BACKGROUND waiter is promoted to go next."""
        waiting = [w for w in self._queue if w.priority == int(Priority.BACKGROUND)]
        if priority != int(Priority.USER) or not waiting:
            self._user_streak = 0
            return
        self._user_streak += 1
        if self._user_streak >= BACKGROUND_SHARE - 1:
            self._user_streak = 0
            oldest = min(waiting, key=lambda w: w.seq)
            oldest.priority = int(Priority.USER)
            oldest.seq = -1 - oldest.seq  # ahead of every USER waiter, once
            heapq.heapify(self._queue)

    def _runner_up(self) -> Head | None:
        """The waiter that heads the queue once the head leaves (a heap's root's
        successor is the smaller of its two children)."""
        nxt = min(self._queue[1:3], default=None)
        return None if nxt is None else Head(nxt.priority, nxt.since)

    def _wake_head(self) -> None:
        self._drop_dead_waiters()
        if self._queue:
            self._queue[0].event.set()

    def _drop_dead_waiters(self) -> None:
        """Forget waiters whose event loop was closed without cancelling them."""
        if any(w.loop.is_closed() for w in self._queue):
            self._queue = [w for w in self._queue if not w.loop.is_closed()]
            heapq.heapify(self._queue)

    def __repr__(self) -> str:
        return (
            f"RequestScheduler(max_requests={self.max_requests}, per={self.per}, "
            f"in_window={self.in_window()}, waiting={len(self._queue)}, "
            f"ledger={self.ledger!r})"
        )


_default: RequestScheduler | None = None


def default_scheduler() -> RequestScheduler:
    """The process-wide scheduler every client shares unless one is injected."""
    global _default
    if _default is None:
        _default = RequestScheduler()
    return _default
