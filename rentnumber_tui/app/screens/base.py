"""The frame every main screen shares: top bar, body, live rentals bar, footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

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
