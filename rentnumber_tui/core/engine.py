"""The account engine: everything a front end asks of the account, and the one copy of
its rentals — run on its own thread and event loop, shared with the other processes of
this program through the local store and the request budget.

Front ends (the TUI, later the CLI) only render and ask: they await the async methods
from their own loop (the calls hop threads) and subscribe to `EngineEvent`s. The engine
owns state and money: the rentals, the purchase journal and reconciliation, polling,
the balance.

Several processes may follow one account (two terminals, a script). They share:
- the store (one SQLite file): the journal, every rental and code, who is alive, and
  who polls which rental (leases, so each active rental is polled by one process; when
  a process exits or dies its rentals move to another within `LEASE_TTL`);
- the request budget (`api.shared_budget`): 2 requests per second for all of them.
Each engine watches the store (`PRAGMA data_version`, every `WATCH_EVERY` seconds) and
shows what the others changed — a code polled by another process reaches every screen.
Rentals made elsewhere (the website, another machine) are found with `GET /rentals` at
background priority: at start, after every rent and cancel, and every minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from rentnumber_tui.api.errors import ApiError, RentOutcomeUnknown
from rentnumber_tui.api.models import (
    Balance,
    CancelResult,
    Country,
    HistoryEntry,
    Offer,
    PriceList,
    Rows,
    Service,
    ServiceRef,
)
from rentnumber_tui.api.scheduler import Priority
from rentnumber_tui.core import catalog, reconcile
from rentnumber_tui.core.delivery import Delivery, delivery_stats
from rentnumber_tui.core.events import (
    AuthLost,
    BalanceChanged,
    CatalogFailed,
    CatalogUpdated,
    EngineEvent,
    EngineReady,
    HealthChanged,
    KeyChanged,
    PicksChanged,
    PurchaseUpdate,
    RentalChanged,
    RentalPollFailed,
    RentalReplaced,
    RowsSkipped,
    StoreFailed,
)
from rentnumber_tui.core.picks import Pick
from rentnumber_tui.core.poller import Poller, PollSettings
from rentnumber_tui.core.rent_again import AgainChoice, choose_again, find_country, find_service
from rentnumber_tui.core.rentals import OfferRef, RentalLabels, TrackedRental
from rentnumber_tui.core.replace import ReplacePolicy, Replacer, merge_snapshots
from rentnumber_tui.core.store import Purchase, PurchaseLocked, Store, StoreError
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.user_error import UserFacingError

if TYPE_CHECKING:  # httpx is imported on the engine thread, off the first frame's path
    from rentnumber_tui.api.client import Health, RentNumberClient

T = TypeVar("T")

#: Finished rentals stay in the live panel this long after they end.
RECENT_WINDOW = timedelta(hours=1)
#: Seconds between two looks at an unresolved purchase while the server does not answer.
RECONCILE_RETRY = 5.0
#: After a rent's answer was lost, how long a slow server may still perform it: "nothing
#: was bought" is said only after this, with a second look at the account.
RENT_GRACE = 60.0
#: Seconds a background balance refresh (or account look-up) waits for further changes
#: to fold in, so a burst of rents spends one request, not one each.
BALANCE_SETTLE = 2.0
#: How often each engine looks whether the store's files moved (a `stat`), and at most
#: how long it trusts that they did not (a file system with coarse times can hide a
#: write): then it asks the store itself (`PRAGMA data_version`) anyway.
WATCH_EVERY = 0.1
WATCH_TRUST = 1.0
#: How often while the account has no active rental, or no other process follows it:
#: only a rental made elsewhere can show up, and within a second is soon enough for it
#: (ten looks a second cost a third of a percent of CPU).
WATCH_IDLE = 1.0
#: How often each engine renews its heartbeat and leases; and when a silent process's
#: rentals go to another.
COORDINATE_EVERY = 1.0
LEASE_TTL = 3.5
#: The heartbeat while the account has no active rental: there are no leases to keep,
#: and a rental rented here takes its lease at once (`_follow_soon`). Kept within the
#: lease time (at most 0.8 of it), so the other processes still count this one.
COORDINATE_IDLE = 3.0
#: How often the account's rentals are looked up to find those made elsewhere.
DISCOVER_EVERY = 60.0
#: Longest error text handed to a front end (a server may send pages of it).
MAX_MESSAGE = 500
#: How long `stop()` waits for the shutdown (every task cancelled and ended, the store
#: told, the connection closed) before it stops the engine's loop anyway.
SHUTDOWN_WAIT = 5.0
#: Then at most how long the stopped loop goes on cancelling and running what is left
#: (`Engine._finish`): a task left pending is destroyed at exit, with a warning each.
FINISH_WAIT = 2.0


log = logging.getLogger("rentnumber_tui.engine")

#: On a first start (no service list cached), how long the engine waits for the first
#: look at the services (`first_look`) before it goes on without it; and how long that
#: answer then stands for the front end's first ask (it asks once the engine is ready).
FIRST_LOOK_WAIT = 3.0
FIRST_ANSWER_FRESH = 10.0
#: Where the auto-replace chains are kept in the store (its per-account key/value table).
REPLACE_STATE = "auto-replace"


class RentBlocked(UserFacingError):
    """A rent cannot start now: one is in flight, or the same offer's earlier outcome is
    unresolved, or the offer cannot be rented."""


class RentNotSent(UserFacingError):
    """The purchase journal could not be written, so nothing was sent: without it a lost
    answer could mean paying twice."""


class RentFailedSafely(UserFacingError):
    """The rent's outcome was unknown; the account was checked again after the grace
    period and shows no new rental, and the wallet agrees: nothing was bought."""


class RentStillUnknown(UserFacingError):
    """The rent's outcome is unknown and cannot be settled yet. Renting that offer stays
    locked; the engine keeps checking and reports with `PurchaseUpdate` events."""

    def __init__(
        self, message: str, *, purchase_id: int, check_at: datetime | None, reason: str = ""
    ) -> None:
        super().__init__(message)
        self.purchase_id = purchase_id
        self.check_at = check_at
        #: Why the answer is unknown (the first sentence of `message`).
        self.reason = reason


class RentAmbiguous(UserFacingError):
    """Several rentals on the account match the lost answer; none was adopted. Each is
    shown, marked, for the person to judge."""

    def __init__(self, message: str, *, candidates: tuple[int, ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


class CancelChanged(UserFacingError):
    """The rental changed since the person decided (an SMS arrived, it ended): nothing was
    sent. `rental` is how it is now."""

    def __init__(self, message: str, rental: TrackedRental) -> None:
        super().__init__(message)
        self.rental = rental


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """What a front end shows about the account: balance, connection, key."""

    balance: Balance | None
    connection: str
    connection_message: str | None
    has_key: bool
    #: The server refused the key while following rentals: following is paused until a
    #: new key is set (the words to show; None when it is not).
    key_refused: str | None = None
    #: Seconds left of a pause the server asked for (429 Retry-After), 0 when none.
    throttled_for: float = 0.0


@dataclass(frozen=True, slots=True)
class History:
    """The account's rentals, newest first, and why some may be missing."""

    rentals: list[TrackedRental]
    problem: str | None = None
    #: The server could not be asked: `rentals` are this machine's records only.
    server_error: ApiError | None = None


