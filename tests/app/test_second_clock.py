"""The App's one-second clock and an App closing (a test's `run_test` ends, the person
quits): nothing it ticks may be half torn down."""

from __future__ import annotations

from textual.css.query import NoMatches

from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.widgets.rental_detail import RentalDetail
from tests.app.helpers import live_rentals_with


async def test_the_clock_does_not_tick_a_screen_being_torn_down(make_app, monkeypatch) -> None:
    """Once seen in the whole tests/app run: `NoMatches: '#detail-status'` from the
    clock's timer as the App closed. Textual closes a screen's children before the
    screen leaves the stack; a tick between the two reached the detail without its
    children. Here the tick lands at that moment every time: as the detail unmounts
    (its children gone, itself still attached, its screen still in the stack)."""
    app = make_app()
    seen: list[tuple[bool, bool]] = []
    errors: list[BaseException] = []

    def tick_at_unmount(self: RentalDetail) -> None:
        # Textual then calls AppNode's own on_unmount too (every class's, down the MRO).
        screen = self.screen
        seen.append((screen in app.screen_stack, bool(self.query("#detail-status"))))
        try:
            app.second_clock.tick()  # what the App's one-second timer calls
        except NoMatches as error:
            errors.append(error)

    monkeypatch.setattr(RentalDetail, "on_unmount", tick_at_unmount)
    async with app.run_test(size=(120, 40)) as pilot:
        await live_rentals_with(app, pilot, 1)
        assert isinstance(app.screen, RentalsScreen)
        assert app.screen in app.second_clock.following()
    # The moment that broke: the screen in the stack, the detail without its children.
    assert seen == [(True, False)]
    assert errors == []
