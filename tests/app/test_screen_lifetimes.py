"""No screen outlives its use (issue 14): opened and closed again and again, the
screens closed are freed (a subscription or timer that kept each alive took RSS from
58 to 209 MiB in 60 cycles)."""

from __future__ import annotations

import gc

from textual.screen import Screen
from textual.widget import Widget

from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from tests.app.helpers import open_prices, rent_cursor_offer
from tests.core.waiting import wait_until

SIZE = (120, 40)
CYCLES = 8


def alive(kind: type[Screen[object]]) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def detached_widgets(app) -> int:
    """Widgets alive that no open screen holds: what a closed screen (or a widget a
    screen replaced, such as the footer's keys after each recompose) left behind."""
    gc.collect()
    shown: set[int] = set()
    for screen in app.screen_stack:
        shown.add(id(screen))
        shown.update(id(node) for node in screen.walk_children(with_self=False))
    return sum(
        1 for o in gc.get_objects() if isinstance(o, Widget) and id(o) not in shown and o is not app
    )


async def test_closed_screens_are_freed(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_prices(app, pilot)
        await rent_cursor_offer(app, pilot)  # a rental: the bar and Live rentals tick
        await pilot.press("escape", "escape")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="countries")
        for _ in range(CYCLES):
            await pilot.press("enter")
            await wait_until(lambda: isinstance(app.screen, PricesScreen), what="prices")
            await wait_until(lambda: app.screen.query_one("OfferTable").row_count > 0)
            await pilot.press("f2")
            await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rentals")
            await pilot.press("f3")
            await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
            await pilot.press("escape")
            await wait_until(lambda: isinstance(app.screen, PricesScreen), what="back")
            await pilot.press("escape")
            await wait_until(lambda: isinstance(app.screen, CountriesScreen), what="back")
        # Closed screens are torn down in the background: wait for that, but a screen
        # kept per cycle (8 of them) never goes.
        for kind in (PricesScreen, RentalsScreen, HistoryScreen):
            await wait_until(lambda k=kind: alive(k) <= 1, what=f"{kind.__name__} freed")
        # Not only the screens: every widget they held. A handful may wait for the next
        # collection; one cycle's worth (a screen has well over a hundred) may not.
        await wait_until(
            lambda: detached_widgets(app) < 40, what="the closed screens' widgets freed"
        )


def engine_timers_with_a_worker(app) -> int:
    """Timers waiting on the engine's loop whose context holds a Textual worker (and so
    the screen it works for). Cancelled ones stay there too, until they are due or
    asyncio purges them (only once it has over 100, half of them cancelled)."""
    scheduled = list(app.engine._loop._scheduled)  # one copy, under the GIL
    return sum(1 for handle in scheduled if any(v.name == "active_worker" for v in handle._context))


async def test_a_closed_screen_is_freed_once_its_request_is_done(make_app):
    """A screen that asked the engine for something (History: `GET /rentals`) is freed
    once it is closed and its worker done. The engine's task ran in a copy of the
    asking worker's context (Textual's active app, screen and worker), and every timer
    it set copied it again: the request's timeout, cancelled, stayed in the engine
    loop's heap until due (15 s in the program, an hour here), and the screen with it."""
    app = make_app(timeout=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await wait_until(lambda: app.engine.status().has_key, what="the engine ready")
        for _ in range(2):
            await pilot.press("f3")
            await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
            status = app.screen.query_one("#history-status")
            await wait_until(lambda s=status: "spent" in str(s.content), what="history loaded")
            assert engine_timers_with_a_worker(app) == 0
            await pilot.press("escape")
            await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="back")
        await wait_until(lambda: alive(HistoryScreen) == 0, what="closed History screens freed")
