"""What ticks once a second repaints only what moved (issue 14: Live rentals repainted
the whole screen every second)."""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.widgets import Static

from rentnumber_tui.app.format import row_countdown
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.widgets.rentals_list import RentalsList, changed_span
from rentnumber_tui.app.widgets.repaint import update_static
from tests.app.helpers import live_rentals_with
from tests.core.waiting import wait_until


def test_the_changed_span_is_in_cells():
    assert changed_span("WhatsApp  4:59", "WhatsApp  4:59") is None
    assert changed_span("WhatsApp  4:59", "WhatsApp  4:58") == (13, 14)
    assert changed_span("WhatsApp 10:00", "WhatsApp  9:59") == (9, 14)
    # A wide character before the change moves it by two cells, not one.
    assert changed_span("微信  4:59", "微信  4:58") == (9, 10)
    assert changed_span("ab", "abc") == (2, 3)


def test_a_row_counts_by_the_minute_until_the_last_two():
    assert row_countdown(None) == "--:--"
    assert row_countdown(3900) == "1 h 05"
    assert row_countdown(3600) == "1 h 00"
    assert row_countdown(899.5) == "14 min"
    assert row_countdown(120) == "2 min"
    assert row_countdown(119.9) == "1:59"
    assert row_countdown(-3) == "0:00"


async def test_a_tick_repaints_only_the_rows_whose_time_moved_and_only_those_cells(
    make_app, clock, monkeypatch
):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await live_rentals_with(app, pilot, 5)
        engine = app.engine
        screen = app.screen
        painted: list[tuple[Region, ...]] = []
        original = RentalsList.refresh

        def refresh(self, *regions, **kwargs):
            painted.append(regions)
            return original(self, *regions, **kwargs)

        def rows() -> list[str]:
            return [str(listing.get_option_at_index(i).prompt) for i in range(5)]

        def left() -> float:
            now = engine.server_now()
            return min(r.seconds_left(now) or 0.0 for r in engine.rentals())

        monkeypatch.setattr(RentalsList, "refresh", refresh)
        # To the middle of a minute (the rentals were rented at one instant of the clock).
        clock.advance((left() - 30) % 60)
        screen.tick()
        painted.clear()
        before = rows()
        clock.advance(1)
        screen.tick()
        assert painted == [] and rows() == before  # the same minute: nothing to repaint
        clock.advance(30)  # the next minute
        screen.tick()
        assert rows() != before and all(" min" in row for row in rows())
        assert len(painted) == 5 and all(len(regions) == 1 for regions in painted)
        regions = [regions[0] for regions in painted]
        assert sorted(region.y for region in regions) == [0, 1, 2, 3, 4]
        assert all(region.height == 1 and region.width <= 2 for region in regions)
        # The last two minutes count by the second.
        clock.advance(left() - 100.5)
        screen.tick()
        assert all("1:40" in row for row in rows())
        painted.clear()
        clock.advance(1)
        screen.tick()
        assert all("1:39" in row for row in rows())
        assert len(painted) == 5 and all(regions[0].width <= 2 for regions in painted)
        painted.clear()
        screen.tick()  # the same second again
        assert painted == []


async def test_a_rental_that_changes_repaints_its_row_and_keeps_the_selection(
    make_app, sandbox, monkeypatch
):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await live_rentals_with(app, pilot, 5)
        await pilot.press("down", "down", "down")
        assert listing.highlighted == 3
        rebuilt: list[object] = []
        original = RentalsList.set_options

        def set_options(self, options):
            rebuilt.append(options)
            return original(self, options)

        monkeypatch.setattr(RentalsList, "set_options", set_options)
        other = listing.get_option_at_index(1)
        sandbox.deliver_sms(int(other.id), code="515151")
        await wait_until(lambda: "code 515151" in str(other.prompt), what="the code in its row")
        assert rebuilt == []  # the row changed in place: the list was not built again
        assert listing.highlighted == 3


async def test_a_static_is_updated_only_when_its_text_or_style_changed(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)):
        static = Static()
        await app.screen.mount(static)
        assert update_static(static, Content("⇅ 1/2/s"))
        assert not update_static(static, Content("⇅ 1/2/s"))
        assert update_static(static, Content.styled("⇅ 1/2/s", "bold"))
        assert static.content.plain == "⇅ 1/2/s"


