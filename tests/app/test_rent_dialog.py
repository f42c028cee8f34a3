"""The rent confirmation while it works: a double Enter does not rent, progress shows
while the server answers, a dead end leaves no dead button, and a refusal for lack of
money brings the server's balance."""

from __future__ import annotations

from decimal import Decimal

from textual import events
from textual.widgets import Button

from rentnumber_tui.app.screens import confirm
from rentnumber_tui.app.screens.confirm import ConfirmRentScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.app.helpers import open_confirmation, open_prices
from tests.core.waiting import wait_until

SIZE = (120, 40)


def said(dialog: ConfirmRentScreen, widget_id: str) -> str:
    return str(dialog.query_one(widget_id).content)


async def test_enter_pressed_twice_on_an_offer_does_not_rent(make_app, sandbox, monkeypatch):
    # Half a second in real use; long here, so a loaded machine cannot outlast it.
    monkeypatch.setattr(confirm, "ENTER_GUARD", 60.0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        # A double press (or key repeat) on the offer: three Enters at once, as a
        # terminal sends them, not one at a time as the pilot would.
        for _ in range(3):
            app.post_message(events.Key("enter", "\r"))
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen), what="the dialog")
        dialog = app.screen
        await pilot.pause()
        await pilot.press("enter")  # still within the guard
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRentScreen) and not dialog.busy
        assert sum(isinstance(s, ConfirmRentScreen) for s in app.screen_stack) == 1
        assert sandbox.rentals_of(DEMO_API_KEY) == []
        # A deliberate Enter, once the guard is over, rents.
        dialog._opened_at -= confirm.ENTER_GUARD
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="the rental")
        assert len(sandbox.rentals_of(DEMO_API_KEY)) == 1


async def test_a_slow_rent_shows_a_spinner_and_the_seconds_and_no_rent_hint(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None, what="the balance")
        assert "y: rent" in said(dialog, "#confirm-hint")
        sandbox.faults.rent_response_delay = 1.6
        await pilot.press("y")
        await wait_until(lambda: "Renting… 1 s" in said(dialog, "#confirm-message"), what="1 s")
        message = said(dialog, "#confirm-message")
        assert message[0] in confirm.SPINNER
        assert said(dialog, "#confirm-hint") == "Waiting for the server's answer…"
        assert dialog.query_one("#do-rent", Button).disabled
        frames = {said(dialog, "#confirm-message")[0]}
        await wait_until(
            lambda: frames.add(said(dialog, "#confirm-message")[0]) or len(frames) > 2,
            what="the spinner turning",
        )
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="the rental")


async def test_sold_out_meanwhile_leaves_only_the_way_back(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_prices(app, pilot)
        offer = table.cursor_offer
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None, what="the balance")
        sandbox.set_stock(dialog.offer.id, 0)
        await pilot.press("y")
        await wait_until(lambda: "Out of stock" in said(dialog, "#confirm-message"), what="it")
        rent = dialog.query_one("#do-rent", Button)
        back = dialog.query_one("#go-back", Button)
        assert not rent.display  # no "Try again" that cannot be pressed
        assert back.has_focus and not back.disabled
        assert said(dialog, "#confirm-hint") == "Esc: go back"
        dialog._opened_at -= confirm.ENTER_GUARD  # a person reads the refusal first
        await pilot.press("enter")  # Enter presses the button in focus: back
        await wait_until(lambda: not isinstance(app.screen, ConfirmRentScreen), what="closed")
        assert offer is not None and sandbox.rentals_of(DEMO_API_KEY) == []


async def test_not_enough_balance_from_the_server_brings_the_fresh_balance(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None, what="the balance")
        sandbox.set_balance(DEMO_API_KEY, Decimal("5.00"))  # spent elsewhere meanwhile
        await pilot.press("y")
        await wait_until(lambda: "Not enough balance" in said(dialog, "#confirm-message"))
        await wait_until(lambda: dialog.balance == Decimal("5.00"), what="the fresh balance")
        assert "₦5.00" in said(dialog, "#confirm-balance")
        status = app.engine.status()
        assert status.balance is not None and status.balance.amount == Decimal("5.00")
