"""The frame every main screen shares: top bar, body, live rentals bar, footer."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Size
from textual.screen import Screen
from textual.timer import Timer

from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.app import events
from rentnumber_tui.app.compositor import SparseCompositor
from rentnumber_tui.app.node import AppNode
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.footer import AppFooter
from rentnumber_tui.app.widgets.rentals_bar import RentalsBar
from rentnumber_tui.app.widgets.topbar import TopBar
from rentnumber_tui.core import events as core
from rentnumber_tui.core.text import safe_text


class AppScreen(AppNode, Screen[None]):
    #: Shown at the left of the top bar.
    TITLE_TEXT = "RentNumber"
    #: The live rentals bar; the rentals screen shows them in full instead.
    SHOW_RENTALS_BAR = True

    def __init__(self, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name, id)
        # What moves by the second is far apart (the top bar, a countdown): render the
        # widgets under those lines only (`compositor.py`).
        self._compositor = SparseCompositor()

    def _compositor_refresh(self) -> None:
        # Inside a batch update (Textual's start-up mounts the first screen in one) the
        # frame would be rendered and thrown away, and with it the compositor's record
        # of what needs drawing: the next frame drew only what changed since, and the
        # service list's first frame came without its filter box, count and balance.
        # Keep it all for when the batch ends (`RentNumberApp._end_batch`).
        if self.app._batch_count and self is self.app.screen:
            self._repaint_required = True
            return
        super()._compositor_refresh()

    def _screen_resized(self, size: Size) -> None:
        # Laid out at this size already (a screen is told its size after the layout its
        # resume makes): Textual would lay it all out and repaint it again for nothing,
        # a whole frame. What else a resize does (the breakpoint classes) still runs.
        if size == self._compositor.size:
            return
        super()._screen_resized(size)

    def compose(self) -> ComposeResult:
        yield TopBar(self.TITLE_TEXT)
        yield from self.compose_body()
        if self.SHOW_RENTALS_BAR:
            yield RentalsBar(id="rentals-bar")
        yield AppFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()


#: Seconds before a screen loads again by itself after a failure; doubled after each
#: failure in a row, up to `RETRY_MAX`.
#: `a` wherever a rental is selected (Live rentals, History): the same again.
RENT_AGAIN = Binding(
    "a",
    "rent_again",
    "Rent again",
    id="rent-again",
    tooltip="Rent the same service, country and provider again (confirmed first)",
)

RETRY_FIRST = 5.0
RETRY_MAX = 60.0


class RetryingScreen(AppScreen):
    """A screen whose data load can fail (prices, history): after a failure it loads
    again by itself with a growing delay, and at once when the connection comes back.

    Subclasses implement `load()` (a worker) and call `loaded_ok()` / `load_failed()`
    from it."""

    def __init__(self) -> None:
        super().__init__()
        self._retry_delay = RETRY_FIRST
        self._retry_timer: Timer | None = None
        self._load_failed = False
        self._offline = False

    def load(self) -> object:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.follow_engine(core.HealthChanged)

    def on_engine_health_changed(self, message: events.HealthChanged) -> None:
        # Only a server that did not answer at all counts: after a 502 the next attempt
        # waits for the timer, not for the next answer.
        was_offline, self._offline = self._offline, message.state == "offline"
        if was_offline and not self._offline and self._load_failed:
            self.load()

    def loaded_ok(self) -> None:
        self._load_failed = False
        self._retry_delay = RETRY_FIRST
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None

    def load_failed(self, what: str, error: ApiError) -> Content:
        """Schedule the next attempt; return the words that say what failed and when the
        next attempt is (for the screen's status line)."""
        self._load_failed = True
        delay = self._retry_delay
        self._retry_delay = min(RETRY_MAX, delay * 2)
        if self._retry_timer is not None:
            self._retry_timer.stop()
        self._retry_timer = self.set_timer(delay, self.load)
        return Content.assemble(
            (f"Could not load {what}: ", "bold $error"),
            safe_text(error.message, max_length=300),
            (f" Trying again in {delay:g} s (r: now).", "$text-muted"),
        )


class CatalogListScreen(AppScreen):
    """A filterable list of catalog entries (services, countries) that follows the App's
    catalog: shown from the cache at once, refreshed when the catalog changes, and
    saying why while nothing could be loaded (the App retries by itself)."""

    AUTO_FOCUS = ".filter-input"
    #: "services" or "countries": the App attribute listed, and the word in messages.
    CATALOG = ""
    PLACEHOLDER = ""
    #: Keys the screen binds that act in the list instead of typing into the filter.
    LIST_KEYS: frozenset[str] = frozenset()

    def compose_body(self) -> ComposeResult:
        yield FilterList(
            placeholder=self.PLACEHOLDER,
            empty=f"Loading {self.CATALOG}…",
            id=self.CATALOG,
            list_keys=self.LIST_KEYS,
        )

    def on_mount(self) -> None:
        self.follow_engine(core.CatalogUpdated, core.CatalogFailed)
        entries = getattr(self.app, self.CATALOG)
        if entries is not None:
            self.show_entries(entries)
        self._say_why(self.app.catalog_error)

    @on(FilterList.Chosen)
    def _chosen(self, event: FilterList.Chosen) -> None:
        self.open_item(event.item_id)
        # Keys typed behind the Enter wait for the screen it opens; if it opened none
        # (the entry is gone), they go on here.
        self.app.key_hold.no_screen_opened()

    def open_item(self, item_id: str) -> None:
        """Open what the entry `item_id` leads to (a screen), or say why not."""
        raise NotImplementedError

    def on_engine_catalog_updated(self, message: events.CatalogUpdated) -> None:
        entries = getattr(message, self.CATALOG)
        if entries is not None:
            self.show_entries(entries)
            self._say_why(None)

    def on_engine_catalog_failed(self, message: events.CatalogFailed) -> None:
        self._say_why(message.text)

    def _say_why(self, error: str | None) -> None:
        listing = self.query_one(FilterList)
        if error:
            listing.set_empty(
                f"Could not load the {self.CATALOG}: {safe_text(error, max_length=300)} "
                "Trying again by itself…",
                failed=True,
            )
        else:
            listing.set_empty(f"Loading {self.CATALOG}…")

    def show_entries(self, entries: tuple[Any, ...]) -> None:
        raise NotImplementedError
