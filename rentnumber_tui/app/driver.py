"""The terminal driver: Textual's own, made to survive a terminal that goes away.

Textual writes every frame through one output thread. When the terminal closes, the
thread's next write raises EIO and the thread dies; the app's writes then queue up
behind it and, once its small queue is full, block the app for ever, so it never
reaches the check that would end it. The program hung that way after its terminal
vanished as soon as frames were bracketed as synchronized updates (three writes per
frame instead of one). Here a write to a terminal that is gone is dropped instead."""

from __future__ import annotations

import contextlib
import os
import selectors
import sys
import threading
from codecs import getincrementaldecoder
from typing import IO, Any

from textual.driver import Driver

if sys.platform != "win32":
    from textual._parser import ParseError
    from textual._time import get_time
    from textual._xterm_parser import XTermParser
    from textual.drivers.linux_driver import LinuxDriver

    class _GoneTolerantFile:
        """The driver's output file, whose writes after the terminal is gone do nothing."""

        def __init__(self, file: IO[str]) -> None:
            self._file = file
            self.gone = False

        def write(self, text: str) -> int:
            if not self.gone:
                try:
                    return self._file.write(text)
                except OSError:
                    self.gone = True
            return len(text)

        def flush(self) -> None:
            if not self.gone:
                try:
                    self._file.flush()
                except OSError:
                    self.gone = True

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    #: How long the input thread waits when it cannot tell when a lone ESC times out
    #: (Textual's own wait, for a parser whose internals are not what this expects).
    _FALLBACK_WAIT = 0.1

    class _WakingEvent(threading.Event):
        """The driver's exit event, which also wakes the input thread's `select`."""

        def __init__(self) -> None:
            super().__init__()
            self.read_fd, self._write_fd = os.pipe()
            os.set_blocking(self.read_fd, False)
            os.set_blocking(self._write_fd, False)
            self._closed = False

        def set(self) -> None:
            super().set()
            if not self._closed:
                with contextlib.suppress(BlockingIOError):  # full of wake-ups already
                    os.write(self._write_fd, b"x")

        def clear(self) -> None:
            super().clear()
            if not self._closed:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self.read_fd, 512):
                        pass

        def close(self) -> None:
            if not self._closed:
                self._closed = True
                os.close(self.read_fd)
                os.close(self._write_fd)

    #: `_input_wait`'s sign that the parser has no deadline attribute.
    _NO_DEADLINE = object()

    def _input_wait(parser: XTermParser) -> float | None:
        """How long `select` may sleep: until a pending lone ESC becomes Escape, or
        until something happens. A parser whose internals are not what this expects
        (no float deadline, nor None) is waited on as Textual does."""
        deadline = getattr(parser, "_timeout_time", _NO_DEADLINE)
        if deadline is None:
            return None
        if not isinstance(deadline, float):
            return _FALLBACK_WAIT
        return max(0.0, deadline - get_time())

    class TerminalDriver(LinuxDriver):
        """Textual's Linux/macOS driver whose output never blocks on a vanished terminal
        and whose input thread sleeps while nothing is typed."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self._file is not None:
                self._file = _GoneTolerantFile(self._file)  # type: ignore[assignment]
            self.exit_event = _WakingEvent()

        def run_input_thread(self) -> None:
            """Textual's loop (LinuxDriver.run_input_thread), sleeping in `select` until
            input, the exit event or a lone ESC's timeout instead of for 0.1 s at most."""
            exit_event = self.exit_event
            assert isinstance(exit_event, _WakingEvent)
            selector = selectors.SelectSelector()  # as Textual: kqueue cannot watch a tty
            selector.register(self.fileno, selectors.EVENT_READ)
            selector.register(exit_event.read_fd, selectors.EVENT_READ)
            parser = XTermParser(self._debug)
            decode = getincrementaldecoder("utf-8")().decode

            def dispatch(ready: list[tuple[selectors.SelectorKey, int]], final: bool) -> None:
                for key, _mask in ready:
                    if key.fd != self.fileno:
                        continue
                    text = decode(os.read(self.fileno, 1024 * 4), final=final)
                    if text:
                        for event in parser.feed(text):
                            self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)

            try:
                while not exit_event.is_set():
                    dispatch(selector.select(_input_wait(parser)), final=False)
                selector.unregister(exit_event.read_fd)
                dispatch(selector.select(0.1), final=True)
            finally:
                selector.close()
                try:
                    for _event in parser.feed(""):
                        pass
                except (EOFError, ParseError):
                    pass

        def close(self) -> None:
            super().close()
            if isinstance(self.exit_event, _WakingEvent):
                self.exit_event.close()


def driver_for(chosen: type[Driver]) -> type[Driver]:
    """The driver to run with, given Textual's own choice (kept if it is not the
    Linux/macOS driver: Windows, or one set through TEXTUAL_DRIVER)."""
    if sys.platform != "win32" and chosen is LinuxDriver:
        return TerminalDriver
    return chosen
