"""The code reaches the person (issue 12, part 5): `auto_copy` copies it the moment it
arrives (OSC 52), the window title counts the waiting rentals and shows the last code,
and a desktop notification goes out through OSC 9 / OSC 777 where the terminal shows
them. Read from the bytes the app writes to its terminal."""

from __future__ import annotations

import base64
import re

import pytest

from rentnumber_tui.app import terminal
from rentnumber_tui.app.options import AppOptions
from tests.app.helpers import open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until
from tests.e2e.capture import capture

SIZE = (100, 30)


def copies(raw: str) -> list[str]:
    found = re.findall(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", raw)
    return [base64.b64decode(b).decode() for b in found]


def titles(raw: str) -> list[str]:
    return re.findall(r"\x1b\]0;([^\x1b\x07]*)\x1b\\", raw)


async def test_auto_copy_title_and_desktop_notification(make_app, sandbox, monkeypatch):
    options = AppOptions(demo=True, bell=False, auto_copy=True, desktop_notifications="osc777")
    app = make_app(options=options)
    notes = record_notes(app, monkeypatch)
    record = capture(app, SIZE)
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        await wait_until(lambda: "RentNumber · 1 waiting" in titles(record.raw), what="title")
        assert copies(record.raw) == []
        sandbox.deliver_sms(rental_id, text="Your code is 734112", code="734112")
        await wait_until(lambda: copies(record.raw) == ["734112"], what="copied at once")
        await wait_until(lambda: "RentNumber · code 734112" in titles(record.raw), what="title")
        assert any("Copied to the clipboard." in n for n in notes)
        desktop = re.findall(r"\x1b\]777;notify;([^\x1b]*)\x1b\\", record.raw)
        assert desktop and desktop[-1].startswith("Code received;734112 · WhatsApp")
        assert record.foreign_output() == []
    # The title before ours is given back (xterm's title stack).
    assert record.raw.count(terminal.PUSH_TITLE) == 1
    assert record.raw.rstrip().endswith(terminal.POP_TITLE) or terminal.POP_TITLE in record.raw


async def test_without_auto_copy_nothing_is_copied_until_c(make_app, sandbox, monkeypatch):
    app = make_app(options=AppOptions(demo=True, bell=False, desktop_notifications="off"))
    notes = record_notes(app, monkeypatch)
    record = capture(app, SIZE)
    async with app.run_test(headless=False, size=SIZE, notifications=True) as pilot:
        await open_prices(app, pilot)
        rental_id = await rent_cursor_offer(app, pilot)
        sandbox.deliver_sms(rental_id, text="Your code is 55001", code="55001")
        await wait_until(lambda: any("55001" in n for n in notes), what="the code's toast")
        # Already on Live rentals: the toast does not send the person to F2.
        assert next(n for n in notes if "55001" in n).endswith("\nc copies it.")
        assert copies(record.raw) == [] and "]777;" not in record.raw and "]9;" not in record.raw
        await pilot.press("c")
        await wait_until(lambda: copies(record.raw) == ["55001"], what="copied on c")


@pytest.mark.parametrize(
    ("setting", "env", "kind"),
    [
        ("auto", {"TERM_PROGRAM": "iTerm.app"}, "osc9"),
        ("auto", {"TERM_PROGRAM": "WezTerm"}, "osc9"),
        ("auto", {"KITTY_WINDOW_ID": "1"}, "osc9"),
        ("auto", {"VTE_VERSION": "7200"}, "osc777"),
        ("auto", {"TERM": "foot"}, "osc777"),
        ("auto", {"TERM": "xterm-256color"}, None),
        ("auto", {"TERM_PROGRAM": "Apple_Terminal"}, None),
        ("off", {"TERM_PROGRAM": "iTerm.app"}, None),
        ("osc9", {}, "osc9"),
        ("osc777", {}, "osc777"),
    ],
)
def test_which_terminals_get_a_desktop_notification(setting, env, kind):
    assert terminal.desktop_kind(setting, env) == kind


def test_server_text_cannot_end_a_sequence_early():
    hostile = "Evil\x1b\\\x07\x1b]52;c;aGk=\x07;x\nnext"
    for sequence in (
        terminal.notification("osc777", "Code received", hostile),
        terminal.notification("osc9", hostile, hostile),
        terminal.title(hostile),
    ):
        body = sequence[2:-2]  # between "ESC ]" and the string terminator
        assert not any(ord(c) < 32 or ord(c) == 0x7F for c in body), repr(sequence)
        assert sequence.endswith("\x1b\\")
    assert terminal.notification("osc777", "a;b", "c;d").count(";") == 3  # its own three
