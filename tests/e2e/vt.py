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

    def lines(self) -> list[str]:
        return ["".join(cells) for cells in self.rows]

    def text(self) -> str:
        return "\n".join(self.lines())

    def find(self, needle: str) -> tuple[int, int] | None:
        """(x, y) in cells of the first place `needle` is drawn, or None."""
        for y, cells in enumerate(self.rows):
            line = "".join(cells)
            index = line.find(needle)
            if index >= 0:
                return cell_len(line[:index]), y
        return None
