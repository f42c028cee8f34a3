"""The client against the project's simulated server, in-process (`ASGITransport`) and
over real loopback sockets: every endpoint, the full rental flow, every error class via
the fault knobs, the rate ceiling as the server saw it, and the never-rent-twice rule."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from rentnumber_tui.api import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    InsufficientBalance,
    InvalidResponse,
    NotFound,
    OutOfStock,
    Priority,
    ProviderError,
    RentalStatus,
    RentNumberClient,
    RentOutcomeUnknown,
    RequestScheduler,
    RequestTimeout,
    ServerError,
    Throttled,
    Unauthorized,
)
from rentnumber_tui.api.scheduler import LocalLedger
from rentnumber_tui.sandbox import DEMO_API_KEY

from ..conftest import START
from .conftest import settled_log


@pytest.fixture
def log_of(sandbox, arrivals):
    """`await log_of(method, path)`: the settled request log, filtered."""

    async def filtered(method: str | None = None, path: str | None = None) -> list:
        return [
            r
            for r in await settled_log(sandbox, arrivals)
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    return filtered


# -- every endpoint ---------------------------------------------------------------------


async def test_catalog(sandbox_client, sandbox, log_of) -> None:
    client = sandbox_client(api_key=None)  # the catalog needs no key
    services = await client.services()
    countries = await client.countries()
    assert [s.slug for s in services] == [s.slug for s in sandbox.catalog.services]
    assert [c.iso_code for c in countries] == [c.iso_code for c in sandbox.catalog.countries]
    assert all(isinstance(s.min_price, Decimal) for s in services if s.min_price is not None)
    assert all(r.status == 200 for r in await log_of())


async def test_prices_with_and_without_country(sandbox_client, sandbox, log_of) -> None:
    client = sandbox_client(api_key=None)
    nigeria = next(c for c in sandbox.catalog.countries if c.iso_code == "NG")
    every = await client.prices("whatsapp")
    in_nigeria = await client.prices("whatsapp", country_id=nigeria.id)
    assert every.service.slug == "whatsapp"
    assert {o.country_id for o in in_nigeria.offers} == {nigeria.id}
    assert len(every.offers) > len(in_nigeria.offers) > 0
    offer = sandbox.pick_offer("whatsapp", "NG")
    mine = next(o for o in in_nigeria.offers if o.id == offer.id)
    assert mine.price == offer.final_price and isinstance(mine.price, Decimal)
    assert mine.stock == sandbox.stock_of(offer.id)
    assert (await log_of())[1].path == "/api/v1/services/whatsapp/prices"


async def test_balance(sandbox_client, sandbox) -> None:
    balance = await sandbox_client().balance()
    assert balance.amount == sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00")
    assert balance.currency == "NGN"


async def test_rent_poll_cancel_and_history(sandbox_client, sandbox, clock) -> None:
    client = sandbox_client()
    offer = sandbox.pick_offer("whatsapp", "NG")
    before = (await client.balance()).amount

    rented = await client.rent(offer.id)
    assert rented.cost == offer.final_price
    assert rented.expires_at == START + timedelta(minutes=15)
    assert (await client.balance()).amount == before - offer.final_price
    state = await client.rental(rented.rental_id)
    assert state.status in (RentalStatus.PENDING, RentalStatus.WAITING) and state.code is None

    clock.advance(21)  # past the largest SMS delay of this sandbox (5-20 s)
    state = await client.rental(rented.rental_id)
    assert state.status is RentalStatus.RECEIVED and state.code
    assert state.code in (state.sms or "")
    assert state.phone == rented.phone

    # After an SMS: cancelled, no refund.
    after_sms = await client.cancel(rented.rental_id)
    assert after_sms.status is RentalStatus.CANCELLED
    assert not after_sms.refunded and after_sms.amount == Decimal("0.00")

    # Before an SMS: refunded in full.
    second = await client.rent(offer.id)
    refund = await client.cancel(second.rental_id)
    assert refund.status is RentalStatus.REFUNDED and refund.refunded
    assert refund.amount == second.cost
    assert (await client.balance()).amount == before - offer.final_price

    history = await client.rentals()
    assert [h.rental_id for h in history] == [second.rental_id, rented.rental_id]
    assert history[0].status is RentalStatus.REFUNDED
    assert history[1].status is RentalStatus.CANCELLED
    assert history[1].created_at == START and history[0].created_at == START + timedelta(seconds=21)
    assert history[1].cost == offer.final_price


async def test_server_clock_follows_the_sandbox_clock(sandbox_client, clock) -> None:
    client = sandbox_client(api_key=None)
    await client.services()
    assert abs((client.server_clock.now() - clock.now()).total_seconds()) < 1.5
    clock.advance(3600)  # the server's clock jumps an hour
    await client.countries()
    assert abs((client.server_clock.now() - clock.now()).total_seconds()) < 1.5
    expires = clock.now() + timedelta(minutes=15)
    assert client.server_clock.seconds_until(expires) == pytest.approx(900, abs=1.5)


# -- errors from the server's own rules -------------------------------------------------


async def test_wrong_key_is_unauthorized(sandbox_client) -> None:
    with pytest.raises(Unauthorized) as info:
        await sandbox_client(api_key="rn_wrong_key_0000000000").balance()
    assert info.value.status_code == 401
    assert "rn_wrong_key_0000000000" not in str(info.value)


async def test_not_found(sandbox_client) -> None:
    client = sandbox_client()
    with pytest.raises(NotFound):
        await client.rental(999_999)
    with pytest.raises(NotFound) as info:
        await client.prices("no-such-service")
    assert info.value.server_text == "Service not found"


async def test_insufficient_balance(sandbox_client, sandbox) -> None:
    offer = sandbox.pick_offer("whatsapp", "NG")
    sandbox.set_balance(DEMO_API_KEY, Decimal("1.00"))
    with pytest.raises(InsufficientBalance) as info:
        await sandbox_client().rent(offer.id)
    assert info.value.server_text.startswith("Insufficient balance. Need ₦")
    assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_out_of_stock(sandbox_client, sandbox) -> None:
    offer = sandbox.pick_offer("whatsapp", "NG")
    sandbox.set_stock(offer.id, 0)
    with pytest.raises(OutOfStock):
        await sandbox_client().rent(offer.id)


async def test_other_400(sandbox_client, sandbox) -> None:
    client = sandbox_client()
    rented = await client.rent(sandbox.pick_offer("whatsapp", "NG").id)
    await client.cancel(rented.rental_id)
    with pytest.raises(BadRequest) as info:
        await client.cancel(rented.rental_id)
    assert type(info.value) is BadRequest
    assert info.value.server_text == "Rental is already refunded"
    assert "Rental is already refunded" in info.value.message


# -- errors from the fault knobs --------------------------------------------------------


FAULTS = {
    "502_html": (ProviderError, "502"),
    "truncated_json": (InvalidResponse, "cut off"),
    "wrong_types": (InvalidResponse, "where a whole number was expected"),
    "missing_fields": (InvalidResponse, "is missing the field 'data[0].slug'"),
    "success_false_200": (InvalidResponse, "Provider temporarily unavailable"),
    "429": (Throttled, "429"),
    "500": (ServerError, "500"),
    "hang": (RequestTimeout, "No answer"),
    "drop": (ConnectionFailed, "GET /services"),
}


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_fault_becomes_its_error(sandbox_client, sandbox, kind: str, log_of) -> None:
    error, fragment = FAULTS[kind]
    client = sandbox_client(api_key=None, max_retries=0, timeout=0.3)
    sandbox.faults.inject(kind, "/services")
    with pytest.raises(ApiError) as info:
        await client.services()
    assert type(info.value) is error
    assert fragment in info.value.message
    if kind == "429":
        assert info.value.retry_after == 2.0
    assert len(await log_of("GET", "/api/v1/services")) == 1
    if kind == "429":  # everyone waits the server's Retry-After
        assert 1.5 < client.scheduler.paused_for() <= 2.0
    else:
        assert await client.services()  # the next request is fine again


async def test_unknown_status_is_kept(sandbox_client, sandbox) -> None:
    client = sandbox_client()
    rented = await client.rent(sandbox.pick_offer("whatsapp", "NG").id)
    sandbox.faults.inject("unknown_status", "/rental/")
    state = await client.rental(rented.rental_id)
    assert state.status == "on_hold" and not state.status.is_known and state.status.is_active


@pytest.mark.parametrize("kind", ["502_html", "hang", "drop"])
async def test_gets_recover_by_retrying(sandbox_client, sandbox, sleeps, kind: str, log_of) -> None:
    client = sandbox_client(api_key=None, timeout=0.3, sleep=sleeps)
    sandbox.faults.inject(kind, "/countries", count=2)
    assert len(await client.countries()) == len(sandbox.catalog.countries)
    assert len(await log_of("GET", "/api/v1/countries")) == 3
    assert len(sleeps) == 2
    assert client.health.state == "online"


async def test_429_retry_waits_out_retry_after(sandbox_client, sandbox, log_of) -> None:
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    fake = Clock()
    waited: list[float] = []

    async def sleep(delay: float) -> None:
        waited.append(delay)
        fake.now += delay

    scheduler = RequestScheduler(100, 1.0, clock=fake)
    client = sandbox_client(api_key=None, scheduler=scheduler, sleep=sleep)
    sandbox.faults.inject("429", "/services")
    assert await client.services()
    assert waited == [2.0]
    assert [r.status for r in await log_of("GET", "/api/v1/services")] == [429, 200]


# -- POST /rent: one attempt, and an unknown outcome is said to be unknown ----------------


@pytest.mark.parametrize(
    ("kind", "created", "error"),
    [
        ("502_html", 0, RentOutcomeUnknown),
        ("500", 1, RentOutcomeUnknown),
        ("truncated_json", 1, RentOutcomeUnknown),
        ("wrong_types", 1, RentOutcomeUnknown),
        ("missing_fields", 1, RentOutcomeUnknown),
        ("drop", 1, RentOutcomeUnknown),
        ("hang", 0, RentOutcomeUnknown),
        ("success_false_200", 0, InvalidResponse),
        ("429", 0, Throttled),
    ],
)
async def test_rent_faults(sandbox_client, sandbox, kind: str, created: int, error, log_of) -> None:
    client = sandbox_client(timeout=0.3)
    sandbox.faults.inject(kind, "/rent")
    with pytest.raises(ApiError) as info:
        await client.rent(sandbox.pick_offer("whatsapp", "NG").id)
    assert type(info.value) is error
    assert len(await log_of("POST", "/api/v1/rent")) == 1
    assert len(sandbox.rentals_of(DEMO_API_KEY)) == created


async def test_slow_rent_is_outcome_unknown_and_created_once(
    sandbox_client, sandbox, log_of
) -> None:
    client = sandbox_client(timeout=0.3)
    sandbox.faults.rent_response_delay = 1.0  # longer than the client waits
    offer = sandbox.pick_offer("whatsapp", "NG")
    with pytest.raises(RentOutcomeUnknown) as info:
        await client.rent(offer.id)
    assert isinstance(info.value.cause, RequestTimeout)
    assert "may or may not have been rented" in info.value.message
    sandbox.faults.rent_response_delay = 0.0
    rentals = sandbox.rentals_of(DEMO_API_KEY)
    assert len(rentals) == 1
    assert len(await log_of("POST", "/api/v1/rent")) == 1
    # Reconciliation is possible: the history shows the rental the request created.
    history = await client.rentals()
    assert [h.rental_id for h in history] == [rentals[0].rental_id]


# -- the rate ceiling, as the server saw it ---------------------------------------------


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


async def test_rate_ceiling_on_the_server(sandbox_client, sandbox, log_of) -> None:
    scheduler = RequestScheduler()  # the production ceiling: 2 per second
    sandbox.faults.enforce_rate_limit = True  # the server 429s a third request in 1 s
    poller = sandbox_client(scheduler=scheduler)
    browser = sandbox_client(scheduler=scheduler, api_key=None)
    background = Priority.BACKGROUND
    await asyncio.gather(
        poller.balance(priority=background),  # these two fill the first second
        poller.rentals(priority=background),
        poller.balance(priority=background),  # these two queue first...
        poller.rentals(priority=background),
        browser.services(),  # ...but a person's requests go ahead of them
        browser.countries(),
    )
    log = await log_of()
    seen = [(round(r.monotonic - log[0].monotonic, 3), r.path, r.status) for r in log]
    assert len(log) == 6, seen
    assert all(r.status == 200 for r in log), seen
    assert most_in_one_second([r.monotonic for r in log]) == 2, seen
    assert {r.path for r in log[2:4]} == {"/api/v1/services", "/api/v1/countries"}
    assert {r.path for r in log[4:6]} == {"/api/v1/balance", "/api/v1/rentals"}


class CountingLedger(LocalLedger):
    """The in-memory ledger, remembering which of its operations each request used."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def try_start(self, *args: Any) -> float:
        self.calls.append("try_start")
        return super().try_start(*args)

    def hold(self, owner: str, ticket: int) -> None:
        self.calls.append("hold")
        super().hold(owner, ticket)

    def sent(self, owner: str, ticket: int, now: float) -> None:
        self.calls.append("sent")
        super().sent(owner, ticket, now)


async def test_only_a_request_that_connects_is_held_until_it_is_sent(loopback_server) -> None:
    """Connecting can take long, so such a request counts from when its headers leave;
    one on a warm connection leaves at once and costs the (shared) ledger one operation,
    not three."""
    ledger = CountingLedger()
    scheduler = RequestScheduler(ledger=ledger)
    async with RentNumberClient(base_url=loopback_server, scheduler=scheduler) as client:
        await client.services()
        assert ledger.calls == ["try_start", "hold", "sent"]
        assert scheduler.in_window() == 1
        await client.countries()  # the same connection, kept alive
        assert ledger.calls == ["try_start", "hold", "sent", "try_start"]
        assert scheduler.in_window() == 2
