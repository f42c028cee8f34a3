"""What the screens say and show (issue 13): expiry gives the money back aloud, ended
rentals sink, every rental is counted in the bar, F4 answers, a refused key is said at
start, dearer offers are dimmed with the reason, demo mode says so, the footer keeps
whole keys, and a dialog is never under a toast."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.widgets.footer import AppFooter
from rentnumber_tui.app.widgets.rentals_bar import RentalsBar
from rentnumber_tui.core.money import format_money
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from tests.app.helpers import open_confirmation, open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until

SIZE = (120, 40)


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    """No provider ever sends an SMS: rentals here only expire or are cancelled."""
    quiet = Sandbox(SandboxConfig(seed=7, sms_delay=(5, 20)), clock=clock)
    providers = tuple(sorted({o.provider_id for o in quiet.catalog.offers}))
    return Sandbox(
        SandboxConfig(seed=7, sms_delay=(5, 20), silent_providers=providers), clock=clock
    )


async def rent_more(app, count: int) -> list[int]:
    """`count` more WhatsApp rentals in Nigeria, through the engine."""
    engine = app.engine
    whatsapp = next(s for s in app.services if s.slug == "whatsapp")
    offer = next(o for o in (await engine.prices("whatsapp", 1)).offers if o.available)
    return [(await engine.rent(offer, whatsapp)).rental_id for _ in range(count)]


def bar_lines(app) -> list[str]:
    bar = app.screen.query_one(RentalsBar)
    return str(bar.content).splitlines()


async def test_an_expiry_says_the_money_came_back(make_app, clock, monkeypatch):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        cost = app.engine.rental(rental_id).cost
        clock.advance(901)
        await pilot.press("r")  # look now rather than at the next poll
        expected = f"expired with no SMS; {format_money(cost)} returned."
        await wait_until(lambda: any(expected in n for n in notes), what="the expiry said")
        assert sum(expected in n for n in notes) == 1  # said once
        detail = str(app.screen.query_one("#detail-status", Static).content)
        assert "expired" in detail and "Time left" not in detail


async def test_ended_rentals_sink_below_live_ones_and_each_row_names_its_country(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        first = await rent_cursor_offer(app, pilot)
        (second,) = await rent_more(app, 1)
        await app.engine.cancel(second, expect_refund=True)
        screen = app.screen
        assert isinstance(screen, RentalsScreen)
        listing = screen.query_one("#rentals-list")
        await wait_until(lambda: listing.option_count == 2, what="two rows")
        await wait_until(
            lambda: (
                [listing.get_option_at_index(i).id for i in range(2)] == [str(first), str(second)]
            ),
            what="the cancelled one below",
        )
        assert screen.selected is not None and screen.selected.rental_id == first
        rows = [str(listing.get_option_at_index(i).prompt) for i in range(2)]
        assert all("Nigeria" in row for row in rows)
        assert "refunded" in rows[1] and rows[1].count("refunded") == 1


async def test_the_bar_counts_every_rental_it_cannot_show(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        await rent_more(app, 7)
        bar = app.screen.query_one(RentalsBar)
        await wait_until(lambda: "… and 4 more (F2)" in str(bar.content), what="the count")
        await pilot.pause()
        lines = bar_lines(app)
        assert len(lines) == 4
        # The count line is inside the bar, not cut off by its height (+1: the border).
        assert bar.region.height == len(lines) + 1


async def test_f4_says_the_balance_and_what_it_was(make_app, sandbox, monkeypatch):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: app.engine.status().balance is not None, what="a balance")
        await pilot.press("f4")
        await wait_until(lambda: "The balance is ₦25,000.00." in notes, what="F4 answered")
        sandbox.set_balance(DEMO_API_KEY, Decimal("31000.00"))  # a top-up elsewhere
        await pilot.press("f4")
        await wait_until(
            lambda: "The balance is ₦31,000.00 (it was ₦25,000.00)." in notes, what="the change"
        )


async def test_a_key_refused_at_start_is_said_at_once(make_app, monkeypatch):
    app = make_app(api_key="rn_this_key_was_revoked_0000")
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=SIZE):
        await wait_until(
            lambda: any("F6 logs in with another key" in n for n in notes), what="said"
        )


async def test_offers_dearer_than_the_balance_are_dimmed_with_the_reason(make_app, sandbox):
    sandbox.set_balance(DEMO_API_KEY, Decimal("500.00"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_prices(app, pilot)
        status = app.screen.query_one("#prices-status", Static)
        dear = [o for o in table.visible_offers if o.available and o.price > Decimal("500")]
        assert dear, "the sandbox's Nigerian WhatsApp offers should include dearer ones"
        await wait_until(
            lambda: (
                f"{len(dear)} dimmed: dearer than your balance (₦500.00)" in str(status.content)
            ),
            what="the reason",
        )
        rows = list(table.visible_offers)
        cheap_row = table.render_line(1 + rows.index(next(o for o in rows if o not in dear)))
        dear_row = table.render_line(1 + rows.index(dear[0]))
        cheap_style, dear_style = next(iter(cheap_row)).style, next(iter(dear_row)).style
        assert dear_style.color != cheap_style.color and not dear_style.strike


@pytest.mark.parametrize("demo", [True, False])
async def test_demo_mode_says_so(make_app, demo):
    app = make_app(options=AppOptions(demo=demo))
    async with app.run_test(size=SIZE):
        await wait_until(lambda: app.screen.query("#topbar-balance"), what="the top bar")
        assert bool(app.screen.query("#topbar-demo")) is demo


@pytest.mark.parametrize("width", [60, 80, 120])
async def test_the_footer_shows_whole_keys_that_fit_help_always(make_app, width):
    app = make_app(api_key=None)
    async with app.run_test(size=(width, 24)) as pilot:
        await open_prices(app, pilot)
        footer = app.screen.query_one(AppFooter)
        await wait_until(lambda: footer.query(FooterKey), what="the keys")
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        assert all(k.region.right <= width for k in keys)
        shown = [k.key for k in keys]
        assert "f1" in shown  # Help lists whatever did not fit
        assert "enter" in shown and "escape" in shown  # the screen's own come first
        assert shown[0] == "f6"  # no key: logging in comes first


async def test_a_dialog_is_never_under_a_toast(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        app.notify("Something happened elsewhere")
        await wait_until(lambda: dialog.query("ToastHolder"), what="the toast")
        await pilot.pause()
        assert all(not holder.display for holder in dialog.query("ToastHolder"))
        await pilot.press("escape")
        await wait_until(lambda: app.screen.query("ToastHolder"), what="shown after")
        assert all(holder.display for holder in app.screen.query("ToastHolder"))
