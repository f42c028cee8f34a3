"""A burst of rents leaves the budget to polling (issue 14): the confirmation shows the
balance the engine knows instead of asking again, the price table is not read again
after each rent (one fewer in stock at once, the list itself later, in the background),
and Live rentals shows a dozen rentals at 120×40."""

from __future__ import annotations

from rentnumber_tui.app.screens import prices
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from tests.app.helpers import (
    live_rentals_with,
    open_confirmation,
    open_prices,
    rent_cursor_offer,
)
from tests.core.waiting import wait_until

SIZE = (120, 40)


def requests(sandbox, method: str, fragment: str) -> int:
    return sum(1 for r in sandbox.request_log if r.method == method and fragment in r.path)


async def test_three_rents_in_a_row_ask_no_balance_and_no_price_list(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_prices(app, pilot)
        offer = table.cursor_offer
        assert offer is not None
        await wait_until(lambda: app.engine.balance_age() is not None, what="a balance")
        balances, lists = requests(sandbox, "GET", "/balance"), requests(sandbox, "GET", "/prices")
        for n in range(1, 4):
            dialog = await open_confirmation(app, pilot)
            # Shown at once, from what the engine knows: not asked again.
            assert dialog.balance is not None
            await pilot.press("y")
            await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rented")
            await pilot.press("escape")
            await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
            shown = next(o for o in table.visible_offers if o.id == offer.id)
            assert shown.stock == offer.stock - n  # one fewer, without asking
        assert requests(sandbox, "GET", "/prices") == lists
        # The engine's own refresh after each rent is the only balance read (folded).
        assert requests(sandbox, "GET", "/balance") - balances <= 3


async def test_the_list_is_read_again_in_the_background_once_renting_stops(
    make_app, sandbox, monkeypatch
):
    monkeypatch.setattr(prices, "REFRESH_AFTER_RENT", 0.3)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        lists = requests(sandbox, "GET", "/prices")
        await rent_cursor_offer(app, pilot)
        await wait_until(lambda: requests(sandbox, "GET", "/prices") == lists + 1, what="later")


async def test_live_rentals_shows_a_dozen_rentals_at_120_by_40(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        listing = await live_rentals_with(app, pilot, 20)
        await pilot.pause()
        assert listing.scrollable_content_region.height >= 12
        assert listing.max_scroll_y > 0  # and it scrolls to the rest
