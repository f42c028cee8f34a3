"""Hostile server text (spec, clarification 11) through the real widgets, checked where
it matters: what reaches the terminal.

The sandbox runs in hostile mode: every service, country, flag and provider name, every
SMS, phone number and error text carries markup, escape sequences (OSC 52 clipboard
writes, screen clears, colours, titles, hyperlinks), control characters, bidi overrides,
emoji sequences or 5,000 characters. The app runs under Pilot with a driver that
records every byte Textual would send to a terminal; a small terminal emulator rebuilds
the screen from them. Each test checks both: the screen shows the text literally, and
the byte stream carries nothing but Textual's own sequences.
"""

from __future__ import annotations

import base64
import re

import pytest
from rich.cells import cell_len
from textual.widgets import DataTable

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen, ConfirmRentScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.prices import PricesScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from rentnumber_tui.sandbox.hostile import (
    DANGEROUS_FRAGMENTS,
    HOSTILE_ERROR_SUFFIX,
    HOSTILE_TEXTS,
    OSC52_PAYLOAD,
)
from tests.app.helpers import open_confirmation, open_prices, record_notes
from tests.core.waiting import wait_until
from tests.e2e.capture import Capture, capture
from tests.e2e.conftest import settled

SIZE = (100, 30)
#: An SMS that tries everything at once; its code is 424242.
HOSTILE_SMS = (
    "[@click=app.quit]CLICK ME[/] [b]bold[/b] \x1b]52;c;"
    + OSC52_PAYLOAD
    + "\x07 \x1b[2Jcode 424242\u202e \x00\x07\x08\r 👨\u200d👩\u200d👧 "
    + "W" * 5000
)
HOSTILE_CODE = "42\x1b]52;c;" + OSC52_PAYLOAD + "\x074242[b]"
#: What the screen must show for it: the escape sequence gone, the markup literal.
SHOWN_CODE = "424242[b]"


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    """This module's sandbox is hostile (overrides the shared fixture)."""
    return Sandbox(SandboxConfig(seed=7, sms_delay=(5, 20), hostile=True), clock=clock)


def options() -> AppOptions:
    """No bell: a BEL in the output can then only have come from the server's text."""
    return AppOptions(demo=True, bell=False)


def assert_clean(record: Capture) -> None:
    """Nothing but Textual's own escape sequences reached the terminal."""
    assert record.foreign_output() == []
    for fragment in DANGEROUS_FRAGMENTS:
        assert fragment not in record.not_ours, f"{fragment!r} reached the terminal"


def assert_layout(record: Capture, width: int) -> None:
    """Top bar on the first line, footer on the last, no line wider than the screen."""
    lines = record.terminal.lines()
    assert lines[0].startswith(" RentNumber"), lines[0]
    assert "Quit" in lines[-1] or "palette" in lines[-1], lines[-1]
    assert all(cell_len(line) == width for line in lines)


def shown(record: Capture, text: str) -> bool:
    """Whether `text` is on the screen (the screen is kept for the failure message)."""
    screen = record.screen()
    if text not in screen:
        print(f"--- not on screen: {text!r}\n{screen}")  # shown by pytest on failure
        return False
    return True


async def test_hostile_catalog_is_shown_literally(make_app, sandbox):
    app = make_app(options=options())
    record = capture(app, SIZE)
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        services = app.screen.query_one(FilterList)
        await wait_until(lambda: len(services.shown) >= 40, what="services")
        await pilot.pause()
        # Markup is shown as typed, escapes are gone, emoji stand one by one.
        assert shown(record, "Amazon [b]bold[/b] [link=ht")
        assert shown(record, "WhatsApp red blink")
        assert shown(record, "Telegram  cleared")
        assert shown(record, "Google  copied")
        assert shown(record, "Instagram nul\ufffd bel\ufffd bs\ufffd\ufffd cr")
        assert shown(record, "TikTok txet desrever isolat")
        assert shown(record, "Twitter / X 👨👩👧👦 🏳🌈 ❤")
        assert shown(record, "Discord WWWWWWWW")
        # Columns line up whatever the names hold (emoji are two cells wide).
        lines = record.terminal.lines()
        columns = {cell_len(line[: line.index(" from ")]) for line in lines if " from " in line}
        assert len(columns) == 1
        assert_layout(record, SIZE[0])
        assert_clean(record)

        table = await open_prices(app, pilot)
        await pilot.pause()
        # Provider names: "Alpha " + the 6th hostile text (bidi), "Delta " + the 9th...
        assert shown(record, "Alpha txet desrever")
        assert shown(record, "Beta 👨👩👧👦")
        assert table.row_count > 0
        assert_layout(record, SIZE[0])
        assert_clean(record)

        offer = next(o for o in table.visible_offers if o.available)
        table.move_cursor(list(table.visible_offers).index(offer))
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen))
        dialog = app.screen
        await wait_until(lambda: dialog.balance is not None, what="balance")
        await pilot.pause()
        assert shown(record, "WhatsApp red blink")
        assert shown(record, safe_text(offer.provider_name)[:20])
        assert_clean(record)
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, PricesScreen))
        await settled(app)


