"""Make untrusted server text safe to show (spec, clarification 11).

Everything the server sends is shown literally: callers render the result as plain text
(never markup). This module removes what could still reach the terminal or reorder the
screen: escape sequences, control characters, bidirectional overrides, and the emoji
joiners/modifiers whose width the terminal and Textual disagree on (which would shift
everything after them on the line).
"""

from __future__ import annotations

import re
import unicodedata

# CSI / OSC / DCS / other ESC sequences, including C1 forms (0x9b CSI, 0x9d OSC, ...).
_ESCAPES = re.compile(
    r"""
    (?: \x1b\[ | \x9b ) [0-?]* [ -/]* [@-~]                      # CSI ... final byte
  | (?: \x1b[\]P^_X] | [\x90\x9d\x9e\x9f\x98] )                  # OSC/DCS/PM/APC/SOS ...
    .*? (?: \x07 | \x1b\\ | \x9c | $ )                              # ... up to its terminator
  | \x1b [ -/]* [0-~]?                                           # other ESC sequences
    """,
    re.VERBOSE | re.DOTALL,
)

# Bidirectional embeddings, overrides, isolates and marks: they can reorder what is
# displayed.
_BIDI = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"),
    None,
)
# Joiners and modifiers whose width terminals disagree on (tmux draws "❤️" in 1 cell where
# Rich counts 2, "👍🏽" in 4 where Rich counts 2): dropped, so every emoji is drawn on its
# own and the screen's idea of a line's width is the terminal's. ZWJ, VS15/VS16, skin tones.
_AMBIGUOUS_WIDTH = {
    **dict.fromkeys(map(ord, "\u200d\ufe0e\ufe0f"), None),
    **dict.fromkeys(range(0x1F3FB, 0x1F400), None),
}
# Line and paragraph separators end a line in some terminals: shown as a space.
_SEPARATORS = {0x2028: " ", 0x2029: " "}
_DROP = {**_BIDI, **_AMBIGUOUS_WIDTH, **_SEPARATORS}

_ELLIPSIS = "…"


def _control(match: re.Match[str]) -> str:
    char = match.group()
    if char in "\n\t":
        return " "
    if unicodedata.category(char) == "Cc":
        return "\ufffd"
    return char


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_text(value: object, *, max_length: int | None = None, keep_newlines: bool = False) -> str:
    """Return `value` as text that is safe to display literally on one line (or several,
    with `keep_newlines`): escape sequences removed, control characters shown as U+FFFD,
    bidi controls and width-ambiguous joiners dropped, and long text cut to `max_length`
    characters with an ellipsis."""
    text = value if isinstance(value, str) else str(value)
    text = _ESCAPES.sub("", text)
    text = text.translate(_DROP)
    if keep_newlines:
        text = text.replace("\r\n", "\n")
        text = "\n".join(_CONTROL.sub(_control, line) for line in text.split("\n"))
    else:
        text = _CONTROL.sub(_control, text)
    if max_length is not None and len(text) > max_length:
        text = text[: max(0, max_length - 1)] + _ELLIPSIS
    return text
