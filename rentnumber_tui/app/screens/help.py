"""Every key, per screen, built from the bindings themselves so it cannot drift.

Each line also gives the binding's id, the name a ``[keymap]`` in config.toml uses to
change its keys; keys changed that way are shown instead of the defaults. A long
description wraps under itself, not under the keys, at any width.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

from rentnumber_tui.app.keymap import Section, bindings_of
from rentnumber_tui.app.node import AppNode

KEYS_WIDTH = 17
#: Where a description starts when it goes under its keys (a narrow window).
NARROW_INDENT = 6
KEYMAP_HINT = 'Keys of your own: in config.toml, [keymap] and a line per id, e.g. help = "f9".'


@dataclass(frozen=True, slots=True)
class HelpLine:
    """One line of the help; a long one wraps with its continuation `hang` cells in."""

    content: Content
    hang: int = 0

    def __str__(self) -> str:
        return str(self.content)


def key_lines(
    sections: Sequence[Section],
    key_display: Callable[[Binding], str],
    keymap: Mapping[str, str] | None = None,
) -> list[HelpLine]:
    """A title per section, then one line per binding: its keys (`keymap`'s, where it
    changes them), its id and what it does."""
    keymap = keymap or {}
    lines: list[HelpLine] = []
    for title, owner in sections:
        rows: dict[str, tuple[list[str], str, str]] = {}
        for binding in bindings_of(owner):
            if binding.action.startswith("move"):
                continue
            text = binding.tooltip or binding.description or binding.action
            keys, _id, _text = rows.setdefault(binding.id or text, ([], binding.id or "", text))
            if binding.id is not None and binding.id in keymap:
                if not keys:
                    keys.extend(
                        key_display(binding.with_key(key, key_display=None))
                        for key in keymap[binding.id].split(",")
                    )
            else:
                keys.append(key_display(binding))
        if not rows:
            continue
        lines.append(HelpLine(Content.assemble((title, "bold $accent"))))
        id_width = max(len(row[1]) for row in rows.values()) + 2
        for keys, binding_id, text in rows.values():
            shown_keys = f"  {' / '.join(keys):<{KEYS_WIDTH}} "
            lead = Content.assemble(
                (shown_keys, "bold"), (f"{binding_id:<{id_width}}", "italic $text-muted")
            )
            lines.append(HelpLine(lead + text, lead.cell_length))
        lines.append(HelpLine(Content("")))
    return lines


def wrap_lines(lines: Sequence[HelpLine], width: int) -> list[Content]:
    """`lines` folded to `width` cells, each continuation under its description; where
    that leaves the description less than half the width, it goes under the keys."""
    out: list[Content] = []
    for line in lines:
        content, hang = line.content, line.hang
        if content.cell_length <= width:
            out.append(content)
            continue
        if not hang:
            out.extend(content.wrap(width))
            continue
        lead, text = content.divide([hang])
        if hang > width // 2:
            out.append(lead.rstrip())
            hang = min(NARROW_INDENT, max(0, width - 12))
            lead = Content(" " * hang)
        first, *rest = text.wrap(max(1, width - hang))
        out.append(lead + first)
        out.extend(Content(" " * hang) + more for more in rest)
    return out


class KeyList(Widget):
    """The help's lines, wrapped for the width it has."""

    DEFAULT_CSS = "KeyList { height: auto; }"

    def __init__(self, lines: Sequence[HelpLine]) -> None:
        super().__init__()
        self._lines = lines

    def render(self) -> Content:
        return Content("\n").join(wrap_lines(self._lines, self.size.width or 80))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(wrap_lines(self._lines, width)) if width else 0


class HelpScreen(AppNode, ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close help", id="close-help")]

    def __init__(self, lines: Sequence[HelpLine] | None = None) -> None:
        """`lines` None: every key of the app, as its keymap has them."""
        super().__init__(classes="dialog-screen")
        self._given = lines

    @property
    def _lines(self) -> Sequence[HelpLine]:
        if self._given is None:
            from rentnumber_tui.app.keymap import binding_owners

            app = self.app
            self._given = key_lines(binding_owners(), app.get_key_display, dict(app.options.keymap))
        return self._given

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(Content("Keys"), classes="dialog-title")
            yield KeyList(self._lines)
            yield Static(
                Content(
                    f"{KEYMAP_HINT} Every action is also in the command palette (ctrl+p). "
                    "Esc closes."
                ),
                classes="dialog-hint",
            )
