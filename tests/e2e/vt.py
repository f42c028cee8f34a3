"""A tiny terminal emulator for tests: enough of VT100/xterm to rebuild the screen from
what an app wrote (cursor moves, erases, text), and to list every escape sequence it
sent. Textual addresses every line with CSI row;col H, so this is all it needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.cells import cell_len

# One escape sequence (CSI, OSC/DCS/APC/PM/SOS up to its terminator, or a 2-byte ESC x).
SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P_^X].*?(?:\x07|\x1b\\)"
    r"|\x1b[ -/]*[0-~]",
    re.DOTALL,
)
_CSI = re.compile(r"\x1b\[([0-?]*)[ -/]*([@-~])")
_CSI_START = re.compile(r"\x1b\[[0-?]*[ -/]*\Z")
_STRING_START = re.compile(r"\x1b[\]P_^X]")
#: Synchronized output: the app asks whether the terminal has it, then brackets frames.
SYNC_QUERY = "\x1b[?2026$p"
SYNC_SUPPORTED = "\x1b[?2026;2$y"
SYNC_START = "\x1b[?2026h"
SYNC_END = "\x1b[?2026l"


def split_incomplete(data: str) -> tuple[str, str]:
    """(what can be fed now, an escape sequence cut off at the end, to keep for later):
    a read from a terminal may stop half-way through a sequence."""
    strings = list(_STRING_START.finditer(data))
    if strings:
        start = strings[-1].start()
        rest = data[start + 2 :]
        if "\x07" not in rest and "\x1b\\" not in rest:
            return data[:start], data[start:]  # an OSC/DCS/... string not ended yet
    cut = data.rfind("\x1b")
    if cut != -1:
        tail = data[cut:]
        if tail == "\x1b" or _CSI_START.match(tail):
            return data[:cut], tail
    return data, ""


@dataclass
class Terminal:
    """The screen as a grid of cells; `feed` everything the app writes."""

    width: int
    height: int
    rows: list[list[str]] = field(init=False)
    row: int = 0
    col: int = 0
    #: Every escape sequence seen, in order.
    sequences: list[str] = field(default_factory=list)
    #: What a terminal answers to the app's queries, for the pty to send back.
    replies: list[str] = field(default_factory=list)
    #: The screen as the last whole frame left it, while the app draws the next one
    #: inside a synchronized update (DEC mode 2026): a real terminal shows only whole
    #: frames, and a test reading a half-drawn one saw a title of the new screen over
    #: the body of the old one.
    _frame: list[str] | None = None

    def __post_init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.rows = [[" "] * self.width for _ in range(self.height)]

    def feed(self, data: str) -> None:
        position = 0
        for match in SEQUENCE.finditer(data):
            self._text(data[position : match.start()])
            self._sequence(match.group())
            position = match.end()
        self._text(data[position:])

    def _sequence(self, sequence: str) -> None:
        self.sequences.append(sequence)
        csi = _CSI.fullmatch(sequence)
        if csi is None:
            return
        params, final = csi.groups()
        if sequence == SYNC_QUERY:
            self.replies.append(SYNC_SUPPORTED)
        elif sequence == SYNC_START:
            self._frame = self._drawn()
        elif sequence == SYNC_END:
            self._frame = None
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        if final == "H" and not params.startswith("?"):
            row = numbers[0] if numbers else 1
            col = numbers[1] if len(numbers) > 1 else 1
            self.row, self.col = max(0, row - 1), max(0, col - 1)
        elif final == "J" and numbers[:1] in ([2], [3]):
            self.clear()
        elif final == "K":
            line = self.rows[self.row] if self.row < self.height else None
            if line is not None:
                for x in range(self.col, self.width):
                    line[x] = " "

    def _text(self, text: str) -> None:
        for char in text:
            if char == "\n":
                self.row += 1
                self.col = 0
                continue
            if char == "\r":
                self.col = 0
                continue
            width = cell_len(char)
            if self.row >= self.height:
                continue
            line = self.rows[self.row]
            if width == 0:
                if self.col > 0:
                    line[self.col - 1] += char
                continue
            if self.col + width > self.width:
                continue
            line[self.col] = char
            for x in range(1, width):
                line[self.col + x] = ""
            self.col += width

    def _drawn(self) -> list[str]:
        return ["".join(cells) for cells in self.rows]

    def lines(self) -> list[str]:
        return list(self._frame) if self._frame is not None else self._drawn()

    def text(self) -> str:
        return "\n".join(self.lines())

    def find(self, needle: str) -> tuple[int, int] | None:
        """(x, y) in cells of the first place `needle` is drawn, or None."""
        for y, line in enumerate(self.lines()):
            index = line.find(needle)
            if index >= 0:
                return cell_len(line[:index]), y
        return None
