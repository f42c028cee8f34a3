"""Keys typed the moment a screen opens reach the widget they were meant for, even while
its data is still loading (issue 14: `/gh` typed in one burst lost the `gh`; here `/al`,
for Alpha)."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.offer_table import OfferTable
from tests.core.waiting import wait_until

SIZE = (120, 40)


async def test_a_filter_typed_while_the_offers_load_is_kept(make_app, sandbox):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await wait_until(lambda: app.screen.query_one(FilterList).shown, what="listed")
        await pilot.press(*"whats", "enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        await wait_until(lambda: app.screen.query_one(FilterList).shown, what="countries")
        await pilot.press(*"ng")
        sandbox.faults.latency = 1.0  # the offers take a second to come
        # In one burst, as a terminal delivers them: not one at a time as the pilot does.
        for key, char in [("enter", "\r"), ("slash", "/"), ("a", "a"), ("l", "l")]:
            app.post_message(events.Key(key, char))
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
        screen = app.screen
        table = screen.query_one(OfferTable)
        await wait_until(lambda: screen.price_list is not None, what="the offers")
        box = screen.query_one("#offer-filter", Input)
        # The keys that reached the countries box are handed on after it is covered.
        await wait_until(lambda: box.value == "al", what="the filter typed in the burst")
        await wait_until(
            lambda: {o.provider_name for o in table.visible_offers} == {"Alpha"},
            what="only Alpha's offers shown",
        )
        assert box.has_focus  # still typing there, not moved to the table by the load
        sandbox.faults.latency = 0.0


def burst(app, keys: str) -> None:
    """Post `keys` to the App at once, as a terminal delivers a paste or fast typing."""
    for char in keys:
        key = {"\r": "enter", "/": "slash"}.get(char, char)
        app.post_message(events.Key(key, char))


async def test_a_whole_path_typed_in_one_burst_reaches_each_screen(make_app):
    # Service, Enter, country, Enter: each part for the screen the Enter before it opens.
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await wait_until(lambda: app.screen.query_one(FilterList).shown, what="listed")
        burst(app, "telegram\rgh\r")
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
        screen = app.screen
        assert screen.service.name == "Telegram"
        assert screen.country is not None and screen.country.iso_code == "GH"
        countries = app.screen_stack[-2]
        assert isinstance(countries, CountriesScreen)
        assert countries.query_one(FilterList).input.value == "gh"  # not "gh\r…"


async def test_keys_behind_an_enter_that_opens_nothing_stay_in_the_box(make_app):
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: listing.shown, what="listed")
        burst(app, "qqzx\rwv")  # matches nothing: the Enter chooses nothing
        await wait_until(lambda: listing.input.value == "qqzxwv", what="every key typed")
        assert isinstance(app.screen, ServicesScreen)
        assert not app.key_hold.collecting


async def test_a_screen_that_never_says_it_is_ready_holds_keys_only_until_the_deadline(
    make_app, monkeypatch
):
    import rentnumber_tui.app.key_hold as key_hold

    monkeypatch.setattr(key_hold, "OVERDUE", 0.3)
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: listing.shown, what="listed")
        app.key_hold.start()  # as an Enter would, and then no screen and no word of it
        burst(app, "tele")
        assert listing.input.value == ""  # held
        await wait_until(lambda: listing.input.value == "tele", what="the keys after the deadline")


async def test_an_enter_typed_while_the_countries_load_opens_the_match_once_they_come(
    make_app, sandbox
):
    # The service list can come before the countries (two requests): a path typed in
    # one burst must not lose its second Enter to a list that is still loading.
    sandbox.faults.slow_seconds = 0.8
    sandbox.faults.inject("slow", "/countries")
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await wait_until(lambda: app.screen.query_one(FilterList).shown, what="listed")
        assert app.countries is None  # still on its way
        burst(app, "telegram\rgh\r")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        await wait_until(lambda: app.countries is not None, what="the countries")
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
        assert app.screen.country is not None and app.screen.country.iso_code == "GH"


async def test_an_enter_that_waited_for_a_list_that_failed_chooses_nothing(make_app, sandbox):
    sandbox.faults.slow_seconds = 0.5
    sandbox.faults.inject("slow", "/countries")
    sandbox.faults.inject("success_false_200", "/countries", count=50)  # behind the slow one
    app = make_app()
    async with app.run_test(size=SIZE):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await wait_until(lambda: app.screen.query_one(FilterList).shown, what="listed")
        assert app.countries is None and app.catalog_error is None  # still on its way
        burst(app, "telegram\rgh\rx")
        await wait_until(
            lambda: isinstance(app.screen, CountriesScreen) and app.screen.query(FilterList),
            what="the countries screen",
        )
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: app.catalog_error, what="the countries failing")
        await wait_until(lambda: listing.input.value == "ghx", what="the keys after the Enter")
        assert isinstance(app.screen, CountriesScreen)
        assert not app.key_hold.collecting


async def test_keys_typed_as_the_program_starts_reach_the_first_screen(make_app, monkeypatch):
    # The service list is the first screen itself (no screen is pushed): keys that come
    # while it opens — here the moment the App has mounted, before the screen has —
    # wait for it as for any other, and none is lost.
    on_mount = RentNumberApp.on_mount

    def typed_at_once(self: RentNumberApp) -> None:
        on_mount(self)
        burst(self, "tele")

    monkeypatch.setattr(RentNumberApp, "on_mount", typed_at_once)
    app = make_app()
    async with app.run_test(size=SIZE):
        screen = app.screen
        assert isinstance(screen, ServicesScreen)
        box = screen.query_one(FilterList).input
        await wait_until(lambda: box.value == "tele", what="the keys typed at start")
        assert box.has_focus
