"""Short names in the Services filter, and the cheapest price per country on the
Countries screen (issue 13), on the built-in sandbox."""

from __future__ import annotations

from decimal import Decimal

from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.core.money import format_money
from tests.app.helpers import open_prices
from tests.core.waiting import wait_until

PRICES_PATH = "/api/v1/services/whatsapp/prices"


async def services_list(app) -> FilterList:
    await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services screen")
    listing = app.screen.query_one(FilterList)
    await wait_until(lambda: len(listing.shown) >= 40, what="all services")
    return listing


def service_id(sandbox, slug: str) -> str:
    found = sandbox.catalog.service_by_slug(slug)
    assert found is not None
    return str(found.id)


def cheapest_rentable(sandbox, slug: str, country_id: int | None = None) -> Decimal | None:
    """The cheapest offer with stock and a positive listed price, from the sandbox."""
    found = sandbox.catalog.service_by_slug(slug)
    prices = []
    for offer in sandbox.catalog.offers_for_service(found.id):
        if country_id is not None and offer.country_id != country_id:
            continue
        price, stock = sandbox.state.listed(offer, sandbox.state.stock_of(offer.id))
        if stock > 0 and price > 0:
            prices.append(price)
    return min(prices) if prices else None


def row(listing: FilterList, item_id: str) -> str:
    """The text of the item's row as shown ("" while it is not shown)."""
    return next((str(item.prompt) for item in listing.shown if item.id == item_id), "")


async def test_short_names_find_their_service_first(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        listing = await services_list(app)
        await pilot.press(*"tg")
        assert listing.shown[0].id == service_id(sandbox, "telegram")
        assert listing.options.highlighted_option.id == service_id(sandbox, "telegram")
        # OpenAI / ChatGPT (which holds "tg") is still listed, after it.
        assert service_id(sandbox, "openai") in [item.id for item in listing.shown[1:]]
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        assert app.screen.service.slug == "telegram"
        while not isinstance(app.screen, ServicesScreen):
            await pilot.press("escape")
        for query, slug in [("wa", "whatsapp"), ("x", "twitter"), ("ig", "instagram")]:
            listing.input.value = ""
            await pilot.press(*query)
            assert listing.shown[0].id == service_id(sandbox, slug), query


async def test_a_recent_pair_is_found_by_its_short_name_too(make_app, sandbox):
    telegram = sandbox.catalog.service_by_slug("telegram")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot, "telegr", "ke")
        while not isinstance(app.screen, ServicesScreen):
            await pilot.press("escape")
        listing = app.screen.query_one(FilterList)
        listing.input.value = ""
        await wait_until(lambda: listing.shown[0].id.startswith("heading:"), what="recent")
        await pilot.press(*"tg")
        first, second = listing.shown[:2]
        assert first.id.startswith("recent:") and "Kenya" in str(first.prompt)
        assert second.id == str(telegram.id)


async def test_each_country_says_its_cheapest_price_from_one_request(make_app, sandbox):
    whatsapp = sandbox.catalog.service_by_slug("whatsapp")
    assert whatsapp is not None
    nigeria = sandbox.catalog.country_by_iso("NG")
    kenya = sandbox.catalog.country_by_iso("KE")
    ghana = sandbox.catalog.country_by_iso("GH")
    ng_offers = sorted(
        (o for o in sandbox.catalog.offers_for_service(whatsapp.id) if o.country_id == nigeria.id),
        key=lambda o: o.final_price,
    )
    # Nigeria's cheapest listed at ₦0.00 (never rented), the next one sold out: its
    # price is the third cheapest. Every Ghanaian offer is sold out.
    sandbox.misreport(ng_offers[0].id, price=Decimal("0.00"))
    sandbox.set_stock(ng_offers[1].id, 0)
    for offer in sandbox.catalog.offers_for_service(whatsapp.id):
        if offer.country_id == ghana.id:
            sandbox.set_stock(offer.id, 0)
    expected_ng = cheapest_rentable(sandbox, "whatsapp", nigeria.id)
    assert expected_ng == min(o.final_price for o in ng_offers[2:] if o.stock > 0)

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        listing = await services_list(app)
        await pilot.press(*"whats", "enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: "from" in row(countries, str(nigeria.id)), what="prices")
        assert f"from {format_money(expected_ng):>12}" in row(countries, str(nigeria.id))
        kenya_price = format_money(cheapest_rentable(sandbox, "whatsapp", kenya.id))
        assert kenya_price in row(countries, str(kenya.id))
        assert row(countries, str(ghana.id)).rstrip().endswith("sold out")
        overall = cheapest_rentable(sandbox, "whatsapp")
        assert format_money(overall) in row(countries, "all")
        # One request for every country, not one per country.
        asked = [r for r in sandbox.request_log if r.path == PRICES_PATH]
        assert len(asked) == 1

        # The filter still works, prices and all.
        await pilot.press(*"ke")
        assert countries.shown[0].id == str(kenya.id)
        assert kenya_price in str(countries.shown[0].prompt)

        # Back on Services, the "from" price is the cheapest that can be rented.
        while not isinstance(app.screen, ServicesScreen):
            await pilot.press("escape")  # the first one may clear the filter
        await wait_until(
            lambda: format_money(overall) in row(listing, str(whatsapp.id)), what="new price"
        )
        # Opened again at once: what is known shows, no second request.
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: countries.shown, what="countries listed")
        assert f"from {format_money(expected_ng):>12}" in row(countries, str(nigeria.id))
        await pilot.pause()
        assert len([r for r in sandbox.request_log if r.path == PRICES_PATH]) == 1


async def test_a_price_table_updates_its_countrys_price(make_app, sandbox):
    whatsapp = sandbox.catalog.service_by_slug("whatsapp")
    nigeria = sandbox.catalog.country_by_iso("NG")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await services_list(app)
        await pilot.press(*"whats", "enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: "from" in row(countries, str(nigeria.id)), what="prices")
        # Meanwhile Nigeria sells out; its price table says so, and so does the list.
        for offer in sandbox.catalog.offers_for_service(whatsapp.id):
            if offer.country_id == nigeria.id:
                sandbox.set_stock(offer.id, 0)
        await pilot.press(*"ng", "enter")
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
        await wait_until(lambda: app.screen.price_list is not None, what="offers")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        await wait_until(lambda: row(countries, str(nigeria.id)).rstrip().endswith("sold out"))


async def test_no_price_is_shown_while_none_is_known(make_app, sandbox):
    sandbox.faults.inject("success_false_200", "/services/whatsapp/prices")
    nigeria = sandbox.catalog.country_by_iso("NG")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await services_list(app)
        await pilot.press(*"whats", "enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: "could not be loaded" in row(countries, "all"), what="failure")
        assert "from" not in row(countries, str(nigeria.id))
        assert "sold out" not in row(countries, str(nigeria.id))
        # The countries can still be chosen; coming back reads the prices again.
        await pilot.press(*"ng", "enter")
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        countries.input.value = ""
        await wait_until(lambda: "from" in row(countries, "all"), what="prices on a retry")
        assert "could not be loaded" not in row(countries, "all")
        assert "from" in row(countries, str(nigeria.id))
