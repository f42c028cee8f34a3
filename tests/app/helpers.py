"""Steps the app tests share: open a price table, open the confirmation, rent the offer
under the cursor, fill Live rentals, collect the notifications."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from textual import events
from textual.widgets import Input

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.app.screens.confirm import ConfirmRentScreen
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.login import LoginScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.app.widgets.rentals_list import RentalsList
from rentnumber_tui.core.rentals import OfferRef, RentalLabels, TrackedRental
from rentnumber_tui.core.store import Store
from tests.core.waiting import wait_until

#: The demo account's balance in a fresh sandbox.
START = Decimal("25000.00")


async def open_prices(app, pilot, service: str = "whats", country: str = "ng") -> OfferTable:
    await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services screen")
    services = app.screen.query_one(FilterList)
    await wait_until(lambda: services.shown, what="services listed")
    await pilot.press(*service)
    await pilot.press("enter")
    await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
    countries = app.screen.query_one(FilterList)
    await wait_until(lambda: countries.shown, what="countries listed")
    await pilot.press(*country)
    await pilot.press("enter")
    await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
    table = app.screen.query_one(OfferTable)
    await wait_until(lambda: table.row_count > 0, what="offers")
    return table


def record_notes(app, monkeypatch) -> list[str]:
    """Every notification's text, as the app sends it (toasts still show)."""
    notes: list[str] = []
    real_notify = app.notify
    monkeypatch.setattr(
        app, "notify", lambda message, **kw: (notes.append(message), real_notify(message, **kw))
    )
    return notes


async def open_confirmation(app, pilot) -> ConfirmRentScreen:
    """On the price table: Enter on the offer under the cursor (the first one in stock,
    if it is not); returns the confirmation dialog."""
    table = app.screen.query_one(OfferTable)
    if not table.cursor_offer.available:
        table.move_cursor(next(i for i, o in enumerate(table.visible_offers) if o.available))
    await pilot.press("enter")
    await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen), what="confirmation")
    return app.screen


async def rent_cursor_offer(app, pilot) -> int:
    """Rent the offer under the cursor (the first one in stock, if it is not)."""
    before = {r.rental_id for r in app.engine.rentals()}
    dialog = await open_confirmation(app, pilot)
    await wait_until(lambda: dialog.balance is not None, what="balance in the dialog")
    await pilot.press("y")
    await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rentals screen")
    (new,) = {r.rental_id for r in app.engine.rentals()} - before
    return new


async def live_rentals_with(app, pilot, count: int) -> RentalsList:
    """Rent `count` WhatsApp numbers (through the engine, not the screens), open Live
    rentals (F2) and wait until it lists them all."""
    await wait_until(lambda: app.services, what="services")
    engine = app.engine
    whatsapp = next(s for s in app.services if s.slug == "whatsapp")
    offer = next(o for o in (await engine.prices("whatsapp", 1)).offers if o.available)
    for _ in range(count):
        await engine.rent(offer, whatsapp)
    await pilot.press("f2")
    await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="Live rentals")
    listing = app.screen.query_one(RentalsList)
    await wait_until(lambda: listing.option_count == count, what=f"{count} rows")
    return listing


def still_cursors(app) -> None:
    """Stop every text cursor blinking (and hide it), so a snapshot does not depend on
    the moment it is taken: Input's cursor blinks every half second."""
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False


async def login_screen(app) -> LoginScreen:
    await wait_until(
        lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted,
        what="the login screen",
    )
    screen = app.screen
    assert isinstance(screen, LoginScreen)
    return screen


async def paste_key(app, pilot, key: str) -> None:
    """Paste `key` into the (masked) input and press Enter, as a person would."""
    screen = await login_screen(app)
    box = screen.query_one("#login-key", Input)
    await wait_until(lambda: not box.disabled and box.has_focus, what="the key input")
    box.clear()
    box.post_message(events.Paste(key))
    await wait_until(lambda: box.value == key, what="the pasted key")
    await pilot.press("enter")


def seed_history(store: Store, sandbox, clock) -> dict[str, object]:
    """Past rentals of WhatsApp in Nigeria: the cheapest provider delivered 1 of 4, the
    second 4 of 4 (in 40-70 s); the others have no record."""
    offers = sorted(
        (o for o in sandbox.catalog.offers if o.service_id == 1 and o.country_id == 1),
        key=lambda o: o.final_price,
    )
    cheap, reliable = offers[0], offers[1]
    start = clock.now() - timedelta(days=1)
    outcomes = [(cheap, 30), (cheap, None), (cheap, None), (cheap, None)]
    outcomes += [(reliable, s) for s in (40, 50, 60, 70)]
    for n, (offer, seconds) in enumerate(outcomes):
        provider = sandbox.catalog.provider(offer.provider_id)
        store.save_rental(
            TrackedRental(
                rental_id=900 + n,
                phone=f"+23480000009{n:02d}",
                status=RentalStatus.COMPLETED if seconds else RentalStatus.EXPIRED,
                cost=Decimal("400.00"),
                labels=RentalLabels(
                    service="WhatsApp",
                    service_slug="whatsapp",
                    country="Nigeria",
                    iso_code="NG",
                    provider=provider.name,
                ),
                code="123456" if seconds else None,
                created_at=start,
                code_seen_at=start + timedelta(seconds=seconds) if seconds else None,
                offer=OfferRef(offer.id, offer.country_id, offer.provider_id),
            )
        )
    return {"cheap": cheap, "reliable": reliable}
