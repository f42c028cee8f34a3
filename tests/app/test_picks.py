"""Recent pairs and favourites (issue 12, part 1): the services list starts with them,
Enter on a recent pair opens its price table, `f` marks a favourite (in the list, and on
a price-table row), and they are remembered across restarts, per profile."""

from __future__ import annotations

from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.core.store import Store
from tests.app.helpers import open_prices, record_notes
from tests.core.waiting import wait_until


def listed(app) -> list[str]:
    return [str(item.prompt) for item in app.screen.query_one(FilterList).shown]


async def back_to_services(app, pilot) -> FilterList:
    while not isinstance(app.screen, ServicesScreen):
        await pilot.press("escape")
    services = app.screen.query_one(FilterList)
    services.input.value = ""
    await wait_until(lambda: services.shown, what="services listed")
    return services


async def test_recent_pairs_lead_and_open_their_price_table(make_app, tmp_path):
    path = tmp_path / "store.sqlite3"
    app = make_app(store_path=path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot, "whats", "ng")
        await back_to_services(app, pilot)
        await open_prices(app, pilot, "telegr", "kenya")
        await back_to_services(app, pilot)
        await wait_until(lambda: listed(app)[0] == "Recent", what="the Recent group")
        rows = listed(app)
        assert "Telegram" in rows[1] and "Kenya" in rows[1]  # newest first
        assert "WhatsApp" in rows[2] and "Nigeria" in rows[2]
        assert rows[3] == "All services"
    # After a restart (same profile): still there; Enter on the first opens its prices.
    again = make_app(store_path=path)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(again.screen, ServicesScreen), what="services")
        await wait_until(lambda: listed(again)[:1] == ["Recent"], what="Recent after restart")
        assert again.screen.query_one(FilterList).highlighted_id.startswith("recent:")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(again.screen, PricesScreen), what="prices")
        assert again.screen.service.slug == "telegram"
        assert again.screen.country is not None and again.screen.country.iso_code == "KE"
    # Another profile does not see them.
    other = Store(path, "someone-else")
    assert other.picks() == []
    other.close()


async def test_f_marks_favourites_in_the_list_and_on_a_price_row(make_app, monkeypatch):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        services = app.screen.query_one(FilterList)
        await wait_until(lambda: services.shown, what="services listed")
        await pilot.press("g", "o", "o", "g")  # typing filters, even an `f`-less word
        await pilot.press("tab")  # into the list: `f` is a key there
        assert services.options.has_focus
        await pilot.press("f")
        await wait_until(lambda: any("Google is a favourite" in n for n in notes), what="said")
        assert services.input.value == "goog"  # `f` was not typed
        await pilot.press("l")  # any other letter goes on into the filter
        assert services.input.value == "googl" and services.input.has_focus

        table = await open_prices(app, pilot, "whats", "ng")
        provider = table.cursor_offer.provider_name
        await pilot.press("f")
        await wait_until(
            lambda: any(f"· {provider} is a favourite" in n for n in notes), what="row"
        )
        await back_to_services(app, pilot)
        await wait_until(lambda: "Favourites" in listed(app), what="the Favourites group")
        rows = listed(app)
        start = rows.index("Favourites")
        assert "WhatsApp" in rows[start + 1] and provider in rows[start + 1]
        assert "Google" in rows[start + 2] and "choose a country" in rows[start + 2]

        # `f` on a favourite unmarks it.
        services = app.screen.query_one(FilterList)
        services.options.highlighted = start + 2
        services.options.focus()
        await pilot.press("f")
        await wait_until(lambda: any("Google is no longer a favourite" in n for n in notes))
        await wait_until(lambda: sum("Google" in r for r in listed(app)) == 1, what="unmarked")
