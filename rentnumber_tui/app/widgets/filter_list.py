"""A list with a filter box above it: type to narrow (fuzzy, instant), Enter to choose.

Used for services and countries. Keys typed go to the filter; the arrow keys move the
highlight in the list even while the filter has focus, so nothing needs a mouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from rentnumber_tui.app.node import AppNode
from rentnumber_tui.app.widgets.repaint import same_content
from rentnumber_tui.app.widgets.steady_input import SteadyInput
from rentnumber_tui.core.fuzzy import rank

#: Options shown at most; more matches are counted, and typing narrows them.
MAX_SHOWN = 500


@dataclass(frozen=True, slots=True)
class FilterItem:
    id: str
    prompt: Content
    #: Texts the filter matches against (already made safe by the caller).
    keys: tuple[str, ...]
    disabled: bool = False
    #: Words (casefolded) that put the item above every fuzzy match when typed in full:
    #: a service's code and short names (`tg`: Telegram).
    exact: frozenset[str] = frozenset()


def _same_items(a: Sequence[FilterItem], b: Sequence[FilterItem]) -> bool:
    """The same items with the same words in the same styles (`FilterItem`'s own `==`
    compares a prompt's words only)."""
    return len(a) == len(b) and all(
        x == y and same_content(x.prompt, y.prompt) for x, y in zip(a, b, strict=True)
    )


class _Options(OptionList):
    """The list part. Focused (Tab), a letter typed goes on into the filter — except the
    screen's own keys (`keys`, e.g. `f` for a favourite) — so typing always filters."""

    def __init__(self, keys: frozenset[str]) -> None:
        super().__init__(classes="filter-options")
        self.keys = keys

    async def _on_key(self, event: events.Key) -> None:
        parent = self.parent  # its own list's filter, not the screen's first one
        if isinstance(parent, FilterList) and event.key == "escape" and parent.input.value:
            event.stop()
            parent.input.value = ""  # Esc clears the filter first, as in the box
            return
        if (
            isinstance(parent, FilterList)
            and event.is_printable
            and event.character
            and event.key not in self.keys
            and event.key != "question_mark"  # the help, as everywhere
        ):
            event.stop()
            event.prevent_default()
            box = parent.input
            box.focus()
            box.insert_text_at_cursor(event.character)
            return
        await super()._on_key(event)


class _FilterInput(AppNode, SteadyInput):
    """The filter box. `?` opens the help (no service or country name holds one), Esc
    first clears what was typed (only an empty box lets Esc go back), and Enter chooses
    what the text typed so far shows: keys typed behind it are for the screen it opens
    (`key_hold.py`)."""

    async def _on_key(self, event: events.Key) -> None:
        if self.app.key_hold.hand_back(event):
            event.stop()
            event.prevent_default()
            return
        if event.key == "question_mark":
            event.stop()
            event.prevent_default()
            await self.app.run_action("app.help")
            return
        if event.key == "enter":
            # At once, not through the bindings: a binding runs once the key has gone
            # up to the App, after the keys typed behind it in the same burst.
            event.stop()
            event.prevent_default()
            self.app.key_hold.start()
            await self.action_submit()
            return
        if event.key == "escape" and self.value:
            event.stop()
            event.prevent_default()
            self.value = ""
            return
        await super()._on_key(event)


class FilterList(AppNode, Vertical):
    BINDINGS = [
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
    ]

    @dataclass
    class Chosen(Message):
        list: FilterList
        item_id: str

    def __init__(
        self,
        *,
        placeholder: str,
        empty: str,
        id: str | None = None,
        list_keys: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(id=id, classes="filter-list")
        self._list_keys = list_keys
        self._placeholder = placeholder
        self._empty = empty
        self._items: Sequence[FilterItem] = ()
        self._shown: list[FilterItem] = []
        #: Whether items were ever set: before that, the list is loading.
        self._loaded = False
        #: An Enter came while the list was loading: choose once it has loaded.
        self._choose_when_loaded = False
        #: The list could not be read (it says why): an Enter chooses nothing.
        self._failed = False

    def compose(self) -> ComposeResult:
        yield _FilterInput(placeholder=self._placeholder, classes="filter-input")
        yield _Options(self._list_keys)
        yield Static(classes="filter-summary")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def options(self) -> OptionList:
        return self.query_one(OptionList)

    @property
    def shown(self) -> list[FilterItem]:
        return list(self._shown)

    @property
    def highlighted_id(self) -> str | None:
        option = self.options.highlighted_option
        return option.id if option is not None else None

    def set_items(self, items: Sequence[FilterItem], *, keep: str | None = None) -> None:
        """Replace the items, keeping the filter and (if present) the highlighted item."""
        keep = keep if keep is not None else self.highlighted_id
        if self._loaded and keep == self.highlighted_id and _same_items(items, self._items):
            return  # the same list again (the cache, then the same answer): nothing to do
        self._items = items
        self._loaded = True
        self._apply(keep)
        if self._choose_when_loaded:
            self._choose_when_loaded = False
            self._choose(self.highlighted_id)

    def set_empty(self, text: str, *, failed: bool = False) -> None:
        """What to say while there are no items (loading, or why loading failed)."""
        self._empty = text
        self._failed = failed
        if failed and self._choose_when_loaded:
            # The Enter waited for a list that could not be read: it chooses nothing
            # (the words say why), and the keys typed behind it go on in the box.
            self._choose_when_loaded = False
            self.app.key_hold.no_screen_opened()
        if not self._items:
            self.query_one(".filter-summary", Static).update(Content(text))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._choose_when_loaded = False  # typed on: the Enter was for other text
        self._apply(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose(self.highlighted_id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option.id)

    def _choose(self, item_id: str | None) -> None:
        if item_id is not None:
            self.post_message(self.Chosen(self, item_id))
        elif not (self._loaded or self._failed):
            # Enter typed before the list came (a path typed in one burst, or a slow
            # server): it chooses what the text shows once the list is here. Keys typed
            # behind it stay held until then (`key_hold.py`, within its deadline).
            self._choose_when_loaded = True
        else:
            self.app.key_hold.no_screen_opened()

    def action_move(self, delta: int) -> None:
        options = self.options
        if not options.option_count:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(options.option_count - 1, current + delta))

    def _apply(self, keep: str | None) -> None:
        query = self.input.value if self.is_mounted else ""
        matches = rank(query, self._items, lambda item: item.keys, lambda item: item.exact)
        self._shown = matches[:MAX_SHOWN]
        options = self.options
        options.set_options(
            Option(item.prompt, id=item.id, disabled=item.disabled) for item in self._shown
        )
        index = next((i for i, item in enumerate(self._shown) if item.id == keep), None)
        if index is None:  # the first that can be chosen (not a group's heading)
            index = next((i for i, item in enumerate(self._shown) if not item.disabled), None)
        if index is not None:
            options.highlighted = index
        summary = self.query_one(".filter-summary", Static)
        if not self._items:
            summary.update(Content(self._empty))
        elif not matches:
            summary.update(Content(f"Nothing matches “{query}”."))
        elif len(matches) > MAX_SHOWN:
            summary.update(
                Content(f"{len(matches)} matches; showing the first {MAX_SHOWN}. Type to narrow.")
            )
        else:
            countable = sum(1 for item in self._items if not item.disabled)
            shown = sum(1 for item in matches if not item.disabled)
            summary.update(Content(f"{shown} of {countable}"))
