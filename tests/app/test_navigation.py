"""Getting around: the palette offers the screen's own actions, `?` and Esc in the filter
lists, F2/F3 switch instead of stacking, Ctrl+S goes home, Ctrl+Q asks while rentals
wait."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from rentnumber_tui.app.screens.confirm import ConfirmQuitScreen
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.help import HelpScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from tests.app.helpers import open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until

SIZE = (120, 40)


async def palette_prompts(app, pilot, query: str) -> list[str]:
    """Open the palette, type `query`; the commands it offers, as shown."""
    await pilot.press("ctrl+p")
    await wait_until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*query)
    options = app.screen.query_one("CommandList", OptionList)

    def prompts() -> list[str]:
        return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

    await wait_until(lambda: any(query.lower() in p.lower() for p in prompts()), what=query)
    return prompts()


async def test_the_palette_offers_the_screens_actions_with_their_keys(make_app, monkeypatch):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        found = await palette_prompts(app, pilot, "sort")
        assert any("Sort by price" in p for p in found), found
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="the prices")
        await rent_cursor_offer(app, pilot)

        found = await palette_prompts(app, pilot, "copy")
        assert any("Copy code" in p and "(c)" in p for p in found), found
        assert any("Copy number" in p and "(n)" in p for p in found), found
        await pilot.press("escape")
        found = await palette_prompts(app, pilot, "cancel")
        assert any("Cancel rental" in p and "(x)" in p for p in found), found
        # Chosen, it runs on the screen it was opened from.
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="the rentals")
        await palette_prompts(app, pilot, "copy number")
        await pilot.press("enter")
        phone = app.engine.rentals()[0].phone
        await wait_until(lambda: any(phone in n for n in notes), what="the number copied")


async def test_question_mark_opens_help_and_esc_clears_the_filter_first(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        services = app.screen.query_one(FilterList)
        await wait_until(lambda: services.shown, what="services listed")
        await pilot.press(*"whats", "question_mark")
        await wait_until(lambda: isinstance(app.screen, HelpScreen), what="the help")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        assert services.input.value == "whats"  # `?` was not typed
        await pilot.press("enter")

        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: countries.shown, what="countries listed")
        await pilot.press(*"nig")
        await pilot.press("escape")  # clears what was typed, stays
        assert isinstance(app.screen, CountriesScreen)
        assert countries.input.value == ""
        assert len(countries.shown) > 1
        # The same from the list itself (Tab), then Esc on an empty filter goes back.
        await pilot.press(*"ke", "tab")
        assert isinstance(app.focused, OptionList)
        await pilot.press("escape")
        assert countries.input.value == "" and isinstance(app.screen, CountriesScreen)
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="back")


async def test_f2_and_f3_switch_instead_of_stacking_and_ctrl_s_goes_home(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        depth = len(app.screen_stack)
        for key in ("f2", "f3", "f2", "f3", "f2"):
            await pilot.press(key)
            await pilot.pause()
        assert isinstance(app.screen, RentalsScreen)
        assert len(app.screen_stack) == depth + 1  # one of the two, on the prices
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, PricesScreen), what="the prices")

        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        await pilot.press("ctrl+s")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="home")
        assert len(app.screen_stack) == 1  # the services: the first screen
        box = app.screen.query_one(FilterList).input
        assert isinstance(box, Input)


async def test_ctrl_q_asks_while_a_rental_waits_and_says_it_keeps_running(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        await rent_cursor_offer(app, pilot)
        await pilot.press("ctrl+q")
        await wait_until(lambda: isinstance(app.screen, ConfirmQuitScreen), what="the question")
        text = " ".join(str(w.content) for w in app.screen.query("Static"))
        assert "1 rental is still waiting for an SMS" in text
        assert "keep running on the server" in text
        await pilot.press("escape")  # stay
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="back")
        assert app.is_running
        await pilot.press("ctrl+q")
        await wait_until(lambda: isinstance(app.screen, ConfirmQuitScreen), what="asked again")
        await pilot.press("ctrl+q")  # twice: quit
        await wait_until(lambda: not app.is_running, what="the app to quit")


async def test_ctrl_q_quits_at_once_when_nothing_waits(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await pilot.press("ctrl+q")
        await wait_until(lambda: not app.is_running, what="the app to quit")