async def test_a_screen_out_of_sight_does_not_tick_and_ticks_again_in_sight(make_app, monkeypatch):
    # Every screen in the stack has its own top bar: only the one in sight may work.
    from rentnumber_tui.app.screens.services import ServicesScreen
    from rentnumber_tui.app.widgets.topbar import TopBar

    ticks: dict[int, int] = {}
    original = TopBar._show_budget

    def counted(self: TopBar) -> None:
        ticks[id(self)] = ticks.get(id(self), 0) + 1
        original(self)

    monkeypatch.setattr(TopBar, "_show_budget", counted)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        below = app.screen.query_one(TopBar)
        await wait_until(lambda: ticks.get(id(below), 0) >= 2, what="the bar ticking")
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="Live rentals")
        front = app.screen.query_one(TopBar)
        await wait_until(lambda: ticks.get(id(front), 0) >= 2, what="the front bar")
        covered = ticks[id(below)]
        start = ticks[id(front)]
        await wait_until(lambda: ticks[id(front)] >= start + 3, what="the front bar ticking")
        assert ticks[id(below)] == covered  # not one tick while covered
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="back")
        await wait_until(lambda: ticks[id(below)] > covered, what="the bar ticking again")
        # The closed screen's widgets are let go by the clock (which never held them).
        await wait_until(
            lambda: all(node is not front for node in app.second_clock.following()),
            what="the closed screen's widgets let go",
        )
        assert below in app.second_clock.following()


async def test_what_moves_by_the_second_moves_in_the_same_frame(make_app, monkeypatch):
    # The detail's countdown and the top bar's budget once ticked on timers of their
    # own, a fraction of a second apart: two frames a second on Live rentals.
    from rentnumber_tui.app.second_clock import SecondClock
    from rentnumber_tui.app.widgets.topbar import TopBar

    seconds = 0
    inside = False  # the budget is also shown at once on a change of health: not counted
    seen: list[tuple[str, int]] = []
    tick, show_budget, screen_tick = SecondClock.tick, TopBar._show_budget, RentalsScreen.tick

    def clock_tick(self: SecondClock) -> None:
        nonlocal seconds, inside
        seconds += 1
        inside = True
        try:
            tick(self)
        finally:
            inside = False

    def budget(self: TopBar) -> None:
        if inside:
            seen.append(("budget", seconds))
        show_budget(self)

    def countdown(self: RentalsScreen) -> None:
        if inside:
            seen.append(("countdown", seconds))
        screen_tick(self)

    monkeypatch.setattr(SecondClock, "tick", clock_tick)
    monkeypatch.setattr(TopBar, "_show_budget", budget)
    monkeypatch.setattr(RentalsScreen, "tick", countdown)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await live_rentals_with(app, pilot, 2)
        seen.clear()
        first = seconds
        await wait_until(lambda: seconds >= first + 3, what="three seconds")
        ticked = [(what, second) for what, second in seen if first < second < seconds]
        assert sorted(ticked) == sorted(
            (what, second)
            for what in ("budget", "countdown")
            for second in range(first + 1, seconds)
        )


async def test_a_change_on_a_covered_screen_repaints_nothing_until_it_returns(
    make_app, monkeypatch
):
    # Textual counts the screen just beneath the front one as visible (for dialogs that
    # let it show through): its top bar following the balance repainted the whole
    # screen in front. Beneath an opaque screen it waits, and shows it on its return.
    from textual.screen import Screen

    from rentnumber_tui.app.screens.services import ServicesScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        below = app.screen
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="Live rentals")
        front = app.screen
        await pilot.pause()
        asked: list[tuple[Region, ...]] = []
        original = Screen.refresh

        def refresh(self, *regions, **kwargs):
            if self is front and regions:
                asked.append(regions)
            return original(self, *regions, **kwargs)

        monkeypatch.setattr(Screen, "refresh", refresh)
        balance = below.query_one("#topbar-balance", Static)
        balance.update(Content("₦1,234,567.89"))  # wider: a layout of the covered screen
        for _ in range(5):
            await pilot.pause(0.02)
        assert asked == []
        await pilot.press("escape")
        await wait_until(lambda: app.screen is below, what="back")
        await pilot.pause()
        assert "₦1,234,567.89" in app.export_screenshot()


async def test_a_resize_to_the_size_already_laid_out_lays_nothing_out_again(make_app, monkeypatch):
    """Start-up told the screen its size three times more after laying it out (the
    App's own Resize, the driver's, the screen's own after its resume): each was a
    whole layout and a whole frame. A real resize still lays out, breakpoints included."""
    from textual import events
    from textual.screen import Screen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: app.screen.query("FilterList"), what="the services")
        await pilot.pause()
        screen = app.screen
        layouts: list[object] = []
        original = Screen._refresh_layout

        def counted(self, *args, **kwargs):
            layouts.append(args)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        app.post_message(events.Resize(app.size, app.size))  # as the driver's
        screen.post_message(events.Resize(app.size, app.size))  # as the screen's own
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert layouts == []
        assert screen.has_class("-normal") and screen.has_class("-tall")

        await pilot.resize_terminal(70, 22)
        await wait_until(lambda: screen.has_class("-narrow", "-short"), what="narrow")
        assert layouts and screen.size == (70, 22)
        assert not screen.has_class("-normal") and not screen.has_class("-tall")
