"""A line per live rental at the bottom of every screen, so a code is never missed."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from rentnumber_tui.app import events
from rentnumber_tui.app.format import fit_cells, origin_mark, rental_time_left, status_label
from rentnumber_tui.app.node import AppNode, every_second_in_sight
from rentnumber_tui.app.widgets.repaint import update_static
from rentnumber_tui.core import events as core
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

#: Rentals shown at most; the rest are counted on one more line (the bar's height,
#: in styles.tcss, leaves room for it).
MAX_LINES = 3


class RentalsBar(AppNode, Static):
    """Hidden while nothing is rented. Redrawn on every rental change and once a second
    for the countdowns (only on the screen in front: each screen has its own bar)."""

    def on_mount(self) -> None:
        self.follow_engine(core.RentalChanged, core.EngineReady, core.AuthLost, core.KeyChanged)
        every_second_in_sight(self, self.redraw)
        self.redraw()

    def on_engine_rental_changed(self, message: events.RentalChanged) -> None:
        self.redraw()

    def on_engine_ready(self, message: events.Ready) -> None:
        self.redraw()

    def on_engine_auth_lost(self, message: events.AuthLost) -> None:
        self.redraw()

    def on_engine_key_changed(self, message: events.KeyChanged) -> None:
        self.redraw()

    def redraw(self) -> None:
        engine = self.app.engine
        running: list[TrackedRental] = [r for r in engine.rentals() if not r.is_final]
        # A code is what the bar is for: those with one come first, never among the hidden.
        rentals = sorted(running, key=lambda rental: not rental.code)
        if self.display != bool(rentals):
            self.display = bool(rentals)
        if not rentals:
            return
        now = engine.server_now()
        paused = engine.status().key_refused
        lines = [_line(rental, now, paused) for rental in rentals[:MAX_LINES]]
        more = len(rentals) - MAX_LINES
        if more > 0:
            coded = sum(1 for rental in rentals[MAX_LINES:] if rental.code)
            with_code = f", {coded} with a code" if coded else ""
            lines.append(Content.assemble((f"  … and {more} more{with_code} (F2)", "$text-muted")))
        update_static(self, Content("\n").join(lines))


def _line(rental: TrackedRental, now: datetime, paused: str | None = None) -> Content:
    service = safe_text(rental.labels.service or f"#{rental.rental_id}", max_length=18)
    phone = safe_text(rental.phone, max_length=20)
    left = rental_time_left(rental, now)
    mark = origin_mark(rental)
    origin = (f"  {mark}", "italic $warning") if mark else ""
    if rental.code:
        return Content.assemble(
            (f" {fit_cells(service, 18)} ", "bold"),
            f"{fit_cells(phone, 20)} ",
            ("code ", "$text-muted"),
            (safe_text(rental.code, max_length=12), "bold $success"),
            f"  {left:>7}",
            origin,
        )
    state = (paused, "bold $error") if paused else (status_label(rental.status), "$text-muted")
    return Content.assemble(
        (f" {fit_cells(service, 18)} ", "bold"),
        f"{fit_cells(phone, 20)} ",
        state,
        f"  {left:>7}",
        origin,
    )
