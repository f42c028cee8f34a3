"""The terminal driver's input thread sleeps while nothing is typed (issue 14: Textual's
own wakes ten times a second), yet still reads every key, turns a lone ESC into Escape
once its wait is over, and stops at once when told to. Run on a real pty."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import threading
import tty
from collections.abc import Iterator

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.message import Message

from tests.core.waiting import wait_until

if sys.platform == "win32":
    pytest.skip("the Linux/macOS driver", allow_module_level=True)

from rentnumber_tui.app import driver as driver_module


class _Recorder(driver_module.TerminalDriver):
    """The driver on a given pty, collecting what it would post to the app."""

    def __init__(self, fileno: int) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.fileno = fileno
        self.seen: list[Message] = []

    def process_message(self, message: Message) -> None:
        self.seen.append(message)

    def key_names(self) -> list[str]:
        return [m.key for m in self.seen if isinstance(m, events.Key)]


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """(master, slave) of a pty; the driver's signal handlers put back afterwards."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTSTP, signal.SIGCONT)}
    master, slave = pty.openpty()
    tty.setraw(slave)  # as the driver leaves it: keys come one by one
    yield master, slave
    os.close(master)
    os.close(slave)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def counting_selects(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Every timeout the input thread's selector is asked to wait for."""
    asked: list[float | None] = []
    original = driver_module.selectors.SelectSelector.select

    def select_(self, timeout=None):  # type: ignore[no-untyped-def]
        asked.append(timeout)
        return original(self, timeout)

    monkeypatch.setattr(driver_module.selectors.SelectSelector, "select", select_)
    return asked


async def test_the_input_thread_sleeps_until_a_key_and_reads_every_key(terminal, monkeypatch):
    master, slave = terminal
    asked = counting_selects(monkeypatch)
    driver = _Recorder(slave)
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        await wait_until(lambda: len(asked) >= 1, what="the thread to wait for input")
        # Nothing typed: it waits without a timeout, so it cannot have woken again.
        assert asked == [None]
        os.write(master, b"ab")
        await wait_until(lambda: driver.key_names() == ["a", "b"], what="both keys")
        await wait_until(lambda: len(asked) == 2, what="the thread to wait again")
        assert asked[-1] is None
        # A lone ESC may begin a sequence: it waits only as long as the parser's
        # timeout, then the key is Escape.
        os.write(master, b"\x1b")
        await wait_until(lambda: "escape" in driver.key_names(), what="Escape")
        assert any(t is not None and 0 < t <= 0.2 for t in asked[2:])
        # Told to stop while it sleeps: it ends at once, not after a timeout.
        driver.exit_event.set()
        await wait_until(lambda: not thread.is_alive(), what="the thread to stop", timeout=2)
    finally:
        driver.exit_event.set()
        thread.join(5)
        driver.close()


def test_the_wake_event_wakes_a_select_and_clears() -> None:
    event = driver_module._WakingEvent()
    try:
        assert select.select([event.read_fd], [], [], 0)[0] == []
        event.set()
        event.set()  # twice: one clear still drains it
        assert event.is_set()
        assert select.select([event.read_fd], [], [], 0)[0] == [event.read_fd]
        event.clear()
        assert not event.is_set()
        assert select.select([event.read_fd], [], [], 0)[0] == []
    finally:
        event.close()
    event.set()  # after close: an Event still, no write to a closed descriptor
    assert event.is_set()


def test_the_wait_follows_the_parser_timeout() -> None:
    parser = XTermParser()
    assert driver_module._input_wait(parser) is None
    list(parser.feed("\x1b"))
    wait = driver_module._input_wait(parser)
    assert wait is not None and 0 < wait <= 0.2


def test_a_parser_without_the_deadline_is_waited_on_as_textual_does() -> None:
    class Other:
        pass

    assert driver_module._input_wait(Other()) == driver_module._FALLBACK_WAIT  # type: ignore[arg-type]
