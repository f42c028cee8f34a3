"""Absurd values from the server: negative stock, zero and negative prices, 3,000
services, 10,000 offers, a 200-character phone number, a 5,000-character SMS.

No crash, the layout intact at 80×24 (checked on the screen rebuilt from the bytes the
app sends), and nothing the server marked unavailable is ever rented — not from the
table, not from the dialog, not through the engine.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import DataTable

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.confirm import ConfirmRentScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.core.engine import Engine, RentBlocked
from rentnumber_tui.core.store import Store
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from tests.app.helpers import open_prices, record_notes
from tests.core.waiting import wait_until
from tests.e2e.capture import Capture, capture
from tests.e2e.conftest import client_factory, settled
from tests.timings import FAST_POLLING

SIZE = (80, 24)
LONG_PHONE = "+234" + "8" * 196


def assert_layout(record: Capture) -> None:
    """Top bar first, footer last: nothing pushed the frame apart."""
    lines = record.terminal.lines()
    assert lines[0].startswith(" RentNumber"), record.screen()
    assert "palette" in lines[-1], record.screen()
    assert record.foreign_output() == []


async def settle(app, pilot) -> None:
    """Let the screen finish mounting and painting before reading it (or quitting)."""
    await pilot.pause()
    await settled(app)
    await pilot.pause()


async def test_absurd_offers_are_shown_and_never_rented(make_app, sandbox, monkeypatch):
    offers = [o for o in sandbox.catalog.offers if o.service_id == 1 and o.country_id == 1]
    negative_stock, zero_price, negative_price = offers[:3]
    sandbox.misreport(negative_stock.id, stock=-7)
    sandbox.misreport(zero_price.id, price=Decimal("0.00"))
    sandbox.misreport(negative_price.id, price=Decimal("-450.00"))
    app = make_app(options=AppOptions(demo=True, bell=False))
    record = capture(app, SIZE)
    notes = record_notes(app, monkeypatch)
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        table = await open_prices(app, pilot)
        absurd = {o.id: o for o in table.visible_offers if o.id in (
            negative_stock.id, zero_price.id, negative_price.id)}  # fmt: skip
        assert absurd[negative_stock.id].stock == -7
        assert absurd[zero_price.id].price == 0
        assert absurd[negative_price.id].price == Decimal("-450.00")
        assert not any(o.available for o in absurd.values())
        await settle(app, pilot)
        assert "-₦450.00" in record.screen() and "sold out" in record.screen()
        assert_layout(record)

        # Enter on each: the table refuses and says why; no dialog opens.
        for offer in absurd.values():
            table.move_cursor(list(table.visible_offers).index(offer))
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, PricesScreen)
        assert sum("cannot be rented" in note for note in notes) == 3

        # The dialog, opened anyway, refuses a price that is not positive.
        service = app.screen.service
        app.push_screen(ConfirmRentScreen(absurd[zero_price.id], service, ""))
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen))
        dialog = app.screen
        await settle(app, pilot)
        message = dialog.query_one("#confirm-message")
        await pilot.press("y", "enter")
        assert "has no valid price" in str(message.content)
        assert not dialog.busy
        await pilot.press("escape")

        # And the engine refuses before anything is written or sent.
        for offer in absurd.values():
            with pytest.raises(RentBlocked):
                await app.engine.rent(offer, service)
        await settle(app, pilot)
    assert sandbox.rentals_of(DEMO_API_KEY) == []
    assert not [r for r in sandbox.request_log if r.method == "POST"]
    assert app.engine.store.unresolved_purchases() == []


@pytest.fixture
def big_sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(
        SandboxConfig(seed=7, sms_delay=(5, 20), extra_services=2950, extra_offers=10_000),
        clock=clock,
    )


async def test_3000_services_and_10000_offers(big_sandbox, tmp_path):
    factory = client_factory(big_sandbox, big_sandbox.clock, None, timeout=15.0)
    engine = Engine(factory, Store(tmp_path / "big.sqlite3", "big"), poll_settings=FAST_POLLING)
    app = RentNumberApp(engine, AppOptions(demo=True, bell=False))
    record = capture(app, SIZE)
    try:
        async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
            await wait_until(lambda: isinstance(app.screen, ServicesScreen))
            listing = app.screen.query_one(FilterList)
            await wait_until(lambda: listing.shown, what="services", timeout=10)
            await settle(app, pilot)
            assert "3000 matches; showing the first 500" in record.screen()
            assert_layout(record)
            await pilot.press(*"service-2950")
            await wait_until(lambda: listing.shown and listing.shown[0].id == "3000")
            await pilot.press(*["backspace"] * 12, *"whatsapp", "enter")
            await wait_until(lambda: not isinstance(app.screen, ServicesScreen))
            await pilot.press("enter")  # all countries
            await wait_until(lambda: isinstance(app.screen, PricesScreen))
            table = app.screen.query_one(OfferTable)
            await wait_until(lambda: table.row_count > 10_000, what="10,000+ offers", timeout=20)
            await pilot.press("end", "s", "home")
            await settle(app, pilot)
            assert_layout(record)
            assert "offers," in record.screen()
    finally:
        engine.stop()
        engine.store.close()


async def test_long_phone_and_long_sms_keep_the_layout(make_app, sandbox):
    sandbox.queue_phones(LONG_PHONE)
    app = make_app(options=AppOptions(demo=True, bell=False))
    record = capture(app, SIZE)
    engine = app.engine
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        await wait_until(lambda: engine.ready and app.services)
        service = next(s for s in app.services if s.slug == "whatsapp")
        offer = next(o for o in (await engine.prices("whatsapp")).offers if o.available)
        rental = await engine.rent(offer, service)
        assert rental.phone == LONG_PHONE
        sandbox.deliver_sms(rental.rental_id, text="x" * 4980 + " the end. 123456", code="123456")
        await wait_until(lambda: app.engine.rental(rental.rental_id).code == "123456", what="code")

        # The rentals bar on the services screen.
        await settle(app, pilot)
        assert "+2348888888888888" in record.screen()
        assert_layout(record)

        # The rentals screen: number, SMS and code, within 80×24.
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen))
        app.clear_notifications()  # the "Code received" toast sits over the SMS
        await settle(app, pilot)
        screen = record.screen()
        assert "Code 123456" in screen
        assert "SMS" in screen and "x" * 70 in screen, screen  # wrapped, at the top of its box
        assert "the end." not in screen
        assert_layout(record)

        # The whole SMS can be read: the detail scrolls (shift+down) to its last line.
        detail = app.screen.query_one("#rental-detail")
        assert detail.max_scroll_y > 0
        for _ in range(100):
            if detail.scroll_y >= detail.max_scroll_y:
                break
            await pilot.press("shift+down")
        app.clear_notifications()  # the "Code received" toast sits over the SMS's end
        await wait_until(lambda: "the end. 123456" in record.screen(), what="the SMS's end")
        assert_layout(record)
        await pilot.press("shift+up")
        await wait_until(lambda: detail.scroll_y < detail.max_scroll_y, what="scrolled back")

        # The cancel dialog and the history.
        await pilot.press("x")
        await settle(app, pilot)
        assert "NO refund" in record.screen()
        assert_layout(record)
        await pilot.press("escape", "f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen.query_one(DataTable)
        await wait_until(lambda: history.row_count == 1)
        await settle(app, pilot)
        assert "+2348888888888888" in record.screen()
        assert_layout(record)
