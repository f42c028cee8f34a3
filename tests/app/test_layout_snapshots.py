"""The screens issue 13 changed, pinned at 80×24 and at 60×20 (the compact layout), in a
dark and a light theme: the price table (sold out last, dearer offers dimmed), the rent
confirmation, Live rentals with the bar's neighbours, and the question before quitting.

Deterministic as in test_snapshots.py: manual clock, seed 7, a fixed request budget."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rentnumber_tui.app.screens.confirm import ConfirmQuitScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.app.helpers import open_confirmation, open_prices, rent_cursor_offer, still_cursors
from tests.core.waiting import wait_until

SIZES = [(80, 24), (60, 20)]
THEMES = ["textual-dark", "textual-light"]
layouts = pytest.mark.parametrize(
    ("size", "theme"), [(s, t) for s in SIZES for t in THEMES], ids=lambda v: str(v)
)


def snapshot(snap_compare, make_app, size, theme, run_before) -> bool:
    app = make_app(frozen_budget=True)

    async def before(pilot) -> None:
        app.theme = theme
        await run_before(app, pilot)
        app.clear_notifications()
        still_cursors(app)
        await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=before)


@layouts
def test_price_table_sold_out_last_and_dearer_dimmed(snap_compare, make_app, sandbox, size, theme):
    sandbox.set_balance(DEMO_API_KEY, Decimal("500.00"))
    cheapest = min(
        (o for o in sandbox.catalog.offers if o.service_id == 1 and o.country_id == 1),
        key=lambda o: o.final_price,
    )
    sandbox.set_stock(cheapest.id, 0)

    async def run(app, pilot):
        table = await open_prices(app, pilot)
        await wait_until(lambda: not table.visible_offers[-1].available, what="sold out last")
        status = app.screen.query_one("#prices-status")
        await wait_until(lambda: "dimmed" in str(status.content), what="the dimmed rows")

    assert snapshot(snap_compare, make_app, size, theme, run)


@layouts
def test_confirm_rent_fits(snap_compare, make_app, size, theme):
    async def run(app, pilot):
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None, what="the balance")

    assert snapshot(snap_compare, make_app, size, theme, run)


@layouts
def test_live_rentals_with_countries_and_an_ended_one(snap_compare, make_app, size, theme):
    async def run(app, pilot):
        await open_prices(app, pilot)
        first = await rent_cursor_offer(app, pilot)
        await pilot.press("escape")
        await rent_cursor_offer(app, pilot)
        await app.engine.cancel(first, expect_refund=True)
        listing = app.screen.query_one("#rentals-list")
        await wait_until(
            lambda: (
                isinstance(app.screen, RentalsScreen)
                and listing.option_count == 2
                and "refunded" in str(listing.get_option_at_index(1).prompt)
            ),
            what="the refunded rental below",
        )

    assert snapshot(snap_compare, make_app, size, theme, run)


@layouts
def test_quit_while_a_rental_waits(snap_compare, make_app, size, theme):
    async def run(app, pilot):
        await open_prices(app, pilot)
        await rent_cursor_offer(app, pilot)
        await pilot.press("ctrl+q")
        await wait_until(lambda: isinstance(app.screen, ConfirmQuitScreen), what="the question")

    assert snapshot(snap_compare, make_app, size, theme, run)
