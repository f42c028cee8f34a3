"""The frame every main screen shares: top bar, body, live rentals bar, footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from rentnumber_tui.app.messages import AccountStatus
from rentnumber_tui.app.widgets.rentals_bar import RentalsBar
from rentnumber_tui.app.widgets.topbar import TopBar


class AppScreen(Screen[None]):
    #: Shown at the left of the top bar.
    TITLE_TEXT = "RentNumber"
    #: The live rentals bar; the rentals screen shows them in full instead.
    SHOW_RENTALS_BAR = True

    def compose(self) -> ComposeResult:
        yield TopBar(self.TITLE_TEXT)
        yield from self.compose_body()
        if self.SHOW_RENTALS_BAR:
            yield RentalsBar(id="rentals-bar")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()


#: Seconds before a screen loads again by itself after a failure; doubled after each
#: failure in a row, up to `RETRY_MAX`.
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
        self.app.account_signal.subscribe(self, self._connection_changed)  # type: ignore[attr-defined]

    def _connection_changed(self, status: AccountStatus) -> None:
        # Only a server that did not answer at all counts: after a 502 the next attempt
        # waits for the timer, not for the next answer.
        was_offline, self._offline = self._offline, status.connection == "offline"
        if was_offline and not self._offline and self._load_failed:
            self.load()

    def loaded_ok(self) -> None:
        self._load_failed = False
        self._retry_delay = RETRY_FIRST
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None

    def load_failed(self) -> float:
        """Schedule the next attempt; returns its delay in seconds (to tell the user)."""
        self._load_failed = True
        delay = self._retry_delay
        self._retry_delay = min(RETRY_MAX, delay * 2)
        if self._retry_timer is not None:
            self._retry_timer.stop()
        self._retry_timer = self.set_timer(delay, self.load)
        return delay
