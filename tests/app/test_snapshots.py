"""How each screen looks, pinned by SVG snapshots (pytest-textual-snapshot).

Deterministic: the sandbox runs on a manual clock (seed 7), the app's idea of server
time follows that clock, the request-budget figure is fixed, and the size is 80×24 —
the smallest the app promises to be usable at.
"""

from __future__ import annotations

from textual.widgets import DataTable, Digits

from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.help import HelpScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.core.store import Store
from tests.app.helpers import (
    open_confirmation,
    open_prices,
    rent_cursor_offer,
    seed_history,
    still_cursors,
)
from tests.core.waiting import wait_until

SIZE = (80, 24)


def snapshot(snap_compare, make_app, run_before) -> bool:
    app = make_app(frozen_budget=True)

    async def before(pilot) -> None:
        await run_before(app, pilot)
        still_cursors(app)
        await pilot.pause()

    return snap_compare(app, terminal_size=SIZE, run_before=before)


def test_services_screen(snap_compare, make_app):
    async def run(app, pilot):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: listing.shown and app.engine.status().balance)

    assert snapshot(snap_compare, make_app, run)


def test_services_with_recent_and_favourites(snap_compare, make_app):
    async def run(app, pilot):
        await open_prices(app, pilot, "telegr", "ke")
        while not isinstance(app.screen, ServicesScreen):
            await pilot.press("escape")
        app.screen.query_one(FilterList).input.value = ""
        await open_prices(app, pilot, "whats", "ng")
        await pilot.press("f")  # the cheapest Nigerian WhatsApp offer's provider
        await wait_until(lambda: any(p.kind == "favourite" for p in app.engine.picks()))
        while not isinstance(app.screen, ServicesScreen):
            await pilot.press("escape")
        listing = app.screen.query_one(FilterList)
        listing.input.value = ""
        await wait_until(lambda: [str(i.prompt) for i in listing.shown][:1] == ["Recent"])
        await wait_until(lambda: "Favourites" in [str(i.prompt) for i in listing.shown])
        app.clear_notifications()
        await wait_until(lambda: not app._notifications)

    assert snapshot(snap_compare, make_app, run)


def test_services_filtered(snap_compare, make_app):
    async def run(app, pilot):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: listing.shown and app.engine.status().balance)
        await pilot.press(*"tg")

    assert snapshot(snap_compare, make_app, run)


def test_countries_screen(snap_compare, make_app):
    async def run(app, pilot):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: listing.shown and app.engine.status().balance)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen))
        countries = app.screen.query_one(FilterList)
        # Each country's cheapest price comes with a second answer: shown before the shot.
        await wait_until(lambda: countries.shown and "from" in str(countries.shown[1].prompt))

    assert snapshot(snap_compare, make_app, run)


def test_price_table_sorted_by_stock(snap_compare, make_app):
    async def run(app, pilot):
        await open_prices(app, pilot, "whats", "*")
        await pilot.press("s", "s")  # stock, descending
        await wait_until(lambda: app.engine.status().balance)

    assert snapshot(snap_compare, make_app, run)


def test_confirm_rent(snap_compare, make_app):
    async def run(app, pilot):
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None)

    assert snapshot(snap_compare, make_app, run)


def test_rental_waiting_for_its_code(snap_compare, make_app):
    async def run(app, pilot):
        await open_prices(app, pilot)
        await rent_cursor_offer(app, pilot)

    assert snapshot(snap_compare, make_app, run)


def test_rental_with_its_code(snap_compare, make_app, sandbox):
    async def run(app, pilot):
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        sandbox.deliver_sms(rental_id, code="482913")
        await wait_until(lambda: app.screen.query_one(Digits).value == "482913")

    assert snapshot(snap_compare, make_app, run)


def test_confirm_cancel(snap_compare, make_app):
    async def run(app, pilot):
        await open_prices(app, pilot)
        await rent_cursor_offer(app, pilot)
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmCancelScreen))

    assert snapshot(snap_compare, make_app, run)


def test_history(snap_compare, make_app):
    async def run(app, pilot):
        await open_prices(app, pilot)
        await rent_cursor_offer(app, pilot)
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen))
        await wait_until(lambda: app.screen.query_one(DataTable).row_count == 1)

    assert snapshot(snap_compare, make_app, run)


def test_help(snap_compare, make_app):
    async def run(app, pilot):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        await wait_until(lambda: app.engine.status().balance)
        await pilot.press("f1")
        await wait_until(lambda: isinstance(app.screen, HelpScreen))

    assert snapshot(snap_compare, make_app, run)


def test_rentals_empty(snap_compare, make_app):
    async def run(app, pilot):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        await wait_until(lambda: app.engine.status().balance)
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen))

    assert snapshot(snap_compare, make_app, run)


def test_price_table_with_delivery_statistics(snap_compare, make_app, sandbox, clock, tmp_path):
    """Delivered and Median from this machine's records, best value first."""
    path = tmp_path / "stats.sqlite3"
    store = Store(path, "test")
    seed_history(store, sandbox, clock)
    store.close()

    async def run(app, pilot):
        table = await open_prices(app, pilot, "whats", "ng")
        await wait_until(lambda: table.sort_column == "value")
        await wait_until(lambda: app.engine.status().balance)

    app = make_app(frozen_budget=True, store_path=path)

    async def before(pilot) -> None:
        await run(app, pilot)
        still_cursors(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
