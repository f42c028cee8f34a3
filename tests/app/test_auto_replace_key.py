"""`t` on a waiting rental turns auto-replace on for it, and off again; a rental with
its code cannot be replaced."""

from __future__ import annotations

from rentnumber_tui.app.screens.rentals import RentalsScreen
from tests.app.helpers import open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until


async def test_t_toggles_auto_replace_on_the_selected_rental(make_app, sandbox, monkeypatch):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        assert isinstance(app.screen, RentalsScreen)
        await pilot.press("t")
        await wait_until(
            lambda: any(n.startswith("Auto-replace on: with no SMS 120 s") for n in notes)
        )
        assert app.engine.replacer.is_on(app.engine.rental(rental_id))
        await pilot.press("t")
        await wait_until(lambda: any(n == "Auto-replace off for this rental." for n in notes))
        assert not app.engine.replacer.is_on(app.engine.rental(rental_id))
        sandbox.deliver_sms(rental_id, text="Your code is 1234", code="1234")
        await wait_until(lambda: app.engine.rental(rental_id).code == "1234", what="the code")
        await pilot.press("t")
        await wait_until(lambda: any("Only a rental still waiting" in n for n in notes))
