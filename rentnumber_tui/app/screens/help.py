"""Every key, per screen, built from the bindings themselves so it cannot drift."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Static

from rentnumber_tui.app.node import AppNode

#: (section title, class whose BINDINGS it lists); filled in by the App.
Section = tuple[str, type[DOMNode]]


def key_lines(sections: Sequence[Section], key_display: Callable[[Binding], str]) -> list[Content]:
    lines: list[Content] = []
    for title, owner in sections:
        lines.append(Content.assemble((title, "bold $accent")))
        grouped: dict[str, list[str]] = {}
        for binding in Binding.make_bindings(owner.BINDINGS):
            if binding.action.startswith("move"):
                continue
            text = binding.tooltip or binding.description or binding.action
            grouped.setdefault(text, []).append(key_display(binding))
        for description, keys in grouped.items():
            lines.append(Content.assemble((f"  {' / '.join(keys):<18}", "bold"), description))
        lines.append(Content(""))
    return lines


class HelpScreen(AppNode, ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close help", id="close-help")]

    def __init__(self, lines: list[Content]) -> None:
        super().__init__(classes="dialog-screen")
        self._lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(Content("Keys"), classes="dialog-title")
            yield Static(Content("\n").join(self._lines))
            yield Static(
                Content("Every action is also in the command palette (ctrl+p). Esc closes."),
                classes="dialog-hint",
            )
