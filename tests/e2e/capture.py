"""See exactly what an app under Pilot sends to the terminal.

`run_test()` uses a headless driver that writes nothing; `capture(app)` swaps in a
driver that is headless in every way except that it says it is not, so Textual renders
each frame to it as it would to a real terminal. The bytes land in a `Terminal`
emulator (the screen as a person would see it) and in `raw` (every byte, for checks
that no escape sequence from the server got through)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver

from tests.e2e.vt import SEQUENCE, Terminal

# What Textual itself sends besides CSI sequences: the mouse-pointer shape (OSC 22).
_TEXTUAL_OSC = re.compile(r"\x1b\]22;[a-z-]*\x07")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


@dataclass
class Capture:
    width: int
    height: int
    chunks: list[str] = field(default_factory=list)
    terminal: Terminal = field(init=False)
    #: What the app wrote to the terminal itself (`App.sent_to_terminal`): not foreign.
    app_sequences: Callable[[], list[str]] = field(default=list, repr=False)

    def __post_init__(self) -> None:
        self.terminal = Terminal(self.width, self.height)

    def write(self, data: str) -> None:
        self.chunks.append(data)
        self.terminal.feed(data)

    @property
    def raw(self) -> str:
        return "".join(self.chunks)

    @property
    def not_ours(self) -> str:
        """The output without the sequences the app itself wrote (its window title and
        desktop notifications, `App.sent_to_terminal`): what server text could reach."""
        raw = self.raw
        for ours in self.app_sequences():
            raw = raw.replace(ours, "")
        return raw

    def screen(self) -> str:
        return self.terminal.text()

    def foreign_output(self) -> list[str]:
        """Everything written that Textual does not write itself: escape sequences other
        than CSI and its own OSC 22, and any control or bidi character but newline.
        Empty when no server text reached the terminal unneutralised."""
        raw = _TEXTUAL_OSC.sub("", self.not_ours)
        found = [s for s in SEQUENCE.findall(raw) if not s.startswith("\x1b[")]
        text = SEQUENCE.sub("", raw)
        found += _CONTROL.findall(text)
        found += _BIDI.findall(text)
        return found


def capture(app: App, size: tuple[int, int]) -> Capture:
    """Record `app`'s terminal output; run it with `run_test(headless=False, size=size)`."""
    record = Capture(*size)
    record.app_sequences = lambda: list(getattr(app, "sent_to_terminal", ()))

    class CapturingDriver(HeadlessDriver):
        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            record.write(data)

        def flush(self) -> None:
            pass

    app.driver_class = CapturingDriver
    return record
