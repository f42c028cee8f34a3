"""The terminal driver: Textual's own, made to survive a terminal that goes away.

Textual writes every frame through one output thread. When the terminal closes, the
thread's next write raises EIO and the thread dies; the app's writes then queue up
behind it and, once its small queue is full, block the app for ever, so it never
reaches the check that would end it. The program hung that way after its terminal
vanished as soon as frames were bracketed as synchronized updates (three writes per
frame instead of one). Here a write to a terminal that is gone is dropped instead."""

from __future__ import annotations

import sys
from typing import IO, Any

from textual.driver import Driver

if sys.platform != "win32":
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

    class TerminalDriver(LinuxDriver):
        """Textual's Linux/macOS driver whose output never blocks on a vanished terminal."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self._file is not None:
                self._file = _GoneTolerantFile(self._file)  # type: ignore[assignment]


def driver_for(chosen: type[Driver]) -> type[Driver]:
    """The driver to run with, given Textual's own choice (kept if it is not the
    Linux/macOS driver: Windows, or one set through TEXTUAL_DRIVER)."""
    if sys.platform != "win32" and chosen is LinuxDriver:
        return TerminalDriver
    return chosen
