"""Rents whose answer is lost, through the real App over real HTTP, against servers that
do the worst a real one can: perform the rent seconds after the client gave up (a
delaying proxy in front of the sandbox). Each ends with exactly the charges the person
asked for, the right rental shown as ours, and no "try again" offered before it is safe.
"""

from __future__ import annotations

from decimal import Decimal

from rentnumber_tui.app.screens.confirm import ConfirmRentScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.core.waiting import wait_until
from tests.e2e.conftest import Harness, LoopbackServer
from tests.e2e.delaying_proxy import DelayingProxy

START = Decimal("25000.00")


async def open_confirmation(h: Harness) -> ConfirmRentScreen:
    services = await h.engine.services()
    service = next(s for s in services if s.slug == "whatsapp")
    h.app.open_prices(service, None)
    await wait_until(lambda: isinstance(h.app.screen, PricesScreen), what="prices")
    screen = h.app.screen
    await wait_until(lambda: screen.query(OfferTable), what="the table mounted")
    table = screen.query_one(OfferTable)
    await wait_until(lambda: table.row_count > 0, what="offers")
    table.move_cursor(next(i for i, o in enumerate(table.visible_offers) if o.available))
    await h.pilot.press("enter")
    await wait_until(lambda: isinstance(h.app.screen, ConfirmRentScreen), what="the dialog")
    dialog = h.app.screen
    assert isinstance(dialog, ConfirmRentScreen)
    await wait_until(lambda: dialog.balance is not None, what="the balance in the dialog")
    return dialog


def rents_sent(h: Harness) -> int:
    return sum(1 for r in h.sandbox.request_log if r.method == "POST" and r.path.endswith("/rent"))


async def test_a_rent_performed_after_the_client_gave_up_is_found_after_the_grace(
    harness, loopback: LoopbackServer
) -> None:
    with DelayingProxy(loopback.base_url, delay=2.5) as proxy:
        async with harness(base_url=proxy.base_url, timeout=0.5, rent_grace=6.0) as h:
            await wait_until(lambda: h.engine.status().balance is not None, what="balance")
            dialog = await open_confirmation(h)
            offer = dialog.offer
            await h.pilot.press("y")
            message = dialog.query_one("#confirm-message")
            await wait_until(
                lambda: "stays locked until" in str(message.content), what="the wait, said"
            )
            # No way to send a second rent meanwhile (counted at the end).
            await h.pilot.press("y", "enter")
            # The proxy performs it late; a later look at the account finds it.
            await wait_until(lambda: isinstance(h.app.screen, RentalsScreen), what="found")
            (late,) = proxy.late_rents
            assert late.status == 200
            (server_side,) = h.sandbox.rentals_of(DEMO_API_KEY)
            shown = h.engine.rental(server_side.rental_id)
            assert shown is not None and shown.origin == "here"
            assert h.sandbox.balance_of(DEMO_API_KEY) == START - offer.price  # paid once
            assert rents_sent(h) == 1
            assert h.engine.store.unresolved_purchases() == []


async def test_a_foreign_rent_at_the_same_moment_is_not_taken_for_ours(
    harness, loopback: LoopbackServer, clock
) -> None:
    """A colleague rents the same offer a little earlier while our answer is lost: ours
    is found and shown as ours; theirs is shown as made elsewhere; two charges, both
    asked for."""
    with DelayingProxy(loopback.base_url, delay=2.5) as proxy:
        async with harness(base_url=proxy.base_url, timeout=0.5, rent_grace=6.0) as h:
            await wait_until(lambda: h.engine.status().balance is not None, what="balance")
            dialog = await open_confirmation(h)
            offer = dialog.offer
            foreign = h.sandbox.state.rent(DEMO_API_KEY, offer.id)
            clock.advance(10)
            await h.engine.balance()  # the client's clock follows the server's
            await h.pilot.press("y")
            await wait_until(lambda: isinstance(h.app.screen, RentalsScreen), what="found")
            assert len(proxy.late_rents) == 1
            foreign_id = foreign.rental_id
            (_, ours) = h.sandbox.rentals_of(DEMO_API_KEY)
            assert h.engine.rental(ours.rental_id).origin == "here"  # type: ignore[union-attr]
            await wait_until(lambda: h.engine.rental(foreign_id), what="the colleague's")
            assert h.engine.rental(foreign_id).origin == "elsewhere"  # type: ignore[union-attr]
            assert h.sandbox.balance_of(DEMO_API_KEY) == START - 2 * offer.price
            assert rents_sent(h) == 1