class _Folded:
    """A background chore that many requests fold into: it runs `settle` seconds after
    the last request, once, and again if requests came while it ran."""

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], settle: float) -> None:
        self._run = run
        self._settle = settle
        self._busy = False
        self._again = False

    @property
    def busy(self) -> bool:
        """Waiting to run, or running."""
        return self._busy

    async def request(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        try:
            self._again = True
            while self._again:
                self._again = False
                await asyncio.sleep(self._settle)
                if self._again:  # more came meanwhile: wait for them to settle
                    continue
                await self._run()
        finally:
            self._busy = False


class Engine:
    def __init__(
        self,
        client_factory: Callable[[], RentNumberClient],
        store: Store,
        *,
        poll_settings: PollSettings | None = None,
        reconcile_retry: float = RECONCILE_RETRY,
        balance_settle: float = BALANCE_SETTLE,
        rent_grace: float = RENT_GRACE,
        lease_ttl: float = LEASE_TTL,
        coordinate_every: float = COORDINATE_EVERY,
        watch_every: float = WATCH_EVERY,
        discover_every: float = DISCOVER_EVERY,
        replace_policy: ReplacePolicy | None = None,
        replace_every: float = 1.0,
        first_look: Callable[[], Rows[Service] | None] | None = None,
    ) -> None:
        """`first_look`: the service list asked without the client, for a front end
        that shows it first (`look_early`); None when nothing can be had that way."""
        self._client_factory = client_factory
        self._first_look = first_look
        #: The first look started before the engine (`look_early`), on its own thread.
        self._early: Future[Rows[Service] | None] | None = None
        #: The services the first look found, and when (`time.monotonic`).
        self._first_answer: tuple[tuple[Service, ...], float] | None = None
        self.store = store
        self._poll_settings = poll_settings or PollSettings()
        self._reconcile_retry = reconcile_retry
        self._rent_grace = rent_grace
        self._lease_ttl = lease_ttl
        self._coordinate_every = coordinate_every
        self._watch_every = watch_every
        self._discover_every = discover_every
        self._replace_every = replace_every
        self.replacer = Replacer(
            replace_policy or ReplacePolicy(),
            now=self.server_now,
            cancel=lambda rental_id: self._cancel(rental_id, True),
            offers=self._replacement_offers,
            rent=self._rent_replacement,
            say=lambda rental_id, text: self._emit(RentalReplaced(rental_id, clean_message(text))),
        )
        #: This process's name in the store (leases, the journal's owner column).
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[EngineEvent], None]] = []
        #: The one copy of the live rentals (followed, or ended within RECENT_WINDOW).
        self._rentals: dict[int, TrackedRental] = {}
        #: Store revision of the copy above, per rental (newer rows from others win).
        self._revs: dict[int, int] = {}
        self._poll_errors: dict[int, str] = {}
        self._key_refused: str | None = None
        self._renting = False
        #: Unresolved purchases this process settles, and why one is not settled yet
        #: after its second look.
        self._unresolved: dict[int, Purchase] = {}
        self._still_because: dict[int, str] = {}
        self._reconciling = False
        #: Unresolved purchases of other processes, as last read (they lock their offer).
        self._pending_elsewhere: list[Purchase] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        #: The shutdown's task, once `stop()` started it (`_finish` lets it end last).
        self._closing: asyncio.Task[Any] | None = None
        self.client: RentNumberClient | None = None
        self.poller: Poller | None = None
        self.last_balance: Balance | None = None
        #: The wallet as the server last said it (no local adjustment), and when.
        self._server_balance: tuple[Balance, datetime] | None = None
        self._balance_chore = _Folded(self._refresh_balance_quietly, balance_settle)
        self._discover_chore = _Folded(self._discover_now, balance_settle)
        self._known_services: tuple[Service, ...] | None = None
        self._known_countries: tuple[Country, ...] | None = None
        #: The cheapest rentable price per service and country, from the lists read.
        self.price_book = catalog.PriceBook()
        self._picks: tuple[Pick, ...] = ()
        self._seen_rev = 0
        self._data_version: int | None = None
        self._census = (0, 0)
        #: Processes following the account at the last heartbeat (this one included).
        self._processes = 1
        #: Failures of the local files already said, by kind ("store", "budget").
        self._store_problems: dict[str, set[str]] = {}
        #: Set when the store could not be read at start: renting is refused then.
        self.store_problem: str | None = None
        #: Every store call runs on this one thread, in the order it was asked for: two
        #: writes of the same rental (a poll, a history merge) can never swap places.
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="rentnumber-store")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, *, wait: bool = True) -> None:
        """Start the engine thread; with `wait`, return once it is ready. Without, an
        `EngineReady` event says when (the UI paints its first frame meanwhile)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rentnumber-engine", daemon=True)
            self._thread.start()
        if wait:
            self._ready.wait()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self._startup())
            except asyncio.CancelledError:
                if self._closing is None:
                    raise
                return  # stopped while starting (`stop()` waits 10 s for it, no longer)
            self._ready.set()
            self._emit(EngineReady())
            loop.run_forever()
        finally:
            try:
                self._finish(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def _finish(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run what a stop left behind to its end, within `FINISH_WAIT`. A `stop()` that
        gave up waiting used to stop the loop with tasks still ending (a poller that had
        swallowed its cancel, the shutdown gathering it), destroyed pending at exit.
        Each round cancels again (a task may swallow a cancel) all but the shutdown, left
        to tell the store and close the connection once the others have ended; when
        time is up it is cancelled too, and whatever still runs is logged."""
        deadline = time.monotonic() + FINISH_WAIT
        while left := asyncio.all_tasks(loop):
            last = time.monotonic() >= deadline
            for task in left:
                if last or task is not self._closing:
                    task.cancel()
            loop.run_until_complete(asyncio.wait(left, timeout=0.1))
            if last:
                break
        if left := asyncio.all_tasks(loop):
            log.warning("Engine tasks still running after the stop: %r", left)

    def look_early(self) -> None:
        """Start the first look at the services now, on a thread of its own, if nothing
        is cached (a first start). A launcher whose front end opens on the service list
        calls it before it loads that front end (a command that needs no list does not:
        no request is spent on it): the answer comes meanwhile, in time for the first
        frame (`services_known` has it as soon as it is there); the engine keeps it and
        says it once started, as if it had asked itself."""
        look = self._first_look
        if look is None or self._early is not None or self.services_known is not None:
            return
        early: Future[Rows[Service] | None] = Future()
        # Running from now on, it cannot be cancelled (a `_look_first` that stops
        # waiting tries to): the thread settles it exactly once.
        early.set_running_or_notify_cancel()

        def run() -> None:
            try:
                early.set_result(look())
            except Exception as error:  # for `_look_first` to log
                early.set_exception(error)

        threading.Thread(target=run, name="rentnumber-first-look", daemon=True).start()
        self._early = early

    async def _startup(self) -> None:
        if self._early is not None:
            await self._look_first(self._early)
        client = self._client_factory()
        self.client = client
        client.add_listener(self._on_health)
        # Poll at the rate the scheduler really grants (its window includes a margin).
        granted = client.scheduler.granted_rate
        settings = replace(self._poll_settings, rate=min(self._poll_settings.rate, granted))
        self.poller = Poller(
            lambda rental_id, priority: client.rental(rental_id, priority=priority),
            self._save_polled,
            client.server_clock.now,
            on_change=self._polled,
            on_error=self._poll_failed,
            on_auth_lost=self._auth_lost,
            settings=settings,
            current=self._current,
            census=lambda: self._census,
        )
        self._spawn(self.poller.run())
        try:
            await self._restore()
            self._picks = tuple(await self._db(self.store.picks))
            saved = await self._db(self.store.get_catalog, REPLACE_STATE)
            if saved is not None:
                with contextlib.suppress(ValueError):
                    self.replacer.restore(json.loads(saved[0]))
        except StoreError as error:
            self.store_problem = clean_message(error.message)
            self._store_failed(error)
        self._spawn(self._watch())
        self._spawn(self._coordinate())
        self._spawn(self._replace_loop())

    async def _look_first(self, early: Future[Rows[Service] | None]) -> None:
        """On a first start the list waits for the services, and the client that asks
        for them waits for httpx to load (~130 ms of CPU, shared with the UI painting):
        the first look (`look_early`) asked before the client was made, and its answer
        is shown and cached as the client's would be. Whatever it could not get, the
        client asks for when the front end does, as on any start."""
        try:
            async with asyncio.timeout(FIRST_LOOK_WAIT):
                rows = await asyncio.wrap_future(early)
        except TimeoutError:
            log.info("No first look at the services within %g s", FIRST_LOOK_WAIT)
            return
        except Exception:  # a shortcut only: the client asks, and says what is wrong
            log.warning("The first look at the services failed", exc_info=True)
            return
        if rows is not None:
            self._rows_read(rows)
            self._first_answer = (await self._take_services(rows), time.monotonic())

    def stop(self) -> None:
        """Stop polling, give this process's rentals to the others, close the connection
        and end the thread (idempotent). Bounded: 10 s for a start under way, then
        `SHUTDOWN_WAIT` for the shutdown; past that the loop is stopped and the thread
        ends what is left (`_finish`) while this joins it."""
        if self._thread is not None:
            self._ready.wait(timeout=10)
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not loop.is_running():
            return
        try:
            shutdown = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            shutdown.result(timeout=SHUTDOWN_WAIT)
        except TimeoutError:
            log.warning("The engine's shutdown took over %s s; stopping its loop", SHUTDOWN_WAIT)
        except Exception:
            log.debug("The engine's shutdown failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=FINISH_WAIT + 3)
        self._thread = None

    async def _shutdown(self) -> None:
        """Cancel everything still running on the engine loop (polls, reconciliation,
        requests the UI gave up on), leave the store's roll, close the connection."""
        current = self._closing = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(StoreError):
            await self._db(self.store.unregister_process, self.owner)
        if self.client is not None:
            await self.client.aclose()
        self._store_thread.shutdown(wait=True)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call on the store thread (in order) and await it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_thread, partial(call, *args, **kwargs))

    # -- crossing threads ----------------------------------------------------------------

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `coro` on the engine loop, in a context of its own.

        `run_coroutine_threadsafe` would give the engine's task a copy of the caller's
        context variables, and every handle the task schedules copies them again. A
        front end's are its own (Textual's: the app, the screen, the worker), and a
        cancelled timer stays in the engine loop's heap until it is due: each request's
        timeout (15 s) kept the screen that asked alive that long after it closed. The
        engine needs none of the caller's."""
        assert self._loop is not None, "Engine.start() was not called"
        return contextvars.Context().run(asyncio.run_coroutine_threadsafe, coro, self._loop)

    async def _call(self, coro: Coroutine[Any, Any, T], *, shield: bool = False) -> T:
        """Run `coro` on the engine loop and await it from the caller's loop. Cancelling
        the caller cancels the work, unless `shield` (a rent must finish regardless)."""
        try:
            if not self._ready.is_set():
                await asyncio.get_running_loop().run_in_executor(None, self._ready.wait)
            future = asyncio.wrap_future(self.submit(coro))
        except BaseException:
            coro.close()  # never started (the caller gave up first, or the loop is gone)
            raise
        try:
            return await (asyncio.shield(future) if shield else future)
        except UserFacingError as error:
            _cleaned(error)
            raise

    def subscribe(self, callback: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Call `callback` (on the engine thread) for every event; returns unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: EngineEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(event)

    # -- state the front ends read directly ----------------------------------------------

    def server_now(self) -> datetime:
        """The server's time (the local clock until the first answer tells the offset)."""
        if self.client is None:
            return datetime.now(UTC)
        return self.client.server_clock.now()

    def rentals(self) -> list[TrackedRental]:
        """The live panel's rentals: the account's active ones (wherever rented) and
        those that ended recently; active first, then newest first."""
        with self._lock:
            rentals = list(self._rentals.values())
        return sorted(rentals, key=lambda r: (r.is_final, -r.rental_id))

    def rental(self, rental_id: int) -> TrackedRental | None:
        with self._lock:
            return self._rentals.get(rental_id)

    def poll_error(self, rental_id: int) -> str | None:
        """Why the last check of a rental failed (None: it did not)."""
        with self._lock:
            return self._poll_errors.get(rental_id)

    def status(self) -> AccountStatus:
        client = self.client
        health: Health | None = client.health if client is not None else None
        error = health.last_error if health is not None else None
        return AccountStatus(
            balance=self.last_balance,
            connection=health.state if health is not None else "online",
            connection_message=clean_message(error.message) if error is not None else None,
            has_key=bool(client and client.has_key),
            key_refused=self._key_refused,
            throttled_for=client.scheduler.paused_for() if client is not None else 0.0,
        )

    @property
    def renting_locked(self) -> str | None:
        """Why no rent at all can start right now, or None."""
        if self._renting:
            return "A rent request is already on its way."
        if self.store_problem:
            return f"Renting needs the local store, which failed: {self.store_problem}"
        return None

    @property
    def rents_unsettled(self) -> int:
        """Rents of this process whose outcome is not known yet (sent, or being checked
        after a lost answer): what quitting now would leave for the next start."""
        with self._lock:
            unresolved = len(self._unresolved)
        return unresolved + (1 if self._renting and not unresolved else 0)

    def renting_locked_for(self, offer: Offer, service_name: str) -> str | None:
        """Why this offer cannot be rented right now (None: it can). Reads what the
        engine last saw of every process's journal (it looks every second)."""
        if (why := self.renting_locked) is not None:
            return why
        with self._lock:
            pending = [*self._pending_elsewhere, *self._unresolved.values()]
        for purchase in pending:
            labels = purchase.labels
            if (labels.service, labels.country, labels.provider) == (
                service_name,
                offer.country_name,
                offer.provider_name,
            ):
                return _waiting_text(purchase, _local_now())
        return None

    def request_stats(self) -> tuple[int, int, float]:
        """(requests in the last second, requests waiting, the ceiling per second)."""
        client = self.client
        if client is None:
            return 0, 0, 2.0
        scheduler = client.scheduler
        return scheduler.in_window(), scheduler.waiting(), scheduler.max_requests / scheduler.per

    @property
    def services_known(self) -> tuple[Service, ...] | None:
        """The services as last loaded (or cached from the last run); None: not yet."""
        if self._known_services is None:
            early = self._early
            if early is not None and early.done() and early.exception() is None:
                found = early.result()
                if found:
                    self._known_services = found
                    return found
            entry = catalog.cached_services(self.store)
            self._known_services = entry[0] if entry else None
        return self._known_services

    @property
    def countries_known(self) -> tuple[Country, ...] | None:
        if self._known_countries is None:
            entry = catalog.cached_countries(self.store)
            self._known_countries = entry[0] if entry else None
        return self._known_countries

    # -- the API, as the front ends use it ------------------------------------------------

    async def services(self) -> tuple[Service, ...]:
        return await self._call(self._services())

    async def _services(self) -> tuple[Service, ...]:
        first, self._first_answer = self._first_answer, None
        if first is not None and time.monotonic() - first[1] < FIRST_ANSWER_FRESH:
            return first[0]  # asked a moment ago, as the engine started
        return await self._take_services(await self._catalog_call(self._client.services()))

    async def _take_services(self, rows: Rows[Service]) -> tuple[Service, ...]:
        """Keep, cache and announce a service list the server gave."""
        services: tuple[Service, ...] = rows
        self._known_services = services
        await self._cache(catalog.SERVICES, catalog.dump_services(services))
        self._emit(CatalogUpdated(services=services))
        return services

    async def countries(self) -> tuple[Country, ...]:
        return await self._call(self._countries())

    async def _countries(self) -> tuple[Country, ...]:
        countries = await self._catalog_call(self._client.countries())
        self._known_countries = countries
        await self._cache(catalog.COUNTRIES, catalog.dump_countries(countries))
        self._emit(CatalogUpdated(countries=countries))
        return countries

    async def _catalog_call(self, request: Coroutine[Any, Any, Rows[T]]) -> Rows[T]:
        try:
            rows = await request
        except ApiError as error:
            self._emit(CatalogFailed(clean_message(error.message)))
            raise
        self._rows_read(rows)
        return rows

    def _rows_read(self, rows: Rows[Any]) -> None:
        if rows.note:
            self._emit(RowsSkipped(clean_message(rows.note + "; the rest are shown.")))

    async def _cache(self, name: str, body: str) -> None:
        """Keep a catalog answer for the next start. A store that fails costs only a
        slower next start: the answer is still shown, and the failure said once."""
        try:
            await self._db(self.store.put_catalog, name, body)
        except StoreError as error:
            self._store_failed(error)

    async def prices(
        self, slug: str, country_id: int | None = None, *, background: bool = False
    ) -> PriceList:
        """The offers for a service (of one country, or every one); what they say about
        the cheapest price per country is kept in `price_book`. `background`: nobody
        waits for it (a refresh after renting), so it queues behind what people ask."""
        priority = Priority.BACKGROUND if background else Priority.USER
        return await self._call(self._prices(slug, country_id, priority))

    async def _prices(
        self, slug: str, country_id: int | None, priority: Priority = Priority.USER
    ) -> PriceList:
        price_list = await self._client.prices(slug, country_id, priority=priority)
        self.price_book.record(slug, country_id, price_list.offers)
        return price_list

    async def delivery(self, service_slug: str) -> dict[tuple[int, int], Delivery]:
        """Per (country id, provider id): how this machine's rentals of the service
        were delivered (`core.delivery`). Empty when the store cannot be read."""
        return await self._call(self._delivery(service_slug))

    async def _delivery(self, service_slug: str) -> dict[tuple[int, int], Delivery]:
        try:
            return delivery_stats(await self._db(self.store.delivery_rows, service_slug))
        except StoreError as error:
            self._store_failed(error)
            return {}

    # -- auto-replace ----------------------------------------------------------------------

    async def toggle_auto_replace(self, rental_id: int) -> bool:
        """`t` on a waiting rental: auto-replace it (or no longer); True when it is on."""

        async def toggle() -> bool:
            rental = self._current(rental_id)
            if rental is None:
                raise RentBlocked("That rental is not followed here.")
            on = self.replacer.toggle(rental)
            await self._keep_replace_state()
            return on

        return await self._call(toggle())

    async def _replace_loop(self) -> None:
        """Once a second: replace the rentals this process follows that waited too long."""
        while True:
            await asyncio.sleep(self._replace_every)
            poller = self.poller
            if poller is None or not poller.followed:
                continue  # nothing waits here: no work, not even a snapshot
            before = self.replacer.snapshot()
            try:
                await self.replacer.tick(poller.followed)
            except Exception:  # one bad tick must not end auto-replace for good
                log.exception("auto-replace failed")
            if self.replacer.snapshot() != before:
                await self._keep_replace_state()

    async def _keep_replace_state(self) -> None:
        """The chains survive a restart (a restart must not allow more rentals)."""
        try:
            saved = await self._db(self.store.get_catalog, REPLACE_STATE)
            other: Any = {}
            with contextlib.suppress(ValueError):
                other = json.loads(saved[0]) if saved else {}
            body = json.dumps(merge_snapshots(other, self.replacer.snapshot()))
            await self._db(self.store.put_catalog, REPLACE_STATE, body)
        except StoreError as error:
            self._store_failed(error)

    async def _replacement_offers(self, rental: TrackedRental) -> tuple[Offer, ...]:
        country = rental.offer.country_id if rental.offer else None
        prices = await self._client.prices(rental.labels.service_slug, country)
        return tuple(prices.offers)

    async def _rent_replacement(self, offer: Offer, old: TrackedRental) -> TrackedRental:
        labels = replace(old.labels, provider=offer.provider_name)
        return await self._rent(offer, labels)

    # -- recent choices and favourites ---------------------------------------------------

    def picks(self) -> tuple[Pick, ...]:
        """Recent service/country pairs (newest first), then favourites (newest first)."""
        return self._picks

    async def remember(self, pick: Pick) -> None:
        """`pick` was just used: it leads the recent ones (a store failure is said once
        and costs only the memory)."""
        await self._call(self._change_picks(self.store.record_recent, pick))

    async def toggle_favourite(self, pick: Pick) -> bool:
        """Make `pick` a favourite or no longer one; True when it now is."""
        return bool(await self._call(self._change_picks(self.store.toggle_favourite, pick)))

    async def _change_picks(self, change: Callable[[Pick], object], pick: Pick) -> object:
        try:
            result = await self._db(change, pick)
            self._picks = tuple(await self._db(self.store.picks))
        except StoreError as error:
            self._store_failed(error)
            raise
        self._emit(PicksChanged())
        return result

    async def rent_again(self, rental: TrackedRental) -> AgainChoice:
        """The offer to rent `rental` again and what changed (see `core.rent_again`);
        the confirmation shows it, nothing is bought here."""
        return await self._call(self._rent_again(rental))

    async def _rent_again(self, rental: TrackedRental) -> AgainChoice:
        services = self.services_known or await self._services()
        service = find_service(rental, services)
        countries = () if rental.offer else (self.countries_known or await self._countries())
        country_id = find_country(rental, countries)
        prices = await self._client.prices(service.slug, country_id)
        return choose_again(rental, service, prices.offers, country_id)

    async def balance(self) -> Balance:
        return await self._call(self._balance())

    def balance_age(self) -> float | None:
        """Seconds since the server last told the balance (None: never), by the
        server's clock: a confirmation shows a recent one instead of asking again."""
        seen = self._server_balance
        if seen is None:
            return None
        return (self.server_now() - seen[1]).total_seconds()

    async def _balance(self, priority: Priority = Priority.USER) -> Balance:
        balance = await self._client.balance(priority=priority)
        self._server_balance = (balance, self.server_now())
        self.last_balance = balance
        self._emit(BalanceChanged(balance))
        return balance

    async def verify_key(self, key: str) -> Balance:
        """Check `key` with `GET /balance` without using it yet (the login screen does this
        before anything is saved), on a client for that key which shares the live one's
        connection, budget and clock, not retried: a person is waiting."""
        return await self._call(self._verify(key))

    async def _verify(self, key: str) -> Balance:
        client = self._client.with_key(key, max_retries=0)
        try:
            return await client.balance(priority=Priority.USER)
        finally:
            await client.aclose()

    async def use_key(self, key: str | None, balance: Balance | None = None) -> None:
        """Switch the live client to `key` (None: log out) from the UI's loop; `balance`
        is what the key's check just returned, shown at once."""
        await self._call(self._apply_key(key, balance))

    def set_api_key(self, key: str | None) -> None:
        """Use a new key (after login): polling resumes if the old one had been refused."""
        self.submit(self._apply_key(key)).result(timeout=5)

    async def _apply_key(self, key: str | None, balance: Balance | None = None) -> None:
        self._client.api_key = key
        self._key_refused = None
        poller = self.poller
        if not key:
            # Logged out: nothing can be polled; pause quietly instead of reporting
            # a refused key for every followed rental. The balance goes before the event
            # is said: a front end reading the status on it must not see the old one.
            self.last_balance = None
            self._server_balance = None
            self._emit(KeyChanged(self._client.has_key))
            if poller is not None:
                poller.pause()
            return
        self._emit(KeyChanged(self._client.has_key))
        if poller is not None and poller.paused:
            poller.resume()
        if balance is not None:
            self._server_balance = (balance, self.server_now())
            self.last_balance = balance
            self._emit(BalanceChanged(balance))
        if self._unresolved:
            self._ensure_reconciling()
        self._spawn(self._discover_chore.request())

    # -- renting --------------------------------------------------------------------------

    async def rent(
        self, offer: Offer, service: Service | ServiceRef, flag: str = ""
    ) -> TrackedRental:
        """Rent `offer`. Never sends a second rent of an offer whose earlier outcome is
        unresolved (in any process), and never one without a journal entry first.

        Raises `RentBlocked`, `RentNotSent` (the journal failed), an `ApiError` (refused:
        nothing was bought), `RentStillUnknown` (the answer was lost; being checked),
        `RentAmbiguous` or `RentFailedSafely`."""
        labels = RentalLabels(
            service=service.name,
            service_slug=service.slug,
            country=offer.country_name,
            iso_code=offer.iso_code,
            flag=flag,
            provider=offer.provider_name,
        )
        return await self._call(self._rent(offer, labels), shield=True)

    async def _rent(self, offer: Offer, labels: RentalLabels) -> TrackedRental:
        if not offer.available:
            # The server listed it as sold out, or with a price that is not positive:
            # nothing is sent (an absurd price is never paid, whatever the server says).
            why = "is out of stock" if offer.stock <= 0 else "has no valid price"
            raise RentBlocked(f"This offer {why}; it cannot be rented.")
        if (locked := self.renting_locked) is not None:
            raise RentBlocked(locked)
        self._renting = True
        try:
            started = self.server_now()
            seen = self._server_balance
            try:
                purchase_id = await self._db(
                    self.store.begin_purchase,
                    offer.id,
                    offer.price,
                    labels,
                    started,
                    country_id=offer.country_id,
                    provider_id=offer.provider_id,
                    owner=self.owner,
                    balance_before=seen[0].amount if seen else None,
                    balance_seen_at=seen[1] if seen else None,
                )
            except PurchaseLocked as locked_offer:
                raise RentBlocked(locked_offer.message) from None
            except StoreError as error:
                self._store_failed(error)
                raise RentNotSent(
                    f"{error.message} Nothing was sent: a rent is always written to the "
                    "journal first, so that a lost answer can never mean paying twice."
                ) from None
            ref = OfferRef(offer.id, offer.country_id, offer.provider_id)
            purchase = Purchase(
                purchase_id,
                offer.id,
                offer.price,
                labels,
                started,
                "sending",
                country_id=offer.country_id,
                provider_id=offer.provider_id,
                owner=self.owner,
                balance_before=seen[0].amount if seen else None,
                balance_seen_at=seen[1] if seen else None,
            )
            departed: list[float] = []
            try:
                rented = await self._client.rent(offer.id, on_sent=departed.append)
            except RentOutcomeUnknown as error:
                purchase = self._departed(purchase, departed)
                return await self._settle_unknown(purchase, error)
            except ApiError as error:
                await self._journal(purchase_id, state="failed", detail=error.message)
                raise
            rental = replace(TrackedRental.from_rent(rented, labels, ref), origin="here")
            await self._keep(rental)
            await self._journal(purchase_id, state="done", rental_id=rental.rental_id)
            await self._follow_soon()
            self._adjust_locally(-rental.cost)
            self._spawn(self._balance_chore.request())
            self._spawn(self._discover_chore.request())
            return rental
        finally:
            self._renting = False

    def _departed(self, purchase: Purchase, departed: list[float]) -> Purchase:
        """The purchase with when its request left, in server time, and how sure."""
        clock = self._client.server_clock
        sent = datetime.fromtimestamp(departed[0] + clock.offset, UTC) if departed else None
        return replace(purchase, sent_at=sent, uncertainty=clock.uncertainty)

    async def _journal(self, purchase_id: int, **fields: object) -> None:
        """Write the journal; a failure after the request went out is said, not raised
        (the rent's result is still shown; the next start settles the entry)."""
        try:
            await self._db(self.store.update_purchase, purchase_id, **fields)
        except StoreError as error:
            self._store_failed(error)

    async def _settle_unknown(self, purchase: Purchase, error: RentOutcomeUnknown) -> TrackedRental:
        # Our side of the request has ended (the connection closed). The grace period is
        # a wait on this machine's clock; `sent_at` (server time) is what the account's
        # timestamps are compared with.
        dead = _local_now()
        check_at = dead + timedelta(seconds=self._rent_grace)
        purchase = replace(
            purchase, state="unknown", dead_at=dead, check_at=check_at, detail=error.message
        )
        await self._journal(
            purchase.id,
            state="unknown",
            detail=error.message,
            sent_at=purchase.sent_at,
            uncertainty=purchase.uncertainty,
            dead_at=dead,
            check_at=check_at,
        )
        self._unresolved[purchase.id] = purchase
        try:
            verdict, outcome = await self._look(purchase, Priority.USER)
        except ApiError as check_error:
            self._ensure_reconciling()
            raise RentStillUnknown(
                f"{error.message} Checking the account failed too ({check_error.message}). "
                f"{_waiting_text(purchase, _local_now())}",
                purchase_id=purchase.id,
                check_at=check_at,
                reason=error.message,
            ) from None
        if isinstance(outcome, TrackedRental):
            return outcome
        if verdict.ambiguous:
            raise RentAmbiguous(
                _ambiguous_text(purchase, verdict.ambiguous), candidates=purchase.candidates
            )
        self._ensure_reconciling()
        raise RentStillUnknown(
            f"{error.message} The account shows no new rental yet, but a slow server can "
            f"still make one. {_waiting_text(self._unresolved.get(purchase.id, purchase), dead)}",
            purchase_id=purchase.id,
            check_at=check_at,
            reason=error.message,
        )

    async def _look(
        self, purchase: Purchase, priority: Priority = Priority.BACKGROUND
    ) -> tuple[reconcile.Verdict, TrackedRental | str | None]:
        """One look at the account for `purchase`. Returns the verdict and what came of
        it: the adopted rental, "failed" (nothing bought: final), "ambiguous", or None
        (still unknown; `check_at` moved if the wallet disagreed)."""
        history = await self._client.rentals(priority=priority)
        known = await self._db(self._known_ids, purchase.id)
        found = reconcile.candidates(purchase, history, known)
        verdict = reconcile.decide(purchase, found)
        if verdict.adopt is not None:
            return verdict, await self._adopt(purchase, verdict.adopt, priority)
        if verdict.ambiguous:
            await self._mark_ambiguous(purchase, verdict.ambiguous)
            return verdict, "ambiguous"
        now = _local_now()
        if purchase.check_at is None or now < purchase.check_at:
            return verdict, None
        if history.skipped:
            # A row that could not be read may be the one we look for.
            why = f"the account's list had rows that could not be read ({history.note})"
        elif not await self._others_in_flight(purchase):
            balance = await self._balance(priority)
            missing = reconcile.unexplained_charge(purchase, balance.amount, history)
            if missing is None:
                await self._journal(purchase.id, state="failed", detail="not on the account")
                self._unresolved.pop(purchase.id, None)
                return verdict, "failed"
            why = (
                f"the wallet is {missing} lower than the rentals on the account explain, "
                "so the rent may still show up"
            )
        else:
            why = "another window's rent of the same offer is still on its way"
        later = now + timedelta(seconds=self._rent_grace)
        purchase = replace(purchase, check_at=later, detail=why)
        self._unresolved[purchase.id] = purchase
        self._still_because[purchase.id] = why
        await self._journal(purchase.id, check_at=later, detail=why)
        return verdict, None

    def _known_ids(self, purchase_id: int) -> set[int]:
        """Rentals no process here may adopt: every one seen, and every one another
        purchase bought or may have bought (on the store thread)."""
        claimed = self.store.claimed_ids()
        own = self.store.purchase(purchase_id)
        if own is not None:
            claimed.difference_update(own.candidates)
            if own.rental_id is not None:
                claimed.discard(own.rental_id)
        return self.store.known_ids() | claimed

    async def _others_in_flight(self, purchase: Purchase) -> bool:
        """Another process's rent of the same offer is still being sent: its rental,
        once it lands, is not ours, but we cannot tell them apart until it is known."""
        labels = purchase.labels
        for other in await self._db(self.store.unresolved_purchases):
            if (
                other.id != purchase.id
                and other.state == "sending"
                and (other.labels.service, other.labels.country, other.labels.provider)
                == (labels.service, labels.country, labels.provider)
            ):
                return True
        return False

    async def _adopt(
        self, purchase: Purchase, entry: HistoryEntry, priority: Priority
    ) -> TrackedRental:
        rental = replace(
            TrackedRental.from_history(entry, origin="here"),
            labels=purchase.labels,
            offer=_offer_ref(purchase),
        )
        with contextlib.suppress(ApiError):
            state = await self._client.rental(entry.rental_id, priority=priority)
            rental = rental.with_state(state, self.server_now())
        await self._keep(rental)
        await self._journal(purchase.id, state="done", rental_id=rental.rental_id)
        self._unresolved.pop(purchase.id, None)
        await self._follow_soon()
        self._spawn(self._balance_chore.request())
        self._spawn(self._discover_chore.request())
        return rental

    async def _mark_ambiguous(self, purchase: Purchase, found: tuple[HistoryEntry, ...]) -> None:
        ids = tuple(entry.rental_id for entry in found)
        await self._journal(purchase.id, state="ambiguous", candidates=ids)
        self._unresolved.pop(purchase.id, None)
        for entry in found:
            await self._keep(TrackedRental.from_history(entry, origin="unsure"))
        self._spawn(self._sync_leases())

    def _ensure_reconciling(self) -> None:
        if not self._reconciling:
            self._spawn(self._reconcile_pending())

    async def _reconcile_pending(self) -> None:
        """Keep checking the unresolved purchases this process settles until each is."""
        if self._reconciling:
            return
        self._reconciling = True
        try:
            while self._unresolved:
                now = _local_now()
                for purchase in list(self._unresolved.values()):
                    try:
                        verdict, outcome = await self._look(purchase)
                    except (ApiError, StoreError):
                        continue
                    current = self._unresolved.get(purchase.id, purchase)
                    self._report_purchase(purchase, verdict, outcome, current)
                waits = [
                    max(0.0, (p.check_at - now).total_seconds())
                    for p in self._unresolved.values()
                    if p.check_at is not None
                ]
                delay = min([self._reconcile_retry, *waits]) if waits else self._reconcile_retry
                if self._unresolved:
                    await asyncio.sleep(max(delay, 0.05))
        finally:
            self._reconciling = False

    def _report_purchase(
        self,
        purchase: Purchase,
        verdict: reconcile.Verdict,
        outcome: TrackedRental | str | None,
        current: Purchase,
    ) -> None:
        what = labels_text(purchase.labels)
        if isinstance(outcome, TrackedRental):
            message = (
                f"The earlier rent of {what} did go through: "
                f"{safe_text(outcome.phone, max_length=40)} is rented."
            )
            self._emit(PurchaseUpdate(purchase.id, message, True, rental=outcome))
        elif outcome == "failed":
            message = (
                f"The earlier rent of {what} did not go through: nothing was bought "
                "(checked again after the grace period; the wallet agrees). Renting it is "
                "possible again."
            )
            self._emit(PurchaseUpdate(purchase.id, message, True, nothing_bought=True))
        elif outcome == "ambiguous":
            ids = tuple(entry.rental_id for entry in verdict.ambiguous)
            message = _ambiguous_text(purchase, verdict.ambiguous)
            self._emit(PurchaseUpdate(purchase.id, message, True, candidates=ids))
        else:
            message = _waiting_text(current, _local_now())
            because = self._still_because.get(purchase.id)
            if because:
                message = f"Not settled yet: {because}. {message}"
            self._emit(PurchaseUpdate(purchase.id, message, False, check_at=current.check_at))

    # -- cancelling -------------------------------------------------------------------------

    async def cancel(
        self, rental_id: int, *, expect_refund: bool | None = None
    ) -> tuple[CancelResult, TrackedRental | None]:
        """Cancel a rental. It is checked again first: if an SMS arrived since the person
        was told a refund is due (`expect_refund`), or it ended, nothing is sent and
        `CancelChanged` says how it is now. After a cancel without refund, its code and
        SMS are fetched and kept."""
        return await self._call(self._cancel(rental_id, expect_refund), shield=True)

    async def _cancel(
        self, rental_id: int, expect_refund: bool | None
    ) -> tuple[CancelResult, TrackedRental | None]:
        client = self._client
        current = self._current(rental_id) or await self._db(self.store.rental, rental_id)
        if current is not None:
            with contextlib.suppress(ApiError):
                state = await client.rental(rental_id, priority=Priority.USER)
                fresh = current.with_state(state, self.server_now())
                if fresh != current:
                    await self._keep(fresh, new_code=_is_new_code(current, fresh))
                current = fresh
            if current.is_final:
                raise CancelChanged(
                    f"Nothing was sent: this rental has already ended ({current.status}).",
                    current,
                )
            if expect_refund and current.has_sms:
                code = f" (code {safe_text(current.code, max_length=20)})" if current.code else ""
                raise CancelChanged(
                    f"Nothing was sent: an SMS arrived a moment ago{code}, so cancelling now "
                    "would give NO refund. Look at the code first; cancel again if you still "
                    "want to.",
                    current,
                )
        result = await client.cancel(rental_id)
        rental = replace(current, status=result.status) if current else None
        if rental is not None and not result.refunded:
            # No refund: an SMS came. The code was paid for — fetch it and keep it.
            with contextlib.suppress(ApiError):
                state = await client.rental(rental_id, priority=Priority.USER)
                rental = rental.with_state(state, self.server_now())
        if rental is not None:
            await self._keep(rental, new_code=current is not None and _is_new_code(current, rental))
            assert self.poller is not None
            if rental.followed:
                # A status we do not know (spec, clarification 4): keep checking until the
                # server says how the rental ended.
                self.poller.track(rental)
                self.poller.poll_soon(rental_id)
            else:
                self.poller.forget(rental_id)
        if result.refunded:
            self._adjust_locally(result.amount)
        self._spawn(self._balance_chore.request())
        self._spawn(self._discover_chore.request())
        return result, rental

    async def refresh_rental(self, rental_id: int) -> None:
        """Poll one rental now, ahead of background polls."""
        await self._call(self._refresh(rental_id))

    async def _refresh(self, rental_id: int) -> None:
        assert self.poller is not None
        if rental_id in self.poller.followed_ids:
            await self.poller.poll_once(rental_id, Priority.USER)
        else:  # polled by another process: ask anyway, a person is waiting
            await self._poll_directly(rental_id)

    async def _poll_directly(self, rental_id: int) -> None:
        current = self._current(rental_id)
        if current is None:
            return
        state = await self._client.rental(rental_id, priority=Priority.USER)
        fresh = current.with_state(state, self.server_now())
        if fresh != current:
            await self._keep(fresh, new_code=_is_new_code(current, fresh))

    # -- history ------------------------------------------------------------------------------

    async def history(self) -> History:
        """The account's rentals: the server's last 100 merged into everything seen
        locally, newest first (so nothing is lost past the API's 100)."""
        return await self._call(self._history())

    async def _history(self) -> History:
        try:
            entries = await self._client.rentals()
        except ApiError as error:
            # The server failing must not hide what this machine knows.
            try:
                local = await self._db(self.store.load_rentals)
            except StoreError:
                raise error from None
            if not local:
                raise
            return History(sorted(local, key=_newest_first), None, server_error=error)
        problem: str | None = entries.note
        try:
            local = await self._db(self.store.load_rentals)
        except StoreError as error:
            self._store_failed(error)
            problem = f"{clean_message(error.message)} Showing the server's last 100 rentals only."
            local = []
        # Merged against the freshest copy of each rental (the live one, if followed) and
        # returned as merged: reading the store again after the writes could pick up a
        # poll that landed in between and show something this answer never said.
        rentals = {r.rental_id: r for r in local}
        try:
            claimed = await self._claimable(entries)
        except StoreError:
            claimed = set()
        for entry in entries:
            live = self._current(entry.rental_id)
            before = live or rentals.get(entry.rental_id)
            if before is None and entry.rental_id in claimed:
                continue  # may be what a lost rent bought: reconciliation decides
            merged = before.with_history(entry) if before else TrackedRental.from_history(entry)
            rentals[entry.rental_id] = merged
            if merged != before:
                with contextlib.suppress(StoreError):
                    await self._keep(merged)
        return History(sorted(rentals.values(), key=_newest_first), problem)

    # -- finding the account's rentals ---------------------------------------------------------

    async def look_at_account(self) -> list[TrackedRental]:
        """Look up the account's rentals now (a person is waiting: a command line's
        `rentals`), follow the active ones, and return the live panel's rentals."""
        await self._call(self._discover_now(Priority.USER, quiet=False))
        return self.rentals()

    async def follow(self, rental_id: int) -> TrackedRental:
        """The rental as the server says it now, followed from here on (a command line
        asked for it by id). Raises `NotFound` for a rental not on this account."""
        return await self._call(self._follow(rental_id))

    async def _follow(self, rental_id: int) -> TrackedRental:
        state = await self._client.rental(rental_id, priority=Priority.USER)
        before = self._current(rental_id) or await self._db(self.store.rental, rental_id)
        if before is None:
            before = TrackedRental(
                rental_id, state.phone, state.status, state.cost, origin="elsewhere"
            )
        rental = before.with_state(state, self.server_now())
        if rental != before or self._current(rental_id) is None:
            await self._keep(rental, new_code=_is_new_code(before, rental))
            await self._follow_soon()
        return rental

    async def _discover_now(
        self, priority: Priority = Priority.BACKGROUND, *, quiet: bool = True
    ) -> None:
        """Look up the account's rentals and follow the active ones no process here
        knows: rentals made on the website or another machine. `quiet`: a failure is
        not raised (a background look)."""
        client = self._client
        if not client.has_key:
            return
        try:
            entries = await client.rentals(priority=priority)
        except ApiError:
            if not quiet:
                raise
            return
        try:
            known = await self._db(self.store.known_ids)
            claimable = await self._claimable(entries)
        except StoreError as error:
            self._store_failed(error)
            return
        found = False
        for entry in entries:
            if entry.rental_id in known or entry.rental_id in claimable:
                continue  # known here; or a lost rent's, for reconciliation to decide
            if not entry.status.is_active:
                continue
            with contextlib.suppress(StoreError):
                await self._keep(TrackedRental.from_history(entry, origin="elsewhere"))
                found = True
        if found:
            self._spawn(self._sync_leases())
            self._spawn(self._balance_chore.request())  # a rent elsewhere moved money

    async def _claimable(self, entries: tuple[HistoryEntry, ...]) -> set[int]:
        """Rentals in `entries` a pending reconciliation may yet adopt: not to be taken
        as someone else's by the discovery or the history."""
        unresolved = await self._db(self.store.unresolved_purchases)
        return {
            e.rental_id
            for e in entries
            if any(reconcile.matches(purchase, e) for purchase in unresolved)
        }

    # -- watching the store, dividing the polling --------------------------------------------------

    async def _watch(self) -> None:
        """Show what other processes wrote: a new rental, a code they polled. The store
        is asked only when its files moved (or `WATCH_TRUST` passed): a query is a trip
        to the store's thread, ten times a second for as long as the program runs."""
        files: tuple[int, ...] = ()
        asked = time.monotonic()
        while True:
            await asyncio.sleep(self._watch_pace())
            signature = self.store.files_signature()
            if signature == files and time.monotonic() - asked < WATCH_TRUST:
                continue
            files, asked = signature, time.monotonic()
            try:
                version = await self._db(self.store.data_version)
                if version == self._data_version:
                    continue
                self._data_version = version
                changed, rev = await self._db(self.store.changes_since, self._seen_rev)
            except StoreError as error:
                self._store_failed(error)
                continue
            self._seen_rev = max(self._seen_rev, rev)
            for rental in changed:
                self._take_external(rental, rev)

    def _take_external(self, rental: TrackedRental, rev: int) -> None:
        rental_id = rental.rental_id
        with self._lock:
            if self._revs.get(rental_id, 0) >= rev:
                return
            before = self._rentals.get(rental_id)
        if before is not None and _same(before, rental):
            with self._lock:
                self._revs[rental_id] = rev
            return
        if before is None and not self._belongs_live(rental):
            return
        new_code = bool(rental.code) if before is None else _is_new_code(before, rental)
        with self._lock:
            self._rentals[rental_id] = rental
            self._revs[rental_id] = rev
        self._emit(RentalChanged(rental, new_code))
        if before is None or (rental.is_final and not before.is_final):
            # Money moved in another window (a rent, a refund): the wallet too.
            self._spawn(self._balance_chore.request())

    def _belongs_live(self, rental: TrackedRental) -> bool:
        if rental.followed:
            return True
        if rental.expires_at is None:
            return False
        return rental.expires_at > self.server_now() - RECENT_WINDOW

    async def _coordinate(self) -> None:
        """Heartbeat; take this process's share of the account's active rentals (and a
        dead process's); look for rentals made elsewhere once a minute."""
        first = True
        while True:
            # A budget file that cannot be written (full disk): requests go on within
            # this process's own ceiling; say that it is no longer shared.
            problem = getattr(self._client.scheduler.ledger, "problem", None)
            if isinstance(problem, str):
                self._store_failed(StoreError(problem), kind="budget")
            else:
                self._store_ok(kind="budget")
            try:
                await self._sync_leases()
                if await self._db(self.store.claim_task, "discover", self._discover_every):
                    self._spawn(self._discover_now() if first else self._discover_chore.request())
                await self._adopt_orphans()
            except StoreError as error:
                self._store_failed(error)
            first = False
            idle_every = min(COORDINATE_IDLE, 0.8 * self._lease_ttl)
            await asyncio.sleep(self._pace(self._coordinate_every, idle_every))

    def _watch_pace(self) -> float:
        """`watch_every` while another process follows the account too: a code it polls
        must reach this screen at once. Alone, only a newcomer can write the store (a
        CLI renting, a TUI starting), and `WATCH_IDLE` finds its rental soon enough; ten
        looks a second were a third of the CPU of a window following 20 rentals."""
        if self._processes > 1:
            return self._pace(self._watch_every, WATCH_IDLE)
        return max(self._watch_every, WATCH_IDLE)

    def _pace(self, every: float, idle_every: float) -> float:
        """`every`, or `idle_every` (if longer) while no rental is active on the account
        (as of the last census) and none is followed here: the store's watcher and the
        heartbeat can take their time."""
        idle = self._census == (0, 0) and not (self.poller and self.poller.following)
        return max(every, idle_every) if idle else every

    async def _sync_leases(self) -> None:
        poller = self.poller
        assert poller is not None
        busy = poller.busy_ids()
        leases = await self._db(self.store.sync_leases, self.owner, self._lease_ttl, keep=busy)
        self._census = (leases.waiting, leases.slow)
        self._processes = leases.processes
        following = poller.followed_ids
        for rental_id in leases.mine - following:
            known = self._current(rental_id)
            rental = known or await self._db(self.store.rental, rental_id)
            if rental is None or not rental.followed:
                continue
            with self._lock:
                self._rentals.setdefault(rental_id, rental)
            poller.track(rental)  # taken over (or new): look at once
            if known is None:
                # First heard of here, before the watcher saw it: money moved elsewhere.
                self._spawn(self._balance_chore.request())
        for rental_id in following - leases.mine - busy:
            poller.forget(rental_id)

    async def _follow_soon(self) -> None:
        """A new rental: take its lease now (if it is this process's share), so polling
        starts without waiting for the next round."""
        try:
            await self._sync_leases()
        except StoreError as error:
            self._store_failed(error)

    async def _adopt_orphans(self) -> None:
        """Settle the unresolved purchases of processes that are gone."""
        unresolved = await self._db(self.store.unresolved_purchases)
        others = [p for p in unresolved if p.owner != self.owner]
        with self._lock:
            self._pending_elsewhere = others
        if not others:
            return
        live = await self._db(self.store.live_processes, self._lease_ttl)
        for purchase in others:
            if purchase.owner in live:
                continue  # its own process is settling it
            await self._journal(purchase.id, owner=self.owner)
            self._unresolved[purchase.id] = self._orphan(purchase)
        if self._unresolved:
            self._ensure_reconciling()

    def _orphan(self, purchase: Purchase) -> Purchase:
        """An unresolved purchase taken over: one that never got past "sending" (its
        process died mid-request) is dead now; it gets the full grace period too."""
        if purchase.state == "sending" or purchase.check_at is None:
            now = _local_now()
            return replace(
                purchase,
                state="unknown",
                dead_at=purchase.dead_at or now,
                check_at=now + timedelta(seconds=self._rent_grace),
            )
        return purchase

    # -- internals ---------------------------------------------------------------------------

    @property
    def _client(self) -> RentNumberClient:
        assert self.client is not None
        return self.client

    def _current(self, rental_id: int) -> TrackedRental | None:
        with self._lock:
            return self._rentals.get(rental_id)

    async def _keep(self, rental: TrackedRental, *, new_code: bool = False) -> None:
        """The one way a rental changes: stored first, then the copy, then the event.
        A store that fails does not stop the change reaching the screen (a code must be
        seen); the failure is said."""
        try:
            rev = await self._db(self.store.save_rental, rental)
        except StoreError as error:
            self._store_failed(error)
            rev = 0
        else:
            self._store_ok()
        rental_id = rental.rental_id
        with self._lock:
            if rental.followed or rental_id in self._rentals or self._belongs_live(rental):
                self._rentals[rental_id] = rental
            self._revs[rental_id] = max(self._revs.get(rental_id, 0), rev)
            self._poll_errors.pop(rental_id, None)
        self._emit(RentalChanged(rental, new_code))

    async def _save_polled(self, rental: TrackedRental) -> None:
        """The poller's save; the event follows in `_polled`."""
        try:
            rev = await self._db(self.store.save_rental, rental)
        except StoreError as error:
            self._store_failed(error)
            return
        self._store_ok()
        with self._lock:
            self._revs[rental.rental_id] = max(self._revs.get(rental.rental_id, 0), rev)

    def _polled(self, rental: TrackedRental, new_code: bool) -> None:
        with self._lock:
            self._rentals[rental.rental_id] = rental
            self._poll_errors.pop(rental.rental_id, None)
        self._emit(RentalChanged(rental, new_code))
        if rental.is_final and rental.status.value in ("refunded", "expired"):
            self._spawn(self._balance_chore.request())

    def _auth_lost(self, error: ApiError) -> None:
        """A 401 while following: paused until a new key is set, and said so everywhere
        (the top bar, each rental) until then, not only in the login dialog."""
        self._key_refused = "paused — key refused; F6 to log in"
        self._emit(AuthLost(clean_message(error.message)))

    def _poll_failed(self, rental_id: int, error: ApiError) -> None:
        message = clean_message(error.message)
        with self._lock:
            self._poll_errors[rental_id] = f"Last check failed: {message}"
        self._emit(RentalPollFailed(rental_id, message))

    async def _refresh_balance_quietly(self) -> None:
        """A background balance refresh; failures show in the header only."""
        if self._client.has_key:
            with contextlib.suppress(ApiError):
                await self._balance(Priority.BACKGROUND)

    def _adjust_locally(self, change: Decimal) -> None:
        """Show a rent's cost or a refund in the balance at once; the server's figure
        follows with the next (settled) refresh."""
        if self.last_balance is not None:
            amount = self.last_balance.amount + change
            self.last_balance = replace(self.last_balance, amount=amount)
            self._emit(BalanceChanged(self.last_balance))

    def _on_health(self, health: Health) -> None:
        error = health.last_error
        self._emit(HealthChanged(health.state, clean_message(error.message) if error else None))

    def _store_failed(self, error: StoreError, *, kind: str = "store") -> None:
        """Say a failure of the local files once, until that kind works again."""
        message = clean_message(error.message)
        said = self._store_problems.setdefault(kind, set())
        if message not in said:
            said.add(message)
            self._emit(StoreFailed(message))

    def _store_ok(self, *, kind: str = "store") -> None:
        self._store_problems.pop(kind, None)

    async def _restore(self) -> None:
        """After a start (or a crash): follow every open rental again, show recent ones,
        and settle purchases whose outcome was never learned (ours, or a dead
        process's)."""
        await self._db(self.store.register_process, self.owner, os.getpid())
        now = self.server_now()
        self._seen_rev = await self._db(self.store.revision)
        self._data_version = await self._db(self.store.data_version)
        for rental in await self._db(self.store.load_rentals, limit=500):
            recent = rental.expires_at is not None and rental.expires_at > now - RECENT_WINDOW
            if rental.followed or recent:
                self._rentals[rental.rental_id] = rental
        await self._sync_leases()
        await self._adopt_orphans()


def _local_now() -> datetime:
    """This machine's clock, for waits (the journal keeps them for other processes)."""
    return datetime.now(UTC)


def _is_new_code(before: TrackedRental, after: TrackedRental) -> bool:
    return bool(after.code) and (after.code, after.sms) != (before.code, before.sms)


def _same(a: TrackedRental, b: TrackedRental) -> bool:
    """Equal as stored (what the store does not keep, such as earlier codes, aside)."""
    return replace(a, earlier_codes=()) == replace(b, earlier_codes=())


def _offer_ref(purchase: Purchase) -> OfferRef | None:
    if purchase.country_id is None or purchase.provider_id is None:
        return None
    return OfferRef(purchase.pricing_id, purchase.country_id, purchase.provider_id)


def _newest_first(rental: TrackedRental) -> tuple[float, int]:
    """History order: newest first; a rental not yet dated counts as newest."""
    created = rental.created_at
    return (-(created.timestamp() if created else float("inf")), -rental.rental_id)


def _waiting_text(purchase: Purchase, now: datetime) -> str:
    """What an unresolved rent is waiting for, and how long (spec, clarification 8)."""
    what = labels_text(purchase.labels)
    check_at = purchase.check_at
    if check_at is None:
        return f"Renting {what} is locked until the outcome of the earlier rent is known."
    left = max(0, round((check_at - now).total_seconds()))
    return (
        f"Renting {what} stays locked until {check_at.astimezone(UTC):%H:%M:%S} UTC "
        f"(in {left} s): a slow server can still perform the earlier rent, so the account "
        "is checked again then; the result is shown by itself."
    )


def _ambiguous_text(purchase: Purchase, found: tuple[HistoryEntry, ...]) -> str:
    phones = ", ".join(safe_text(e.phone, max_length=24) for e in found)
    return (
        f"The answer to the rent of {labels_text(purchase.labels)} was lost, and "
        f"{len(found)} rentals of that offer appeared on the account at that moment "
        f"({phones}): one of them may be someone else's (the website, another device). "
        "None was taken as yours; each is shown marked 'yours?'. Cancel any that is not."
    )


def labels_text(labels: RentalLabels) -> str:
    """ "WhatsApp / Nigeria / Alpha", made safe to show (the names come from the server)."""
    names = (labels.service, labels.country, labels.provider)
    parts = [safe_text(name, max_length=40) for name in names]
    return " / ".join(part for part in parts if part) or "a number"


def clean_message(message: str) -> str:
    """An error text safe to show as plain text: server words quoted in it cannot reach
    the terminal as escapes or control characters (spec, clarification 11)."""
    return safe_text(message, max_length=MAX_MESSAGE)


def _cleaned(error: UserFacingError) -> None:
    """`error` with its message (and the server's own text) made safe to show, in place:
    every error a front end receives from the engine has been through here."""
    error.message = clean_message(error.message)
    if isinstance(error, ApiError) and error.server_text is not None:
        error.server_text = safe_text(error.server_text, max_length=MAX_MESSAGE)
