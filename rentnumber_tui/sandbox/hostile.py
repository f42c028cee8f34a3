"""Hostile text: what a broken or compromised server could put in any string it sends.

`SandboxConfig(hostile=True)` puts these into every name (services, countries, flags,
providers), every SMS, every phone number and every error text, so a client can be
checked against spec clarification 11 (display literally, style nothing, trigger
nothing, write no clipboard, keep the layout). Each entry is one class of attack;
none contains `{` or `}`, so they can sit inside an SMS template.
"""

from __future__ import annotations

#: base64 of "hacked by the server": what the OSC 52 entry tries to put on the clipboard.
OSC52_PAYLOAD = "aGFja2VkIGJ5IHRoZSBzZXJ2ZXI="

#: The length of the longest entry (a 5,000-character string without spaces).
LONG_LENGTH = 5000

HOSTILE_TEXTS: dict[str, str] = {
    # Textual / Rich markup: styling, a hyperlink and an action that would quit the app.
    "markup": "[b]bold[/b] [link=https://x.invalid]link[/link] [@click=app.quit]quit[/] [red]red",
    # SGR colours and blinking.
    "ansi": "\x1b[31;1mred\x1b[0m \x1b[5mblink\x1b[25m",
    # Erase the screen and the scroll-back, cursor home.
    "clear": "\x1b[2J\x1b[H\x1b[3J cleared",
    # OSC 52: write the system clipboard (through tmux and most terminals).
    "osc52": f"\x1b]52;c;{OSC52_PAYLOAD}\x07 copied",
    # OSC 0 window title and an OSC 8 hyperlink (ST-terminated).
    "osc": "\x1b]0;pwned title\x07\x1b]8;;https://x.invalid\x1b\\hyperlink\x1b]8;;\x1b\\",
    # C0 and C1 control characters: NUL, BEL, backspace, CR, tab, DEL, C1 CSI.
    "controls": "nul\x00 bel\x07 bs\x08\x08 cr\rcr tab\t del\x7f c1\x9b31m",
    # Right-to-left override, isolate, right-to-left mark.
    "bidi": "\u202etxet desrever\u202c \u2067isolate\u2069 \u200frtl",
    # Emoji, ZWJ sequences, variation selectors, skin tones, a flag.
    "emoji": "👨\u200d👩\u200d👧\u200d👦 🏳\ufe0f\u200d🌈 ❤\ufe0f 👍🏽 🇳🇬",
    # 5,000 characters with nowhere to wrap.
    "long": "W" * LONG_LENGTH,
}

#: In a fixed order, so catalog entries get them round-robin.
HOSTILE_LIST: tuple[str, ...] = tuple(HOSTILE_TEXTS.values())

#: Every escape sequence, control and bidi character above (what must never reach a
#: terminal), for tests.
DANGEROUS_FRAGMENTS: tuple[str, ...] = (
    "\x1b]52",
    "\x1b[2J",
    "\x1b[3J",
    "\x1b[31;1m",
    "\x1b]0;",
    "\x1b]8;",
    "\x9b",
    "\x00",
    "\x08",
    "\x7f",
    "\u202e",
    "\u2067",
)


def hostile(n: int) -> str:
    """The `n`-th hostile text (round-robin)."""
    return HOSTILE_LIST[n % len(HOSTILE_LIST)]


def with_hostile(name: str, n: int) -> str:
    """`name` followed by the `n`-th hostile text: the real name stays first, so a
    client can still be driven by typing it."""
    return f"{name} {hostile(n)}"


#: Appended to every phone number in hostile mode (after the real digits).
HOSTILE_PHONE_SUFFIX = " \x1b]52;c;" + OSC52_PAYLOAD + "\x07\u202e[b]x\x1b[2J"
#: Appended to every error text in hostile mode.
HOSTILE_ERROR_SUFFIX = " [@click=app.quit]click[/] \x1b]52;c;" + OSC52_PAYLOAD + "\x07\x1b[2J"
#: Flags sent for some countries in hostile mode (a flag should be two regional
#: indicator letters; these are an escape sequence and a ZWJ sequence).
HOSTILE_FLAGS: tuple[str, ...] = (
    f"\x1b]52;c;{OSC52_PAYLOAD}\x07",
    "👨\u200d👩\u200d👧\u200d👦",
    "[b]NG[/b]",
)
