"""The price table: every offer for a service, sortable, filterable, fast.

`OfferTable` is a Line API widget (`ScrollView.render_line`): it draws only the rows that
are on screen, so its cost per frame does not depend on how many offers there are. The
data side (sort keys, cached orders, filtering, cell text) lives in `offer_index.py`.

Speed, in short:
- `set_offers` builds an `OfferIndex`: O(n) attribute lists and one natural-order sort;
  sanitising and measuring text is done per distinct provider/country, not per offer.
  Above `ASYNC_THRESHOLD` offers it is built in a thread worker, so the event loop keeps
  running (the previous offers stay on screen until the new ones are ready).
- A sort is one `sorted(range(n), key=list.__getitem__)`, cached per (column, direction)
  until the next `set_offers`; a filter is a substring test over precomputed, case-folded
  text, narrowing the previous result while the user keeps typing.
- `render_line` formats only visible rows, and keeps finished `Strip`s in an LRU cache
  keyed by (offer, style, layout, scroll x, width): a style change (theme, focus,
  cursor, hover) or a layout change misses the cache by construction; new data clears it.

Server text (provider and country names, ISO codes, flags) is passed through
`safe_text` and drawn as plain `Segment`s — never parsed as markup, never carrying
`@click` meta — so it cannot style the screen or trigger actions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, get_current_worker

from rentnumber_tui.api.models import Offer
from rentnumber_tui.app.widgets.offer_index import (
    SORT_COLUMNS,
    SORT_KEYS,
    Cells,
    OfferIndex,
    OfferView,
)
from rentnumber_tui.app.workers import ReportsWorkerFailures
from rentnumber_tui.core.delivery import Delivery
from rentnumber_tui.core.text import safe_text

__all__ = ["SORT_COLUMNS", "OfferTable"]

COLUMN_TITLES: dict[str, str] = {
    "price": "Price",
    "stock": "Stock",
    "provider": "Provider",
    "country": "Country",
    "delivered": "Delivered",
    "median": "Median",
}
_RIGHT_ALIGNED = frozenset({"price", "stock", "delivered", "median"})
# Columns that give up width (in this order) when the table is wider than the widget.
_SHRINKABLE = ("country", "provider")
_MIN_WIDTH = {"provider": 10, "country": 12}
_ARROWS = {False: "▲", True: "▼"}
_PAD_LEFT = 1
_GAP = 2
_PAD_RIGHT = 1
_ELLIPSIS = "…"


def _yield_gil() -> None:
    """Let the event loop's thread run (sleep(0) releases the GIL)."""
    time.sleep(0)