async def test_hostile_rental_sms_code_and_history(make_app, sandbox, clock, monkeypatch):
    app = make_app(options=options())
    record = capture(app, SIZE)
    notes = record_notes(app, monkeypatch)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rentals screen")
        (rental,) = app.engine.rentals()
        phone_digits = rental.phone.split(" ")[0]
        await pilot.pause()
        assert shown(record, phone_digits)

        # The hostile SMS and code arrive: shown literally, code stored and announced.
        sandbox.deliver_sms(rental.rental_id, text=HOSTILE_SMS, code=HOSTILE_CODE)
        await wait_until(lambda: app.engine.rental(rental.rental_id).code, what="the code")
        await pilot.pause()
        await pilot.pause()
        screen = record.screen()
        assert "[@click=app.quit]CLICK ME[/] [b]bold[/b]" in screen
        assert "code 424242" in screen
        assert safe_text(HOSTILE_CODE) == SHOWN_CODE
        assert f"Code  {SHOWN_CODE}" in screen, screen
        assert_layout(record, SIZE[0])
        assert_clean(record)
        assert any(SHOWN_CODE in note for note in notes)  # the "code received" toast

        # Clicking where the action markup is drawn does nothing.
        where = record.terminal.find("[@click=app.quit]")
        assert where is not None
        await pilot.click(offset=where)
        await pilot.click(offset=(where[0] + 3, where[1]))
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, RentalsScreen)
        assert opened == []

        # Copying puts exactly what is shown on the clipboard (no escape to paste).
        await pilot.press("c")
        assert app.clipboard == safe_text(HOSTILE_CODE)
        copied = re.findall(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", record.raw)
        assert [base64.b64decode(c).decode() for c in copied] == [safe_text(HOSTILE_CODE)]
        record.chunks.clear()  # that OSC 52 was ours; everything after must be clean

        # The cancel dialog names the rental and the number, literally.
        await pilot.press("x")
        await wait_until(lambda: isinstance(app.screen, ConfirmCancelScreen))
        await pilot.pause()
        assert shown(record, phone_digits)
        assert shown(record, "NO refund")
        assert_clean(record)
        await pilot.press("escape")

        # History: every column from the server, one row.
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen.query_one(DataTable)
        await wait_until(lambda: history.row_count == 1, what="history row")
        await pilot.pause()
        row = next(line for line in record.terminal.lines() if "2026-04-12 14:00" in line)
        assert "WhatsApp red blink" in row and phone_digits in row  # whole, not cut
        assert str(history.get_row_at(0)[7]) == SHOWN_CODE
        assert_layout(record, SIZE[0])
        assert_clean(record)
        await pilot.press("escape")  # F3 took the place of Live rentals: back at the prices

        # The rentals bar at the bottom of the other screens.
        await wait_until(lambda: isinstance(app.screen, PricesScreen))
        await wait_until(lambda: shown(record, f"code {SHOWN_CODE}"), what="the bar's code")
        assert_clean(record)
        await settled(app)

    for note in notes:
        assert note == safe_text(note, keep_newlines=True)


async def test_hostile_error_texts_are_shown_literally(make_app, sandbox, monkeypatch):
    """Error texts from the server (here with markup and escapes appended) in the status
    lines, the dialogs and the notifications."""
    app = make_app(options=options())
    record = capture(app, SIZE)
    notes = record_notes(app, monkeypatch)
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        table = await open_prices(app, pilot)
        # A refused price list: the status line quotes the server.
        sandbox.faults.inject("success_false_200", "/services/", count=1)
        await pilot.press("r")
        status = app.screen.query_one("#prices-status")
        await wait_until(lambda: "Could not load" in str(status.content), what="error line")
        await pilot.pause()
        assert "please try again [@click=app.quit]click[/] " in str(status.content)
        assert shown(record, "Could not load offers:")
        assert_clean(record)

        # A refused rent: the dialog quotes the server.
        await wait_until(lambda: table.row_count > 0)
        table.move_cursor(next(i for i, o in enumerate(table.visible_offers) if o.available))
        sandbox.set_balance(DEMO_API_KEY, 1)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen))
        dialog = app.screen
        dialog.balance = None  # as if the balance were unknown: the server must refuse
        await pilot.press("y")
        message = dialog.query_one("#confirm-message")
        await wait_until(lambda: "Not enough balance" in str(message.content), what="refusal")
        await pilot.pause()
        assert "[@click=app.quit]click[/]" in str(message.content)
        assert_clean(record)
        await pilot.press("escape")

        # A failed balance check: a notification quotes the server.
        sandbox.faults.inject("500", "/balance", count=1)
        await pilot.press("f4")
        await wait_until(lambda: any("Internal server error" in n for n in notes), what="toast")
        await pilot.pause()
        assert_clean(record)
        await settled(app)
    assert any("[@click=app.quit]click[/]" in note for note in notes)
    assert all(HOSTILE_ERROR_SUFFIX not in note for note in notes)


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXTS))
async def test_each_hostile_sms_keeps_the_rentals_screen_intact(make_app, sandbox, kind):
    """Each class of hostile text alone, as the SMS and in the code, at 80×24."""
    app = make_app(options=options())
    size = (80, 24)
    record = capture(app, size)
    engine = app.engine
    async with app.run_test(headless=False, size=size, notifications=True) as pilot:
        await wait_until(lambda: engine.ready)
        services = await engine.services()
        service = next(s for s in services if s.slug == "telegram")
        offer = next(o for o in (await engine.prices("telegram")).offers if o.available)
        rental = await engine.rent(offer, service)
        sandbox.deliver_sms(rental.rental_id, text=HOSTILE_TEXTS[kind], code="1234")
        await wait_until(lambda: app.engine.rental(rental.rental_id), what="rental")
        await wait_until(
            lambda: app.engine.rental(rental.rental_id).status is RentalStatus.RECEIVED, what="SMS"
        )
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen))
        await pilot.pause()
        await pilot.pause()
        expected = safe_text(HOSTILE_TEXTS[kind], keep_newlines=True)[:20]
        assert shown(record, expected), (expected, record.screen())
        assert_layout(record, size[0])
        assert_clean(record)
        assert app.is_running
        await settled(app)
