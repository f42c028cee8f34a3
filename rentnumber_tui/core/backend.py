"""The backend: everything the UI asks of the API, run on its own thread and event loop.

Requests, JSON parsing, the poller, reconciliation and store writes all happen on the
backend thread, so a slow server, a 50,000-offer price list or a disk write never
stalls the screen. The UI awaits the async methods from its own loop (they hop threads)
and subscribes to `BackendEvent`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from rentnumber_tui.api.errors import ApiError, RentOutcomeUnknown
from rentnumber_tui.api.models import (
    Balance,
    CancelResult,
    Country,
    Offer,
    PriceList,
    Service,
    ServiceRef,
)
from rentnumber_tui.api.scheduler import Priority
from rentnumber_tui.core import catalog
from rentnumber_tui.core.events import (
    AuthLost,
    BackendEvent,
    BackendReady,
    BalanceChanged,
    CatalogUpdated,
    HealthChanged,
    PurchaseResolved,
    RentalChanged,
    RentalPollFailed,
)
from rentnumber_tui.core.poller import Poller, PollSettings
from rentnumber_tui.core.rentals import RentalLabels, TrackedRental
from rentnumber_tui.core.store import Purchase, Store
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.user_error import UserFacingError

if TYPE_CHECKING:  # httpx is imported on the backend thread, off the first frame's path
    from rentnumber_tui.api.client import RentNumberClient

T = TypeVar("T")

#: How far before our own clock reading a rental created by our rent may be stamped.
RECONCILE_MARGIN = timedelta(seconds=120)
#: Finished rentals stay in the live panel this long after they end.
RECENT_WINDOW = timedelta(hours=1)
RECONCILE_RETRY = 5.0
#: Seconds a background balance refresh waits for further changes to fold in.
BALANCE_SETTLE = 2.0
#: Longest error text handed to the UI (a server may send pages of it).
MAX_MESSAGE = 500


class RentBlocked(UserFacingError):
    """A rent cannot start now: one is in flight, or an earlier outcome is unresolved."""


class RentFailedSafely(UserFacingError):
    """The rent's outcome was unknown, and the account shows no new rental: nothing was
    bought, so trying again is safe."""


class RentStillUnknown(UserFacingError):
    """The rent's outcome is unknown and could not be checked yet (the server is not
    answering). Renting stays locked; the backend keeps checking and reports the result
    with a `PurchaseResolved` event."""


class Backend:
    def __init__(
        self,
        client_factory: Callable[[], RentNumberClient],
        store: Store,
        *,
        poll_settings: PollSettings | None = None,
        reconcile_retry: float = RECONCILE_RETRY,
        balance_settle: float = BALANCE_SETTLE,
    ) -> None:
        self._balance_settle = balance_settle
        self._client_factory = client_factory
        self._reconcile_retry = reconcile_retry
        self.store = store
        self._poll_settings = poll_settings or PollSettings()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[BackendEvent], None]] = []
        self._rentals: dict[int, TrackedRental] = {}
        self._renting = False
        self._unresolved: dict[int, Purchase] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client: RentNumberClient | None = None
        self.poller: Poller | None = None
        self.last_balance: Balance | None = None
        self._balance_busy = False
        self._balance_again = False
        #: Every store call runs on this one thread, in the order it was asked for: two
        #: writes of the same rental (a poll, a history merge) can never swap places.
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="rentnumber-store")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, *, wait: bool = True) -> None:
        """Start the backend thread; with `wait`, return once it is ready. Without, a
        `BackendReady` event says when (the UI paints its first frame meanwhile)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="rentnumber-backend", daemon=True
            )
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
        loop.run_until_complete(self._startup())
        self._ready.set()
        self._emit(BackendReady())
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        client = self._client_factory()
        self.client = client
        client.add_listener(self._on_health)
        # Poll at the rate the scheduler really grants (its window includes a margin).
        granted = client.scheduler.granted_rate
        settings = replace(self._poll_settings, rate=min(self._poll_settings.rate, granted))
        self.poller = Poller(
            lambda rental_id, priority: client.rental(rental_id, priority=priority),
            self._save,
            client.server_clock.now,
            on_change=self._on_rental_change,
            on_error=lambda rental_id, error: self._emit(
                RentalPollFailed(rental_id, clean_message(error.message))
            ),
            on_auth_lost=lambda error: self._emit(AuthLost(clean_message(error.message))),
            settings=settings,
        )
        self._spawn(self.poller.run())
        self._restore()

    def stop(self) -> None:
        """Stop polling, close the connection and end the thread (idempotent)."""
        if self._thread is not None:
            self._ready.wait(timeout=10)
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not loop.is_running():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._thread = None

    async def _shutdown(self) -> None:
        """Cancel everything still running on the backend loop (polls, reconciliation,
        requests the UI gave up on), then close the connection."""
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()
        self._store_thread.shutdown(wait=True)

    async def _db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call on the store thread (in order) and await it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_thread, partial(call, *args, **kwargs))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- crossing threads ----------------------------------------------------------------

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        assert self._loop is not None, "Backend.start() was not called"
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _call(self, coro: Coroutine[Any, Any, T], *, shield: bool = False) -> T:
        """Run `coro` on the backend loop and await it from the caller's loop. Cancelling
        the caller cancels the work, unless `shield` (a rent must finish regardless)."""
        if not self._ready.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self._ready.wait)
        future = asyncio.wrap_future(self.submit(coro))
        try:
            return await (asyncio.shield(future) if shield else future)
        except UserFacingError as error:
            _cleaned(error)
            raise

    def subscribe(self, callback: Callable[[BackendEvent], None]) -> Callable[[], None]:
        """Call `callback` (on the backend thread) for every event; returns unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def event_stream(self) -> AsyncIterator[BackendEvent]:
        """Every event from now on, delivered on the caller's (running) event loop. The
        subscription starts at once, so an event sent before iteration begins is kept."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[BackendEvent] = asyncio.Queue()

        def deliver(event: BackendEvent) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop has closed
                loop.call_soon_threadsafe(queue.put_nowait, event)

        unsubscribe = self.subscribe(deliver)

        async def stream() -> AsyncIterator[BackendEvent]:
            try:
                while True:
                    yield await queue.get()
            finally:
                unsubscribe()

        return stream()

    def _emit(self, event: BackendEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(event)

    # -- state the UI reads directly -----------------------------------------------------

    def server_now(self) -> datetime:
        """The server's time (the local clock until the first answer tells the offset)."""
        if self.client is None:
            return datetime.now(UTC)
        return self.client.server_clock.now()

    def rentals(self) -> list[TrackedRental]:
        """The live panel's rentals: every followed one and those that ended recently,
        newest first."""
        with self._lock:
            rentals = list(self._rentals.values())
        return sorted(rentals, key=lambda r: r.rental_id, reverse=True)

    @property
    def renting_locked(self) -> str | None:
        """Why renting is not possible right now, or None."""
        if self._renting:
            return "A rent request is already on its way."
        if self._unresolved:
            return "The outcome of an earlier rent is still being checked."
        return None

    def request_stats(self) -> tuple[int, int, float]:
        """(requests in the last second, requests waiting, the ceiling per second)."""
        client = self.client
        if client is None:
            return 0, 0, 2.0
        scheduler = client.scheduler
        return scheduler.in_window(), scheduler.waiting(), scheduler.max_requests / scheduler.per

    def cached_services(self) -> tuple[Service, ...] | None:
        entry = catalog.cached_services(self.store)
        return entry[0] if entry else None

    def cached_countries(self) -> tuple[Country, ...] | None:
        entry = catalog.cached_countries(self.store)
        return entry[0] if entry else None

    # -- the API, as the UI uses it ------------------------------------------------------

    async def services(self) -> tuple[Service, ...]:
        return await self._call(self._services())

    async def _services(self) -> tuple[Service, ...]:
        services = await self._client.services()
        await self._cache(catalog.SERVICES, catalog.dump_services(services))
        self._emit(CatalogUpdated(services=services))
        return services

    async def countries(self) -> tuple[Country, ...]:
        return await self._call(self._countries())

    async def _countries(self) -> tuple[Country, ...]:
        countries = await self._client.countries()
        await self._cache(catalog.COUNTRIES, catalog.dump_countries(countries))
        self._emit(CatalogUpdated(countries=countries))
        return countries

    async def _cache(self, name: str, body: str) -> None:
        """Keep a catalog answer for the next start (shown at once, then refreshed)."""
        await self._db(self.store.put_catalog, name, body)

    async def prices(self, slug: str, country_id: int | None = None) -> PriceList:
        return await self._call(self._client.prices(slug, country_id))

    async def balance(self) -> Balance:
        return await self._call(self._balance())

    async def _balance(self, priority: Priority = Priority.USER) -> Balance:
        balance = await self._client.balance(priority=priority)
        self.last_balance = balance
        self._emit(BalanceChanged(balance))
        return balance

    async def verify_key(self, key: str) -> Balance:
        """Check `key` with `GET /balance` without using it yet (the login screen does this
        before anything is saved). The check runs on a client for that key which shares
        the live one's connection, scheduler and clock — so it goes to the same server
        (the sandbox in demo mode) within the one rate ceiling — and is not retried: a
        person is waiting for the answer. Raises `Unauthorized` (401) or another
        `ApiError`."""
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
        poller = self.poller
        if not key:
            # Logged out: nothing can be polled; pause quietly instead of reporting
            # a refused key for every followed rental.
            self.last_balance = None
            if poller is not None:
                poller.pause()
            return
        if poller is not None and poller.paused:
            poller.resume()
        if balance is not None:
            self.last_balance = balance
            self._emit(BalanceChanged(balance))
        if self._unresolved:
            self._spawn(self._reconcile_pending())

    async def rent(
        self, offer: Offer, service: Service | ServiceRef, flag: str = ""
    ) -> TrackedRental:
        """Rent `offer`. Never sends a second rent while one is in flight or unresolved.

        Raises `RentBlocked`, an `ApiError` (nothing was bought), `RentFailedSafely`
        (outcome was unknown; checked; nothing was bought) or `RentStillUnknown`."""
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
            purchase_id = await self._db(
                self.store.begin_purchase, offer.id, offer.price, labels, started
            )
            purchase = Purchase(
                purchase_id, offer.id, offer.price, labels, started, "sending", None, None
            )
            try:
                rented = await self._client.rent(offer.id)
            except RentOutcomeUnknown as error:
                return await self._settle_unknown(purchase, error)
            except ApiError as error:
                await self._db(
                    self.store.finish_purchase, purchase_id, "failed", detail=error.message
                )
                raise
            rental = TrackedRental.from_rent(rented, labels)
            await self._save(rental)
            await self._db(
                self.store.finish_purchase, purchase_id, "done", rental_id=rental.rental_id
            )
            self._follow(rental)
            self._adjust_locally(-rental.cost)
            self._spawn(self._quiet_balance())
            return rental
        finally:
            self._renting = False

    async def _settle_unknown(self, purchase: Purchase, error: RentOutcomeUnknown) -> TrackedRental:
        await self._db(self.store.finish_purchase, purchase.id, "unknown", detail=error.message)
        self._unresolved[purchase.id] = replace(purchase, state="unknown")
        try:
            rental = await self._reconcile(purchase)
        except ApiError as check_error:
            self._spawn(self._reconcile_pending())
            raise RentStillUnknown(
                f"{error.message} Checking the account failed too ({check_error.message}); "
                "renting is locked until the account can be checked, which happens "
                "automatically."
            ) from None
        if rental is None:
            raise RentFailedSafely(
                f"{error.message} The account shows no new rental and nothing was charged, "
                "so it is safe to try again."
            )
        return rental

    async def _reconcile(self, purchase: Purchase) -> TrackedRental | None:
        """Find the rental `purchase` created, if any (spec, clarification 8)."""
        client = self._client
        history = await client.rentals(priority=Priority.USER)
        known = await self._db(lambda: {r.rental_id for r in self.store.load_rentals()})
        labels = purchase.labels
        since = purchase.started_at - RECONCILE_MARGIN
        candidates = [
            entry
            for entry in history
            if entry.rental_id not in known
            and entry.created_at >= since
            and entry.service == labels.service
            and entry.provider == labels.provider
            and entry.country == labels.country
        ]
        self._spawn(self._quiet_balance())
        if not candidates:
            await self._db(
                self.store.finish_purchase, purchase.id, "failed", detail="not on the account"
            )
            self._unresolved.pop(purchase.id, None)
            return None
        entry = min(candidates, key=lambda e: (e.created_at, e.rental_id))
        rental = replace(TrackedRental.from_history(entry), labels=labels)
        with contextlib.suppress(ApiError):
            state = await client.rental(entry.rental_id, priority=Priority.USER)
            rental = rental.with_state(state, self.server_now())
        await self._save(rental)
        await self._db(self.store.finish_purchase, purchase.id, "done", rental_id=rental.rental_id)
        self._unresolved.pop(purchase.id, None)
        self._follow(rental)
        return rental

    async def _reconcile_pending(self) -> None:
        """Keep checking unresolved purchases until each is settled."""
        while self._unresolved:
            for purchase in list(self._unresolved.values()):
                try:
                    rental = await self._reconcile(purchase)
                except ApiError:
                    continue
                if rental is None:
                    message = (
                        f"The earlier rent of {labels_text(purchase.labels)} did not go "
                        "through: nothing was bought. Renting is possible again."
                    )
                else:
                    message = (
                        f"The earlier rent of {labels_text(purchase.labels)} did go through: "
                        f"{safe_text(rental.phone, max_length=40)} is rented."
                    )
                self._emit(PurchaseResolved(purchase.id, rental, message))
            if self._unresolved:
                await asyncio.sleep(self._reconcile_retry)

    async def cancel(self, rental_id: int) -> tuple[CancelResult, TrackedRental | None]:
        return await self._call(self._cancel(rental_id), shield=True)

    async def _cancel(self, rental_id: int) -> tuple[CancelResult, TrackedRental | None]:
        result = await self._client.cancel(rental_id)
        with self._lock:
            current = self._rentals.get(rental_id)
        if current is None:
            current = next((r for r in self.store.load_rentals() if r.rental_id == rental_id), None)
        rental = replace(current, status=result.status) if current else None
        if rental is not None:
            await self._save(rental)
            self._on_rental_change(rental, False)
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
        self._spawn(self._quiet_balance())
        return result, rental

    async def refresh_rental(self, rental_id: int) -> None:
        """Poll one rental now, ahead of background polls."""
        assert self.poller is not None
        await self._call(self.poller.poll_once(rental_id, Priority.USER))

    async def history(self) -> list[TrackedRental]:
        """The account's rentals: the server's last 100 merged into everything seen
        locally, newest first (so nothing is lost past the API's 100)."""
        return await self._call(self._history())

    async def _history(self) -> list[TrackedRental]:
        entries = await self._client.rentals()
        # Merged against the freshest copy of each rental (the live one, if followed) and
        # returned as merged: reading the store again after the writes could pick up a
        # poll that landed in between and show something this answer never said.
        rentals = {r.rental_id: r for r in await self._db(self.store.load_rentals)}
        for entry in entries:
            with self._lock:
                live = self._rentals.get(entry.rental_id)
            before = live or rentals.get(entry.rental_id)
            merged = before.with_history(entry) if before else TrackedRental.from_history(entry)
            rentals[entry.rental_id] = merged
            if merged == before:
                continue
            await self._save(merged)
            if live is not None:
                self._on_rental_change(merged, False)
                assert self.poller is not None
                self.poller.track(merged)
            elif merged.followed:
                self._follow(merged)
        return sorted(rentals.values(), key=_newest_first)

    # -- internals -----------------------------------------------------------------------

    @property
    def _client(self) -> RentNumberClient:
        assert self.client is not None
        return self.client

    async def _save(self, rental: TrackedRental) -> None:
        await self._db(self.store.save_rental, rental)

    def _follow(self, rental: TrackedRental) -> None:
        with self._lock:
            self._rentals[rental.rental_id] = rental
        assert self.poller is not None
        self.poller.track(rental, due_in=self.poller.interval_for(rental))
        self._emit(RentalChanged(rental))

    def _on_rental_change(self, rental: TrackedRental, new_code: bool) -> None:
        with self._lock:
            self._rentals[rental.rental_id] = rental
        self._emit(RentalChanged(rental, new_code))
        if rental.is_final and rental.status.value in ("refunded", "expired"):
            self._spawn(self._quiet_balance())

    async def _quiet_balance(self) -> None:
        """Refresh the balance in the background; failures show in the header only.

        It waits `BALANCE_SETTLE` seconds first, and every request made meanwhile (or
        while one is on its way) folds into the same refresh: a burst of rents spends
        one request on the balance, not one each, leaving the budget to polling."""
        if not self._client.has_key:
            return
        if self._balance_busy:
            self._balance_again = True
            return
        self._balance_busy = True
        try:
            self._balance_again = True
            while self._balance_again:
                self._balance_again = False
                await asyncio.sleep(self._balance_settle)
                if self._balance_again:  # more changes came: wait for them to settle
                    continue
                with contextlib.suppress(ApiError):
                    await self._balance(Priority.BACKGROUND)
        finally:
            self._balance_busy = False

    def _adjust_locally(self, change: Decimal) -> None:
        """Show a rent's cost or a refund in the balance at once; the server's figure
        follows with the next (settled) refresh."""
        if self.last_balance is not None:
            amount = self.last_balance.amount + change
            self.last_balance = replace(self.last_balance, amount=amount)
            self._emit(BalanceChanged(self.last_balance))

    def _on_health(self, health: Any) -> None:
        error = health.last_error
        self._emit(HealthChanged(health.state, clean_message(error.message) if error else None))

    def _restore(self) -> None:
        """After a start (or a crash): follow every open rental again, show recent ones,
        and settle purchases whose outcome was never learned."""
        now = self.server_now()
        assert self.poller is not None
        for rental in self.store.load_rentals(limit=500):
            recent = rental.expires_at is not None and rental.expires_at > now - RECENT_WINDOW
            if rental.followed or recent:
                self._rentals[rental.rental_id] = rental
            if rental.followed:
                self.poller.track(rental)
        for purchase in self.store.unresolved_purchases():
            self._unresolved[purchase.id] = purchase
        if self._unresolved:
            self._spawn(self._reconcile_pending())


def _newest_first(rental: TrackedRental) -> tuple[float, int]:
    """History order: newest first; a rental not yet dated counts as newest."""
    created = rental.created_at
    return (-(created.timestamp() if created else float("inf")), -rental.rental_id)


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
    every error the UI receives from the backend has been through here."""
    error.message = clean_message(error.message)
    if isinstance(error, ApiError) and error.server_text is not None:
        error.server_text = safe_text(error.server_text, max_length=MAX_MESSAGE)
