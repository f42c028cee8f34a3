"""The fault matrix: every failure class × every operation it can hit, through the real
App (spec, clarifications 6 and 8).

Each cell runs the App under Pilot, lets the person do one thing (browse the services,
open a price list, rent, wait for a code, cancel, check the balance, open the history)
while the server misbehaves in one way, then checks:
- what the person is told, in words (the status line, the dialog or the notification);
- the app's state: still running, no rental dropped from view, nothing bought twice;
- that it backs off and resumes by itself once the server behaves again.

In-process (ASGI) for the classes that are about the answer's content; over real HTTP
for timeouts, dropped connections and a server that stops and comes back on its port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from rentnumber_tui.api.models import Offer, RentalStatus, Service
from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen, ConfirmRentScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.core.waiting import wait_until
from tests.e2e.conftest import Harness, LoopbackServer, told

START = Decimal("25000.00")

#: Failure classes answered in-process, and those that need a real socket.
IN_PROCESS = [
    "502_html",
    "truncated_json",
    "wrong_types",
    "missing_fields",
    "unknown_status",
    "success_false_200",
    "401",
    "429",
]
OVER_HTTP = ["hang", "drop", "stop"]
OPERATIONS = ["browse", "prices", "rent", "poll", "cancel", "balance", "history"]

#: What the person is told when the failure reaches them (a fragment of the words).
SAYS = {
    "502_html": "(status 502)",
    "truncated_json": "cut off (incomplete JSON)",
    "wrong_types": "was expected",
    "missing_fields": "is missing the field",
    "success_false_200": "despite status 200",
    "401": "did not accept the API key",
    "429": "(status 429)",
    "hang": "No answer from the server",
    "drop": "connection to 127.0.0.1 failed",
    "stop": "Could not connect to 127.0.0.1",
}
#: Classes a GET survives without the person noticing: the client retries (after the
#: server's Retry-After, a timeout, a dropped connection) or the answer is still usable.
TRANSPARENT_FOR_GET = {"429", "hang", "drop"}
#: Classes whose faulty answer comes after the server did the work.
EXECUTED = {"truncated_json", "wrong_types", "missing_fields", "unknown_status", "drop"}
#: A transient class needs this many faulty answers in a row to beat the client's
#: retries (1 + 3) and reach the person.
THROUGH_RETRIES = 4


#: Where "401" means the account's key is revoked (elsewhere the one request is refused,
#: so the poller of the rentals these operations need does not meet it first).
REVOKE_FOR = {"browse", "prices", "rent", "poll", "balance"}


@dataclass(frozen=True)
class Fault:
    kind: str
    path: str
    method: str | None = None
    revoke: bool = False

    def inject(self, h: Harness, count: int | None = None) -> None:
        """Start misbehaving: a one-shot fault, a revoked key, or a stopped server."""
        if self.kind == "401" and self.revoke:
            h.sandbox.revoke_key(DEMO_API_KEY)
        elif self.kind == "stop":
            assert h.server is not None
            h.server.stop()
        else:
            if count is None:
                count = THROUGH_RETRIES if self.kind == "502_html" else 1
            h.sandbox.faults.inject(self.kind, self.path, count=count, method=self.method)

    async def hit(self, h: Harness, count: int) -> None:
        """Wait until the server has misbehaved at least once."""
        if self.kind == "stop":
            await wait_until(lambda: h.engine.client.health.state == "offline", what="offline")
        elif self.kind == "401" and self.revoke:
            await wait_until(
                lambda: any(r.status == 401 for r in h.sandbox.request_log), what="a 401"
            )
        else:
            pending = h.sandbox.faults.pending
            await wait_until(
                lambda: not pending() or pending()[0][2] < count, what="the fault to be met"
            )

    def clear(self, h: Harness) -> None:
        """Behave again: every queued fault gone, the key valid, the server back."""
        h.sandbox.faults.clear()
        if self.kind == "401" and self.revoke:
            h.sandbox.restore_key(DEMO_API_KEY)
            h.engine.set_api_key(DEMO_API_KEY)
        elif self.kind == "stop":
            assert h.server is not None
            if not h.server.running:
                h.server.start()


async def says(h: Harness, fragment: str, what: str, timeout: float = 10) -> None:
    await wait_until(lambda: fragment in told(h), timeout=timeout, what=f"{what}: “{fragment}”")


def requests_to(h: Harness, method: str, prefix: str) -> list:
    return [r for r in h.sandbox.request_log if r.method == method and r.path.startswith(prefix)]


# -- helpers the operations share --------------------------------------------------------


async def started(h: Harness) -> None:
    await wait_until(lambda: isinstance(h.app.screen, ServicesScreen), what="services screen")
    listing = h.app.screen.query_one(FilterList)
    await wait_until(lambda: listing.shown, what="services listed")
    await wait_until(lambda: h.app.engine.status().balance is not None, what="balance")


async def whatsapp(h: Harness) -> tuple[Service, Offer]:
    services = h.app.services or await h.engine.services()
    service = next(s for s in services if s.slug == "whatsapp")
    offers = (await h.engine.prices("whatsapp")).offers
    return service, next(o for o in offers if o.available)


async def rented(h: Harness) -> TrackedRental:
    """A rental made before the fault, followed by the app. After a rent the engine looks
    at the account for rentals made elsewhere (GET /rentals): wait for that, so it cannot
    take a fault aimed at what the person does next."""
    service, offer = await whatsapp(h)
    before = len(requests_to(h, "GET", "/api/v1/rentals"))
    rental = await h.engine.rent(offer, service)
    await wait_until(lambda: h.engine.rental(rental.rental_id), what="rental in the app")

    def looked() -> bool:
        # The look is folded (it waits a moment, then runs once): it has run when one
        # more GET /rentals arrived and the chore is no longer pending.
        count = len(requests_to(h, "GET", "/api/v1/rentals"))
        return count > before and not h.engine._discover_chore.busy

    await wait_until(looked, what="the look at the account after the rent")
    return rental


def assert_nothing_dropped(h: Harness, rentals: list[TrackedRental]) -> None:
    shown = {r.rental_id for r in h.app.engine.rentals()}
    assert {r.rental_id for r in rentals} <= shown
    assert h.app.is_running


async def open_prices(h: Harness) -> PricesScreen:
    services = h.app.services
    assert services is not None
    service = next(s for s in services if s.slug == "whatsapp")
    h.app.open_prices(service, None)
    await wait_until(lambda: isinstance(h.app.screen, PricesScreen), what="prices screen")
    screen = h.app.screen
    await wait_until(lambda: screen.query(OfferTable), what="the price table mounted")
    return screen  # type: ignore[return-value]


# -- the operations ------------------------------------------------------------------------


async def browse(h: Harness, fault: Fault) -> None:
    """The services list, loaded at start while the server misbehaves."""
    await wait_until(lambda: isinstance(h.app.screen, ServicesScreen), what="services screen")
    listing = h.app.screen.query_one(FilterList)
    if fault.kind in TRANSPARENT_FOR_GET | {"401", "unknown_status"}:
        await wait_until(lambda: len(listing.shown) >= 40, what="services despite the fault")
        assert h.app.catalog_error is None
    else:
        await says(h, SAYS[fault.kind], "why the services are missing")
        await says(h, "Could not load the services", "in the list")
        assert not listing.shown
        fault.clear(h)
        await wait_until(lambda: len(listing.shown) >= 40, timeout=10, what="services again")
        await wait_until(lambda: h.app.catalog_error is None, what="the catalog complete")


async def prices(h: Harness, fault: Fault) -> None:
    await started(h)
    fault.inject(h)
    screen = await open_prices(h)
    table = screen.query_one(OfferTable)
    if fault.kind in TRANSPARENT_FOR_GET | {"401", "unknown_status"}:
        await wait_until(lambda: table.row_count > 0, what="offers despite the fault")
    else:
        await says(h, SAYS[fault.kind], "why the offers are missing")
        status = str(screen.query_one("#prices-status").content)
        assert "Could not load offers" in status and "Trying again" in status
        assert table.row_count == 0
        fault.clear(h)
        await wait_until(lambda: table.row_count > 0, timeout=10, what="offers again")


async def rent(h: Harness, fault: Fault) -> None:
    await started(h)
    screen = await open_prices(h)
    table = screen.query_one(OfferTable)
    await wait_until(lambda: table.row_count > 0, what="offers")
    table.move_cursor(next(i for i, o in enumerate(table.visible_offers) if o.available))
    offer = table.cursor_offer
    assert offer is not None
    await h.pilot.press("enter")
    await wait_until(lambda: isinstance(h.app.screen, ConfirmRentScreen), what="confirmation")
    dialog = h.app.screen
    await wait_until(lambda: dialog.balance is not None, what="balance in the dialog")
    fault.inject(h)
    await h.pilot.press("y")
    server_side = lambda: h.sandbox.rentals_of(DEMO_API_KEY)  # noqa: E731

    if fault.kind in EXECUTED:
        # The server rented it; the answer was lost or unreadable. The app finds the
        # rental on the account and shows it: exactly one, paid once.
        await wait_until(lambda: isinstance(h.app.screen, RentalsScreen), what="the rental")
        (rental,) = server_side()
        assert h.app.engine.rental(rental.rental_id) is not None
        assert h.sandbox.balance_of(DEMO_API_KEY) == START - offer.price
        assert h.engine.store.unresolved_purchases() == []
        return

    message = dialog.query_one("#confirm-message")
    # (Everything the dialog said, not only its last words: the grace is short here.)
    await says(h, SAYS[fault.kind], "why not rented")
    assert server_side() == []
    assert h.sandbox.balance_of(DEMO_API_KEY) == START
    if fault.kind in ("502_html", "hang"):
        # The outcome is unknown: the offer stays locked through the grace period, and
        # only a second look (and a wallet that agrees) makes trying again safe.
        await says(h, "stays locked until", "the wait, said")
        await wait_until(
            lambda: "safe to try again" in str(message.content), what="the second look"
        )
    assert h.engine.renting_locked_for(offer, dialog.service.name) is None
    fault.clear(h)
    if dialog.finished:  # a refusal: go back and choose again
        await h.pilot.press("escape")
        await wait_until(lambda: isinstance(h.app.screen, PricesScreen))
        await h.pilot.press("enter")
        await wait_until(lambda: isinstance(h.app.screen, ConfirmRentScreen))
        await wait_until(lambda: h.app.screen.balance is not None, what="balance again")
    await h.pilot.press("y")
    await wait_until(lambda: isinstance(h.app.screen, RentalsScreen), what="rented on retry")
    assert len(server_side()) == 1
    assert h.sandbox.balance_of(DEMO_API_KEY) == START - offer.price


async def poll(h: Harness, fault: Fault) -> None:
    await started(h)
    rental = await rented(h)
    other = await rented(h)
    await h.pilot.press("f2")
    await wait_until(lambda: isinstance(h.app.screen, RentalsScreen), what="rentals screen")
    rid = rental.rental_id
    h.sandbox.clear_request_log()
    fault = replace(fault, path=f"/rental/{rid}")
    count = {"502_html": THROUGH_RETRIES, "unknown_status": 1000}.get(fault.kind, 2)
    fault.inject(h, count=count)
    await fault.hit(h, count)
    h.sandbox.deliver_sms(rid, code="135790")
    if fault.kind == "401":
        await wait_until(lambda: h.engine.poller.paused, what="polling paused")
        await says(h, "API key", "that the key was refused")
    elif fault.kind == "unknown_status":
        await wait_until(
            lambda: h.app.engine.rental(rid).status.value == "on_hold", what="the unknown status"
        )
        await says(h, "on_hold", "the unknown status, verbatim")
        assert h.engine.poller.interval_for(h.app.engine.rental(rid)) >= 0.2  # polled slowly
    elif fault.kind in TRANSPARENT_FOR_GET:
        pass  # retried by the client; the code below arrives all the same
    else:
        await wait_until(lambda: h.engine.poll_error(rid), what="a failed check")
        assert SAYS[fault.kind] in (h.engine.poll_error(rid) or "")
    assert_nothing_dropped(h, [rental, other])
    fault.clear(h)
    await wait_until(lambda: h.app.engine.rental(rid).code == "135790", timeout=10, what="the code")
    assert h.app.engine.rental(rid).status is RentalStatus.RECEIVED
    assert h.engine.poll_error(rid) is None
    assert h.engine.store.codes_of(rid)
    assert_nothing_dropped(h, [rental, other])
    if fault.kind == "429":
        # Backed off as asked (Retry-After: 1) before asking again.
        polls = requests_to(h, "GET", f"/api/v1/rental/{rid}")
        first = next(i for i, r in enumerate(polls) if r.status == 429)
        assert polls[first + 1].monotonic - polls[first].monotonic >= 0.9


async def cancel(h: Harness, fault: Fault) -> None:
    await started(h)
    rental = await rented(h)
    other = await rented(h)
    await h.pilot.press("f2")
    await wait_until(lambda: isinstance(h.app.screen, RentalsScreen), what="rentals screen")
    h.app.screen.select(rental.rental_id)
    await wait_until(lambda: h.app.screen.selected.rental_id == rental.rental_id)
    fault = replace(fault, path=f"/rental/{rental.rental_id}/cancel")
    fault.inject(h)
    await h.pilot.press("x")
    await wait_until(lambda: isinstance(h.app.screen, ConfirmCancelScreen), what="dialog")
    await h.pilot.press("y")
    rid = rental.rental_id
    refunded = lambda: h.app.engine.rental(rid).status is RentalStatus.REFUNDED  # noqa: E731
    if fault.kind == "unknown_status":
        await says(h, "refunded", "the refund")
        # The answer's status is unknown: the app keeps checking until the real one.
        await wait_until(refunded, what="the real status")
    else:
        await says(h, SAYS[fault.kind], "why the cancel failed")
        assert_nothing_dropped(h, [rental, other])
        fault.clear(h)
        if fault.kind in EXECUTED:
            # It was cancelled after all: the next check shows it.
            await wait_until(refunded, timeout=10, what="the refund seen by polling")
        else:
            assert h.sandbox.rentals_of(DEMO_API_KEY)[0].status == "waiting"
            await wait_until(lambda: isinstance(h.app.screen, RentalsScreen))
            await h.pilot.press("x")
            await wait_until(lambda: isinstance(h.app.screen, ConfirmCancelScreen))
            await h.pilot.press("y")
            await wait_until(refunded, timeout=10, what="refund on retry")
    assert h.sandbox.balance_of(DEMO_API_KEY) == START - other.cost
    assert_nothing_dropped(h, [rental, other])


async def balance(h: Harness, fault: Fault) -> None:
    await started(h)
    h.sandbox.set_balance(DEMO_API_KEY, Decimal("1234.50"))
    # A 502 that lasts: the client's retries do not get past it.
    fault.inject(h, count=100 if fault.kind == "502_html" else None)
    await h.pilot.press("f4")
    new = lambda: h.app.engine.status().balance.amount == Decimal("1234.50")  # noqa: E731
    if fault.kind in TRANSPARENT_FOR_GET | {"unknown_status"}:
        await wait_until(new, what="the balance despite the fault")
        return
    await says(h, SAYS[fault.kind], "why the balance is unknown", timeout=3)
    assert h.app.engine.status().balance.amount == START  # the last known one stays
    fault.clear(h)
    await h.pilot.press("f4")
    await wait_until(new, timeout=10, what="the balance again")


async def history(h: Harness, fault: Fault) -> None:
    await started(h)
    rental = await rented(h)
    fault.inject(h)
    await h.pilot.press("f3")
    await wait_until(lambda: isinstance(h.app.screen, HistoryScreen), what="history screen")
    table = h.app.screen.query_one("DataTable")
    if fault.kind in TRANSPARENT_FOR_GET:
        await wait_until(lambda: table.row_count == 1, what="history despite the fault")
    elif fault.kind == "unknown_status":
        await wait_until(lambda: table.row_count == 1, what="history")
        assert str(table.get_row_at(0)[5]) == "on_hold"  # verbatim
    else:
        await says(h, SAYS[fault.kind], "why the history is missing")
        assert "Could not load the history" in told(h)
        fault.clear(h)
        await wait_until(lambda: table.row_count == 1, timeout=10, what="history again")
    assert_nothing_dropped(h, [rental])


OPS: dict[str, Callable[[Harness, Fault], Awaitable[None]]] = {
    "browse": browse,
    "prices": prices,
    "rent": rent,
    "poll": poll,
    "cancel": cancel,
    "balance": balance,
    "history": history,
}
#: Where each operation's requests go (what a fault is aimed at).
TARGETS = {
    "browse": Fault("", "/services", "GET"),
    "prices": Fault("", "/services/", "GET"),
    "rent": Fault("", "/rent", "POST"),
    "poll": Fault("", "/rental/", "GET"),
    "cancel": Fault("", "/rental/", "POST"),
    "balance": Fault("", "/balance", "GET"),
    "history": Fault("", "/rentals", "GET"),
}


def fault_for(kind: str, op: str) -> Fault:
    target = TARGETS[op]
    return Fault(kind, target.path, target.method, revoke=op in REVOKE_FOR)


def cells(kinds: list[str]) -> list:
    """(kind, op) for every cell; a cell that shows a known bug elsewhere is marked."""
    out = []
    for kind in kinds:
        for op in OPERATIONS:
            marks = []
            if (kind, op) in KNOWN_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(kind, op)]))
            out.append(pytest.param(kind, op, marks=marks, id=f"{kind}-{op}"))
    return out


#: Cells that fail because of a known bug (strict: a fixed bug must leave this list).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(("kind", "op"), cells(IN_PROCESS))
async def test_in_process(harness, sandbox, kind: str, op: str) -> None:
    sandbox.faults.retry_after = "1"
    fault = fault_for(kind, op)
    if op == "browse":
        fault.inject(sandbox_harness_stub(sandbox))
    async with harness() as h:
        await OPS[op](h, fault)
        assert h.app.is_running


@pytest.mark.parametrize(("kind", "op"), cells(OVER_HTTP))
async def test_over_http(harness, sandbox, loopback: LoopbackServer, kind: str, op: str) -> None:
    fault = fault_for(kind, op)
    sandbox.faults.hang_seconds = 30.0
    if op == "browse":
        fault.inject(sandbox_harness_stub(sandbox, loopback))
    async with harness(server=loopback, timeout=0.5) as h:
        await OPS[op](h, fault)
        assert h.app.is_running


def sandbox_harness_stub(sandbox, server: LoopbackServer | None = None) -> Harness:
    """Enough of a harness to inject a fault before the app starts."""
    return Harness(app=None, sandbox=sandbox, clock=None, server=server)  # type: ignore[arg-type]
