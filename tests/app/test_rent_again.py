"""`a` rents again from Live rentals and from History: the confirmation for the same
service, country and provider, or the cheapest in stock with what changed."""

from __future__ import annotations

from textual.widgets import DataTable

from rentnumber_tui.app.screens.confirm import ConfirmRentScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from tests.app.helpers import open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until


def shown(dialog: ConfirmRentScreen) -> str:
    return " ".join(str(w.content) for w in dialog.query("Static"))


async def test_a_on_live_rentals_rents_the_same_offer_again(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        first = await rent_cursor_offer(app, pilot)
        bought = app.engine.rental(first)
        assert isinstance(app.screen, RentalsScreen)
        await pilot.press("a")
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen), what="confirmation")
        dialog = app.screen
        assert dialog.offer.id == bought.offer.pricing_id
        assert dialog.service.slug == bought.labels.service_slug
        assert dialog.note is None
        await wait_until(lambda: dialog.balance is not None, what="balance in the dialog")
        await pilot.press("y")
        await wait_until(lambda: len(app.engine.rentals()) == 2, what="the second rental")
        again = next(r for r in app.engine.rentals() if r.rental_id != first)
        assert again.offer.pricing_id == bought.offer.pricing_id
        assert again.labels.provider == bought.labels.provider


async def test_a_in_history_on_a_sold_out_offer_proposes_the_cheapest_and_says_so(
    make_app, sandbox, monkeypatch
):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        first = await rent_cursor_offer(app, pilot)
        bought = app.engine.rental(first)
        sandbox.misreport(bought.offer.pricing_id, stock=0)
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        table = app.screen.query_one(DataTable)
        await wait_until(lambda: table.row_count == 1, what="the rental in the history")
        await pilot.press("a")
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen), what="confirmation")
        dialog = app.screen
        offers = (await app.engine.prices("whatsapp", bought.offer.country_id)).offers
        cheapest = min(
            (o for o in offers if o.available and o.country_id == bought.offer.country_id),
            key=lambda o: (o.price, -o.stock, o.id),
        )
        assert dialog.offer.id == cheapest.id != bought.offer.pricing_id
        note = f"{bought.labels.provider} is sold out; the cheapest in stock is"
        await wait_until(lambda: note in shown(dialog), what="what changed, in the dialog")
        assert cheapest.provider_name in shown(dialog)


async def test_a_with_nothing_in_stock_says_so(make_app, sandbox, monkeypatch):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        first = await rent_cursor_offer(app, pilot)
        country = app.engine.rental(first).offer.country_id
        for o in sandbox.catalog.offers:
            if o.service_id == 1 and o.country_id == country:
                sandbox.misreport(o.id, stock=0)
        await pilot.press("a")
        await wait_until(
            lambda: any("Nothing is in stock for WhatsApp" in n for n in notes), what="the words"
        )
        assert isinstance(app.screen, RentalsScreen)
