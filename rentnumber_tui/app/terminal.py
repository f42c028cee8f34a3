"""What the app tells the terminal itself, beyond the screen: the window title (how many
rentals wait, the last code) and desktop notifications through OSC 9 / OSC 777.

Only sequences a terminal that does not know them ignores; every text in them is
made safe (no control character from the server can end the sequence early and write
to the terminal), and `;` is kept out of OSC 777's fields, which it separates.
"""

from __future__ import annotations

from collections.abc import Mapping

from rentnumber_tui.core.text import safe_text

__all__ = [
    "POP_TITLE",
    "PUSH_TITLE",
    "desktop_kind",
    "notification",
    "title",
]

#: xterm's title stack: the title before ours comes back when the app ends.
PUSH_TITLE = "\x1b[22;0t"
POP_TITLE = "\x1b[23;0t"

#: Terminals that show OSC 9 notifications, by $TERM_PROGRAM.
_OSC9_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "ghostty"})


def desktop_kind(setting: str, env: Mapping[str, str]) -> str | None:
    """ "osc9", "osc777" or None (no desktop notification) for `setting` in `env`."""
    if setting in ("osc9", "osc777"):
        return setting
    if setting != "auto":
        return None
    if env.get("TERM_PROGRAM") in _OSC9_PROGRAMS or "KITTY_WINDOW_ID" in env:
        return "osc9"
    if env.get("VTE_VERSION") or env.get("TERM", "").startswith(("rxvt", "foot")):
        return "osc777"
    return None


def _clean(text: str, limit: int) -> str:
    return safe_text(text, max_length=limit).replace(";", ",")


def notification(kind: str, heading: str, body: str) -> str:
    """The sequence that shows `heading` and `body` as a desktop notification."""
    if kind == "osc777":
        return f"\x1b]777;notify;{_clean(heading, 80)};{_clean(body, 200)}\x1b\\"
    return f"\x1b]9;{_clean(heading, 80)}: {_clean(body, 200)}\x1b\\"


def title(text: str) -> str:
    """The sequence that sets the window (and icon) title."""
    return f"\x1b]0;{_clean(text, 120)}\x1b\\"
