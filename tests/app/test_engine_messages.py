"""The engine's events reach the screens as Textual messages, and what the person reads
follows them: the cancel dialog changes its promise when an SMS arrives while it is
open, a rent whose journal cannot be written says why, and engine messages reach only
the nodes that asked for them."""

from __future__ import annotations

import inspect

from textual.widgets import Static

from rentnumber_tui.app import events
from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.core.store import Store
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.app.helpers import open_confirmation, open_prices, record_notes, rent_cursor_offer
from tests.core.faulty_store import FULL, FaultyStore
from tests.core.waiting import wait_until


def test_engine_messages_neither_bubble_nor_share_handler_names() -> None:
    classes = [
        cls
        for _, cls in inspect.getmembers(events, inspect.isclass)
        if issubclass(cls, events.EngineMessage) and cls is not events.EngineMessage
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert cls.bubble is False, cls
        assert cls.handler_name.startswith("on_engine_"), cls.handler_name
    assert len({cls.handler_name for cls in classes}) == len(classes)


def consequence(dialog: ConfirmCancelScreen) -> str:
    return str(dialog.query_one("#cancel-consequence", Static).content)


async def test_the_cancel_dialog_follows_its_rental_live(make_app, sandbox, monkeypatch) -> None:
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmCancelScreen), what="dialog")
        dialog = app.screen
        assert "will be refunded" in consequence(dialog)

        sandbox.deliver_sms(rental_id, code="272727")  # while the dialog is open

        await wait_until(lambda: "NO refund" in consequence(dialog), what="the new promise")
        assert "272727" in consequence(dialog)
        assert not dialog.promises_refund
        await pilot.press("y")
        await wait_until(lambda: any("without a refund" in n for n in notes), what="the outcome")
        assert sandbox.rentals_of(DEMO_API_KEY)[0].status == "cancelled"
        assert app.engine.rental(rental_id).code == "272727"  # kept, it was paid for


async def test_a_cancel_that_would_no_longer_refund_is_not_sent(
    make_app, sandbox, monkeypatch
) -> None:
    app = make_app()
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        app.engine.poller.pause()  # the SMS comes, but this app has not seen it yet
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmCancelScreen), what="dialog")
        assert "will be refunded" in consequence(app.screen)
        sandbox.deliver_sms(rental_id, code="383838")
        await pilot.press("y")  # the person agreed to a refund that is no longer due

        await wait_until(lambda: any("Nothing was sent" in n for n in notes), what="refusal")
        note = next(n for n in notes if "Nothing was sent" in n)
        assert "NO refund" in note and "383838" in note
        assert sandbox.rentals_of(DEMO_API_KEY)[0].status == "received"  # not cancelled
        await wait_until(lambda: app.engine.rental(rental_id).code == "383838", what="code")
        assert isinstance(app.screen, RentalsScreen)


async def test_a_rent_whose_journal_cannot_be_written_says_so_and_sends_nothing(
    make_app, sandbox, tmp_path
) -> None:
    store = FaultyStore(tmp_path / "s.sqlite3", "test", failing={"begin_purchase": FULL})
    app = make_app(store=store)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None, what="balance")
        sandbox.clear_request_log()
        await pilot.press("y")
        message = dialog.query_one("#confirm-message", Static)
        await wait_until(lambda: "the disk is full" in str(message.content), what="why")
        assert "Nothing was sent" in str(message.content)
        assert not dialog.busy  # not stuck on "Renting…"
        assert not [r for r in sandbox.request_log if r.method == "POST"]
        assert isinstance(store, Store)