def _fit(text: str, width: int, right: bool) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` cells."""
    length = cell_len(text)
    if length > width:
        if width <= 1:
            return set_cell_size(text, width)
        return set_cell_size(text, width - 1) + _ELLIPSIS
    padding = " " * (width - length)
    return padding + text if right else text + padding


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column widths for one widget width; `starts[i]` is column i's first cell. The
    delivery columns are there only when some offer has a delivery record."""

    columns: tuple[str, ...]
    widths: tuple[int, ...]
    starts: tuple[int, ...]
    total: int

    @classmethod
    def make(cls, natural: Mapping[str, int], available: int, columns: tuple[str, ...]) -> _Layout:
        widths = {
            column: max(natural[column], len(COLUMN_TITLES[column]) + 2) for column in columns
        }
        fixed = _PAD_LEFT + _PAD_RIGHT + _GAP * (len(columns) - 1)
        excess = fixed + sum(widths.values()) - available
        for column in _SHRINKABLE:
            if excess <= 0:
                break
            floor = max(_MIN_WIDTH[column], len(COLUMN_TITLES[column]) + 2)
            give = min(excess, max(0, widths[column] - floor))
            widths[column] -= give
            excess -= give
        starts = []
        x = _PAD_LEFT
        for column in columns:
            starts.append(x)
            x += widths[column] + _GAP
        total = x - _GAP + _PAD_RIGHT
        return cls(columns, tuple(widths[c] for c in columns), tuple(starts), total)

    def row_text(self, cells: Cells) -> str:
        parts = [" " * _PAD_LEFT]
        for i, (column, width) in enumerate(zip(self.columns, self.widths, strict=True)):
            if i:
                parts.append(" " * _GAP)
            parts.append(_fit(getattr(cells, column), width, column in _RIGHT_ALIGNED))
        parts.append(" " * _PAD_RIGHT)
        return "".join(parts)

    def column_at(self, x: int) -> str | None:
        """The column under virtual x (a gap belongs to the column on its left)."""
        if x < 0 or x >= self.total:
            return None
        found = self.columns[0]
        for column, start in zip(self.columns, self.starts, strict=True):
            if x >= start:
                found = column
        return found


@dataclass
class _OfferMessage(Message):
    """What the table's messages share: the offer concerned and the table (`control`,
    so `@on(OfferTable.Chosen, "#id")` selectors work)."""

    offer: Offer | None
    offer_table: OfferTable | None = field(default=None, repr=False, compare=False)

    @property
    def control(self) -> OfferTable | None:
        return self.offer_table


class OfferTable(ReportsWorkerFailures, ScrollView, can_focus=True):
    """Every offer for a service: price, stock, provider, country. Sortable by any column,
    filterable, with a row cursor; only visible rows are ever rendered.

    The cursor follows the same offer (by id) across `set_offers` and `set_filter`; a new
    sort puts the cursor on the first row, so the best offer for that order is in view.

    Use from a screen (which owns the sort keys, the filter input and the refresh key):

        BINDINGS = [Binding("p", "focused.sort('price')", "Price"), ...]  # or call sort_by
        table.set_offers(price_list.offers, flags={c.id: c.flag for c in countries})
        table.set_filter(input.value)                       # on Input.Changed
        def on_offer_table_chosen(self, event): ...         # event.offer is rentable
        def on_offer_table_unavailable(self, event): ...    # say why it is not

    Its size is `height: auto; max-height: 100%` (a screen usually sets `height: 1fr`);
    colours come from the theme through the component classes below.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Rent", id="offer_table.choose"),
        Binding("up", "cursor_up", "Up", show=False, id="offer_table.cursor_up"),
        Binding("down", "cursor_down", "Down", show=False, id="offer_table.cursor_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="offer_table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="offer_table.page_down"),
        Binding("home", "cursor_first", "First", show=False, id="offer_table.cursor_first"),
        Binding("end", "cursor_last", "Last", show=False, id="offer_table.cursor_last"),
    ]
    """
    | Key(s) | Action | Id |
    | :- | :- | :- |
    | enter | Choose the offer under the cursor | `offer_table.choose` |
    | up / down | Move the cursor | `offer_table.cursor_up` / `offer_table.cursor_down` |
    | pageup / pagedown | Move the cursor a page | `offer_table.page_up` / `offer_table.page_down` |
    | home / end | First / last row | `offer_table.cursor_first` / `offer_table.cursor_last` |

    Sorting keys belong to the screen: bind them to `sort('price')`, `sort('stock')`,
    `sort('provider')`, `sort('country')` (each toggles direction when repeated).
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "offer-table--header",
        "offer-table--header-sorted",
        "offer-table--cursor",
        "offer-table--hover",
        "offer-table--unavailable",
        "offer-table--unaffordable",
        "offer-table--empty",
    }
    """
    | Class | Description |
    | :- | :- |
    | `offer-table--header` | The header row. |
    | `offer-table--header-sorted` | The title of the sorted column (with its arrow). |
    | `offer-table--cursor` | The cursor row. |
    | `offer-table--hover` | The row under the mouse. |
    | `offer-table--unavailable` | Offers that cannot be rented (no stock, no price). |
    | `offer-table--unaffordable` | Offers dearer than the balance (`set_balance`). |
    | `offer-table--empty` | The "No offers" line. |
    """

    DEFAULT_CSS = """
    OfferTable {
        height: auto;
        max-height: 100%;
        background: $surface;
        color: $foreground;

        & > .offer-table--header {
            background: $panel;
            color: $foreground;
            text-style: bold;
        }
        & > .offer-table--header-sorted {
            color: $text-accent;
            text-style: bold;
        }
        &:ansi > .offer-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        &:ansi > .offer-table--unavailable {
            text-style: strike dim;
        }
        &:ansi > .offer-table--header-sorted {
            background: ansi_bright_blue;
            color: ansi_default;
            text-style: bold underline;
        }
        & > .offer-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .offer-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .offer-table--hover {
            background: $block-hover-background;
        }
        & > .offer-table--unavailable {
            color: $text-muted;
            text-style: strike;
        }
        & > .offer-table--unaffordable {
            color: $text-muted;
        }
        &:ansi > .offer-table--unaffordable {
            text-style: dim;
        }
        & > .offer-table--empty {
            color: $text-muted;
            text-style: italic;
        }
    }
    """

    #: At or above this many offers, `set_offers` builds the index in a thread worker.
    ASYNC_THRESHOLD: ClassVar[int] = 20_000

    @dataclass
    class Chosen(_OfferMessage):
        """Enter (or a double click) on an offer that can be rented."""

        offer: Offer

    @dataclass
    class Unavailable(_OfferMessage):
        """Enter (or a double click) on an offer that cannot be rented (no stock, or a
        price that is not positive); the screen says why."""

        offer: Offer

    @dataclass
    class CursorMoved(_OfferMessage):
        """The offer under the cursor changed (None: nothing is visible)."""

    def __init__(
        self,
        offers: Sequence[Offer] = (),
        *,
        currency: str = "NGN",
        flags: Mapping[int, str] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """
        Args:
            offers: Initial offers.
            currency: Currency of the prices (shown with `format_money`).
            flags: Country id to flag (from `GET /countries`); without one, the flag is
                made from the ISO code.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._currency = currency
        self._flags: Mapping[int, str] | None = flags
        self._delivery: Mapping[tuple[int, int], Delivery] | None = None
        self._index = OfferIndex((), currency=currency)
        self._sort_column = "price"
        self._sort_reverse = False
        self._filter = ""
        self._order: Sequence[int] = []
        # (sort key, folded needle, result) of the last filter, to narrow while typing.
        self._last_filter: tuple[tuple[str, bool], str, Sequence[int]] | None = None
        self._cursor = 0
        self._hover = -1
        self._reported: Offer | None = None
        self._layout: _Layout | None = None
        self._layout_width = -1
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._styles: dict[tuple[bool, bool, bool, bool], Style] = {}
        #: The wallet's balance: dearer offers are dimmed (None: not known, none are).
        self._balance: Decimal | None = None
        self._loading_generation = 0
        if offers:
            self._index = OfferIndex(offers, flags, currency)
            self._recompute_order()

    # -- public API -------------------------------------------------------------------

    @property
    def sort_column(self) -> str:
        """The column the rows are sorted by: "price", "stock", "provider", "country"."""
        return self._sort_column

    @property
    def sort_reverse(self) -> bool:
        """True when sorted descending."""
        return self._sort_reverse

    @property
    def filter_text(self) -> str:
        """The current filter (case-insensitive substring of provider, country, ISO)."""
        return self._filter

    @filter_text.setter
    def filter_text(self, text: str) -> None:
        self.set_filter(text)

    @property
    def offers(self) -> tuple[Offer, ...]:
        """All offers, in the order they were given."""
        return self._index.offers

    @property
    def visible_offers(self) -> Sequence[Offer]:
        """The offers shown, sorted and filtered (a view: no copy is made)."""
        return OfferView(self._index.offers, self._order)

    @property
    def row_count(self) -> int:
        """How many offers are shown (after the filter)."""
        return len(self._order)

    @property
    def cursor_row(self) -> int:
        """Index of the cursor in `visible_offers` (0 when empty)."""
        return self._cursor

    @cursor_row.setter
    def cursor_row(self, row: int) -> None:
        self.move_cursor(row)

    @property
    def cursor_offer(self) -> Offer | None:
        """The offer under the cursor, or None when nothing is shown."""
        if not self._order:
            return None
        return self._index.offers[self._order[self._cursor]]

    @property
    def is_loading_offers(self) -> bool:
        """True while a large `set_offers` is being indexed in a worker."""
        return self._loading_generation > 0

    def set_offers(
        self,
        offers: Sequence[Offer],
        *,
        flags: Mapping[int, str] | None = None,
        delivery: Mapping[tuple[int, int], Delivery] | None = None,
    ) -> Worker[None] | None:
        """Replace the offers, keeping the sort, the filter and (by id) the cursor.

        Small lists are applied at once, and None is returned. From `ASYNC_THRESHOLD`
        offers on (when mounted), the index is built in a thread worker and applied on
        the event loop when ready: the worker is returned (`await worker.wait()`), the
        current offers stay on screen meanwhile, and a newer call supersedes it.
        """
        if flags is not None:
            self._flags = flags
        if delivery is not None:
            self._delivery = delivery
        if len(offers) >= self.ASYNC_THRESHOLD and self.is_attached:
            self._loading_generation += 1
            return self._build_index(
                offers,
                self._flags,
                (self._sort_column, self._sort_reverse),
                self._loading_generation,
            )
        self._loading_generation = 0
        index = OfferIndex(offers, self._flags, self._currency, delivery=self._delivery)
        self._replace_index(index)
        return None

    def sort_by(self, column: str, *, reverse: bool | None = None) -> None:
        """Sort by `column` ("price", "stock", "provider", "country"). With `reverse`
        None: the same column toggles its direction, another column sorts ascending.
        Numbers sort numerically, text case-insensitively; ties keep the natural order
        (cheapest, then most stock, then id). The cursor goes to the first row."""
        if column not in SORT_KEYS:
            raise ValueError(f"unknown column {column!r}; expected one of {SORT_KEYS}")
        if reverse is None:
            reverse = not self._sort_reverse if column == self._sort_column else False
        self._sort_column = column
        self._sort_reverse = reverse
        self._recompute_order()
        self._after_order_change(0, scroll_home=True)

    def set_filter(self, text: str) -> None:
        """Show only offers whose provider, country name or ISO code contains `text`
        (case-insensitive). The cursor stays on the same offer if it is still shown."""
        text = str(text)
        if text == self._filter:
            return
        keep = self.cursor_offer
        self._filter = text
        self._recompute_order()
        row = self._row_of_index(self._index_of_id(keep.id)) if keep is not None else None
        self._after_order_change(row if row is not None else 0, scroll_home=row is None)

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Put the cursor on `row` of `visible_offers` (clamped), scrolling it into view."""
        count = len(self._order)
        row = max(0, min(row, count - 1)) if count else 0
        old = self._cursor
        self._cursor = row
        if old != row:
            self._refresh_row(old)
            self._refresh_row(row)
        if scroll:
            self._scroll_to_row(row)
        self._report_cursor()

    # -- actions ----------------------------------------------------------------------

    def action_choose(self) -> None:
        """Post `Chosen` (or `Unavailable`) for the offer under the cursor."""
        offer = self.cursor_offer
        if offer is None:
            return
        if offer.available:
            self.post_message(self.Chosen(offer, self))
        else:
            self.post_message(self.Unavailable(offer, self))

    def action_sort(self, column: str) -> None:
        """Sort by `column`, toggling the direction if it is already the sort column."""
        self.sort_by(column)

    def action_cursor_up(self) -> None:
        self._keyboard_move(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._keyboard_move(self._cursor + 1)

    def action_page_up(self) -> None:
        self._keyboard_move(self._cursor - self._page_rows())

    def action_page_down(self) -> None:
        self._keyboard_move(self._cursor + self._page_rows())

    def action_cursor_first(self) -> None:
        self._keyboard_move(0)

    def action_cursor_last(self) -> None:
        self._keyboard_move(len(self._order) - 1)

    # -- data plumbing ----------------------------------------------------------------

    # `description` is given: by default Textual would repr() every argument (50k offers).
    @work(
        thread=True,
        exclusive=True,
        group="offer-table-index",
        description="index offers",
        exit_on_error=False,
    )
    def _build_index(
        self,
        offers: Sequence[Offer],
        flags: Mapping[int, str] | None,
        sort: tuple[str, bool],
        generation: int,
    ) -> None:
        try:
            index = OfferIndex(
                offers, flags, self._currency, pause=_yield_gil, delivery=self._delivery
            )
            index.order(*sort)  # warm the order the table is about to use, off the loop
        except BaseException:
            self.app.call_from_thread(self._finish_build, None, generation)
            raise  # the worker ends in ERROR; the app's worker handler reports it
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._finish_build, index, generation)

    def _finish_build(self, index: OfferIndex | None, generation: int) -> None:
        if generation != self._loading_generation:
            return  # a newer set_offers superseded this one
        self._loading_generation = 0
        if index is None:  # the build failed: keep showing what was there
            self.refresh()
            return
        self._replace_index(index)

    def _replace_index(self, index: OfferIndex) -> None:
        keep = self.cursor_offer
        self._apply_index(index, keep_id=keep.id if keep else None, old_row=self._cursor)

    def _apply_index(self, index: OfferIndex, *, keep_id: int | None, old_row: int) -> None:
        self._index = index
        self._strips.clear()
        self._layout = None
        self._last_filter = None
        self._recompute_order()
        row = self._row_of_index(self._index_of_id(keep_id)) if keep_id is not None else None
        self._after_order_change(old_row if row is None else row, scroll_home=False)

    def _index_of_id(self, offer_id: int) -> int | None:
        for i, offer in enumerate(self._index.offers):
            if offer.id == offer_id:
                return i
        return None

    def _row_of_index(self, index: int | None) -> int | None:
        if index is None:
            return None
        try:
            return self._order.index(index)
        except ValueError:
            return None

    def _recompute_order(self) -> None:
        key = (self._sort_column, self._sort_reverse)
        base = self._index.order(*key)
        needle = " ".join(self._filter.split()).casefold()  # no newline can span fields
        last = self._last_filter
        if last is not None and last[0] == key and needle and last[1] and last[1] in needle:
            order = self._index.filter(last[2], needle)  # narrowing: search fewer rows
        else:
            order = self._index.filter(base, needle)
        self._last_filter = (key, needle, order)
        self._order = order

    def _after_order_change(self, row: int, *, scroll_home: bool) -> None:
        count = len(self._order)
        self._cursor = max(0, min(row, count - 1)) if count else 0
        self._hover = -1
        self._update_virtual_size()
        if scroll_home and self.is_mounted:
            self.scroll_to(y=0, animate=False)
        self._scroll_to_row(self._cursor)
        self.refresh()
        self._report_cursor()

    def _report_cursor(self) -> None:
        if not self.is_attached:
            return  # reported on mount
        offer = self.cursor_offer
        if offer != self._reported:
            self._reported = offer
            self.post_message(self.CursorMoved(offer, self))

    # -- geometry ---------------------------------------------------------------------

    def _get_layout(self) -> _Layout:
        width = self.scrollable_content_region.width
        layout = self._layout
        if layout is None or self._layout_width != width:
            columns = SORT_COLUMNS if self._index.delivery else SORT_COLUMNS[:4]
            layout = _Layout.make(self._index.widths, width, columns)
            self._layout = layout
            self._layout_width = width
        return layout

    def _update_virtual_size(self) -> None:
        layout = self._get_layout()
        self.virtual_size = Size(layout.total, 1 + max(len(self._order), 1))

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_row(self, row: int) -> None:
        if not self.is_mounted:
            return
        view = self._page_rows()
        top = round(self.scroll_target_y)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + view:
            self.scroll_to(y=row - view + 1, animate=False)

    def _refresh_row(self, row: int) -> None:
        if 0 <= row < len(self._order):
            self.refresh_line(row + 1)

    def _keyboard_move(self, row: int) -> None:
        self._set_hover(-1)
        self.move_cursor(row)

    def _set_hover(self, row: int) -> None:
        if row != self._hover:
            old, self._hover = self._hover, row
            self._refresh_row(old)
            self._refresh_row(row)

    def _row_at(self, event: events.MouseEvent) -> int | None:
        """The row under the mouse: -1 for the header, None for no row."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        if offset.y == 0:
            return -1
        row = self.scroll_offset.y + offset.y - 1
        return row if 0 <= row < len(self._order) else None

    # -- events -----------------------------------------------------------------------

    def on_mount(self) -> None:
        super().on_mount()  # type: ignore[no-untyped-call]  # Textual's is untyped
        self._update_virtual_size()
        self._report_cursor()  # offers given to the constructor: say what is selected

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_to_row(self._cursor)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._hover = -1  # the rows moved under the mouse; the next move sets it again

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        row = self._row_at(event)
        self._set_hover(row if row is not None and row >= 0 else -1)

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(-1)

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is None:
            return
        event.stop()
        if row == -1:
            offset = event.get_content_offset(self)
            assert offset is not None
            column = self._get_layout().column_at(offset.x + self.scroll_offset.x)
            if column is not None:
                self.sort_by(column)
            return
        self.move_cursor(row)
        if event.chain == 2:
            self.action_choose()

    # -- rendering --------------------------------------------------------------------

    def set_balance(self, balance: Decimal | None) -> None:
        """Dim the offers dearer than `balance` (they can be chosen: the confirmation
        says why they cannot be rented)."""
        if balance != self._balance:
            self._balance = balance
            self.refresh()

    def unaffordable(self) -> int:
        """How many offers in stock cost more than the balance."""
        balance = self._balance
        if balance is None:
            return 0
        return sum(1 for o in self._index.offers if o.available and o.price > balance)

    def _row_style(self, available: bool, cursor: bool, hover: bool, dear: bool) -> Style:
        key = (available, cursor, hover, dear)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            if not available:
                style += self.get_component_rich_style("offer-table--unavailable")
            elif dear:
                style += self.get_component_rich_style("offer-table--unaffordable")
            if hover:
                hover_style = self.get_component_rich_style("offer-table--hover")
                style += Style(bgcolor=hover_style.bgcolor)
            if cursor:
                style += self.get_component_rich_style("offer-table--cursor")
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        layout = self._get_layout()
        if y == 0:
            return self._render_header(layout, scroll_x, width)
        row = scroll_y + y - 1
        if not self._order:
            if y == 1:
                return self._render_empty(width)
            return Strip.blank(width, self.rich_style)
        if row >= len(self._order):
            return Strip.blank(width, self.rich_style)
        index = self._order[row]
        cells = self._index.cells(index)
        balance = self._balance
        dear = balance is not None and self._index.offers[index].price > balance
        style = self._row_style(
            cells.available, row == self._cursor, row == self._hover and row != self._cursor, dear
        )
        key = (index, style, layout, scroll_x, width)
        strip = self._strips.get(key)
        if strip is None:
            text = layout.row_text(cells)
            line = Strip([Segment(text, style)], layout.total)
            strip = line.crop_extend(scroll_x, scroll_x + width, style)
            self._strips[key] = strip
        return strip

    def _render_header(self, layout: _Layout, scroll_x: int, width: int) -> Strip:
        header = self.get_component_rich_style("offer-table--header")
        sorted_style = header + self.get_component_rich_style(
            "offer-table--header-sorted", partial=True
        )
        key = ("header", header, sorted_style, layout, scroll_x, width, self._sort_column,
               self._sort_reverse)  # fmt: skip
        strip = self._strips.get(key)
        if strip is None:
            segments = [Segment(" " * _PAD_LEFT, header)]
            for i, (column, column_width) in enumerate(
                zip(layout.columns, layout.widths, strict=True)
            ):
                if i:
                    segments.append(Segment(" " * _GAP, header))
                title = COLUMN_TITLES[column]
                if column == self._sort_column:
                    title = f"{title} {_ARROWS[self._sort_reverse]}"
                    style = sorted_style
                else:
                    style = header
                segments.append(Segment(_fit(title, column_width, column in _RIGHT_ALIGNED), style))
            segments.append(Segment(" " * _PAD_RIGHT, header))
            line = Strip(segments, layout.total)
            strip = line.crop_extend(scroll_x, scroll_x + width, header)
            self._strips[key] = strip
        return strip

    def _render_empty(self, width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("offer-table--empty")
        if self._index.offers and self._filter:
            text = f"No offers match '{safe_text(self._filter, max_length=40)}'"
        elif self.is_loading_offers:
            text = "Loading offers…"
        else:
            text = "No offers"
        text = " " * _PAD_LEFT + text
        return Strip([Segment(set_cell_size(text, width), style)], width)
