"""The whole main job through the real UI, against the sandbox with a manual clock:
browse, filter, choose a country, sort, rent, see the code, copy, cancel with refund,
history."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import DataTable, Digits

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.app.helpers import START, open_confirmation, open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until


async def test_browse_rent_code_copy_cancel_history(make_app, sandbox, clock, monkeypatch):
    app = make_app()
    bells: list[bool] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(True))
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        # Browse and filter services.
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        services = app.screen.query_one(FilterList)
        await wait_until(lambda: len(services.shown) >= 40, what="all services")
        await pilot.press(*"whats")
        assert [item.keys[0] for item in services.shown] == ["WhatsApp"]
        await pilot.press("enter")

        # Choose a country by ISO code.
        await wait_until(lambda: isinstance(app.screen, CountriesScreen))
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: countries.shown)
        assert countries.shown[0].id == "all"
        await pilot.press("n", "g")
        assert "Nigeria" in countries.shown[0].keys
        await pilot.press("enter")

        # The price table, sorted by price, then by stock.
        await wait_until(lambda: isinstance(app.screen, PricesScreen))
        table = app.screen.query_one(OfferTable)
        await wait_until(lambda: table.row_count > 0)
        assert all(o.iso_code == "NG" for o in table.visible_offers)
        # Sold-out offers come last, whatever the sort.
        offers = table.visible_offers
        rentable = sum(1 for o in offers if o.available)
        assert all(o.available for o in offers[:rentable]) and rentable < len(offers)
        prices = [o.price for o in offers[:rentable]]
        assert prices == sorted(prices)
        await pilot.press("p")
        offers = table.visible_offers
        assert [o.price for o in offers[:rentable]] == sorted(prices, reverse=True)
        assert not any(o.available for o in offers[rentable:])
        await pilot.press("s")
        stocks = [o.stock for o in table.visible_offers[:rentable]]
        assert table.sort_column == "stock" and stocks == sorted(stocks)

        # Rent the cheapest offer in stock.
        await pilot.press("p")
        cheapest = next(i for i, o in enumerate(table.visible_offers) if o.available)
        table.move_cursor(cheapest)
        offer = table.cursor_offer
        rental_id = await rent_cursor_offer(app, pilot)
        assert sandbox.balance_of(DEMO_API_KEY) == START - offer.price
        screen = app.screen
        await wait_until(lambda: screen.selected is not None, what="the rental selected")
        assert screen.selected.rental_id == rental_id
        assert app.engine.rental(rental_id).status is RentalStatus.WAITING

        # The SMS arrives: the code is shown large, with a bell and a notification.
        clock.advance(25)
        await wait_until(lambda: app.engine.rental(rental_id).code, what="the code")
        code = app.engine.rental(rental_id).code
        await wait_until(lambda: screen.query_one(Digits).value == code, what="code on screen")
        assert bells == [True]
        assert any(code in note for note in notes)

        # Copy the code and the number.
        await pilot.press("c")
        assert app.clipboard == code
        await pilot.press("n")
        assert app.clipboard == app.engine.rental(rental_id).phone

        # A second rental, cancelled before its SMS: the dialog promises a refund.
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, PricesScreen))
        second = await rent_cursor_offer(app, pilot)
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmCancelScreen))
        assert "will be refunded" in str(app.screen.query_one(".dialog-message").content)
        await pilot.press("y")
        await wait_until(
            lambda: app.engine.rental(second).status is RentalStatus.REFUNDED, what="refund"
        )
        assert sandbox.balance_of(DEMO_API_KEY) == START - offer.price
        await wait_until(
            lambda: (
                app.engine.status().balance
                and app.engine.status().balance.amount == START - offer.price
            ),
            what="balance in the header",
        )

        # History: both rentals, newest first, with status and cost.
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen.query_one(DataTable)
        await wait_until(lambda: history.row_count == 2, what="history rows")
        assert [key.value for key in history.rows] == [str(second), str(rental_id)]
        assert str(history.get_row_at(0)[5]) == "refunded"
        assert str(history.get_row_at(1)[7]) == code


async def test_out_of_stock_offer_cannot_be_rented(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_prices(app, pilot)
        offer = table.visible_offers[0]
        sandbox.set_stock(offer.id, 0)
        await pilot.press("r")
        sold_out = lambda: next(o for o in table.visible_offers if o.id == offer.id)  # noqa: E731
        await wait_until(lambda: not sold_out().available, what="refreshed stock")
        table.move_cursor(table.visible_offers.index(sold_out()))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PricesScreen)  # no confirmation, no rent
        assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_insufficient_balance_is_explained_and_nothing_is_sent(make_app, sandbox):
    app = make_app()
    sandbox.set_balance(DEMO_API_KEY, Decimal("10.00"))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance == Decimal("10.00"))
        await pilot.press("y")
        message = str(dialog.query_one("#confirm-message").content)
        assert "Not enough balance" in message
        assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_rent_in_flight_cannot_be_sent_twice(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None)
        sandbox.faults.latency = 3.0  # the answer takes longer than the keys below
        await pilot.press("y", "y", "enter", "escape", "y")
        assert dialog.busy and app.screen is dialog  # still waiting for the answer
        sandbox.faults.latency = 0.0
        await wait_until(
            lambda: isinstance(app.screen, RentalsScreen), timeout=10, what="the rental"
        )
        assert len(sandbox.rentals_of(DEMO_API_KEY)) == 1


async def test_help_lists_every_key(make_app):
    from textual.binding import Binding

    from rentnumber_tui.app.app import RentNumberApp

    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        await pilot.press("f1")
        lines = [str(line) for line in app.screen._lines]
        for owner in (RentNumberApp, PricesScreen, RentalsScreen, HistoryScreen):
            for binding in Binding.make_bindings(owner.BINDINGS):
                described = binding.tooltip or binding.description
                assert any(
                    app.get_key_display(binding) in line and described in line for line in lines
                ), f"{binding.key} ({described}) is missing from the help"
        await pilot.press("escape")
        assert isinstance(app.screen, ServicesScreen)


async def test_catalog_is_shown_from_the_cache_when_the_server_fails(make_app, sandbox, tmp_path):
    path = tmp_path / "cache.sqlite3"
    first = make_app(store_path=path)
    async with first.run_test(size=(100, 30)):
        store = first.engine.store
        await wait_until(
            lambda: store.get_catalog("services") and store.get_catalog("countries"),
            what="the cache filled",
        )
    sandbox.faults.inject("502_html", "/services", count=100)
    sandbox.faults.inject("502_html", "/countries", count=100)
    second = make_app(store_path=path)
    async with second.run_test(size=(100, 30)):
        await wait_until(lambda: isinstance(second.screen, ServicesScreen))
        listing = second.screen.query_one(FilterList)
        await wait_until(lambda: len(listing.shown) >= 40, what="services from the cache")
        assert second.countries is not None


async def test_command_palette_offers_every_action(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        titles = {command.title for command in app.get_system_commands(app.screen)}
    for title in ("Live rentals", "History", "Refresh balance", "Services", "Help", "Theme"):
        assert title in titles


async def test_garbage_collection_is_back_on_after_the_first_frame(make_app):
    """The launcher holds collection off while starting; the app must turn it back on."""
    import gc

    app = make_app()
    gc.disable()
    try:
        async with app.run_test(size=(80, 24)):
            await wait_until(lambda: app.engine.ready, what="the engine")
            # With nothing cached the engine starts before the first frame: it can be
            # ready before the frame that turns collection back on.
            await wait_until(gc.isenabled, what="collection back on")
    finally:
        gc.enable()
        gc.unfreeze()
