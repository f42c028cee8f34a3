"""The live rentals: every active (and recently ended) rental, with the selected one in
full — its code large, the SMS, copy keys and cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.app import events
from rentnumber_tui.app.format import (
    fit_cells,
    origin_mark,
    rental_country,
    rental_time_left,
    status_label,
)
from rentnumber_tui.app.node import every_second_in_sight
from rentnumber_tui.app.screens.base import RENT_AGAIN, AppScreen
from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen
from rentnumber_tui.app.widgets.rental_detail import RentalDetail
from rentnumber_tui.app.widgets.rentals_list import RentalsList
from rentnumber_tui.core import events as core
from rentnumber_tui.core.engine import CancelChanged
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text


@dataclass(frozen=True, slots=True)
class Columns:
    """Cell widths of a rental's row (country 0: no country column)."""

    service: int
    country: int
    phone: int
    state: int
    time: int


#: By the screen's width: (at least this many columns, the row's widths). A row never
#: wraps: at 60 columns the country goes, at 80 every column is narrower.
COLUMNS = (
    (100, Columns(16, 14, 20, 18, 8)),
    (76, Columns(14, 12, 16, 16, 7)),
    (0, Columns(12, 0, 15, 15, 6)),
)


NOTHING_RENTED = "Nothing rented yet. Pick a service, a country and an offer, then Enter."


def columns_for(width: int) -> Columns:
    return next(columns for least, columns in COLUMNS if width >= least)


def rental_option(
    rental: TrackedRental, now: datetime, paused: bool = False, columns: Columns = COLUMNS[0][1]
) -> Option:
    return Option(rental_prompt(rental, now, paused, columns), id=str(rental.rental_id))


def rental_prompt(
    rental: TrackedRental, now: datetime, paused: bool = False, columns: Columns = COLUMNS[0][1]
) -> Content:
    """A rental's row. `paused`: following is paused (the key was refused) — said on
    every rental that still waits, until a key is accepted."""
    service = safe_text(rental.labels.service or f"#{rental.rental_id}", max_length=16)
    phone = safe_text(rental.phone, max_length=20)
    if rental.code:
        state = (f"code {safe_text(rental.code, max_length=10)}", "bold $success")
    elif paused and rental.followed:
        state = ("key refused · F6", "bold $error")
    else:
        state = (status_label(rental.status), "$text-muted")
    mark = origin_mark(rental)
    country = f"{fit_cells(rental_country(rental), columns.country)} " if columns.country else ""
    return Content.assemble(
        (f"{fit_cells(service, columns.service)} ", "bold"),
        country,
        f"{fit_cells(phone, columns.phone)} ",
        (fit_cells(state[0], columns.state), state[1]),
        f" {rental_time_left(rental, now, row=True):>{columns.time}}",
        (f"  {mark}", "italic $warning") if mark else "",
    )


class RentalsScreen(AppScreen):
    TITLE_TEXT = "RentNumber › Live rentals"
    SHOW_RENTALS_BAR = False
    AUTO_FOCUS = "#rentals-list"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back", tooltip="Back to where you were"),
        Binding(
            "c",
            "copy_code",
            "Copy code",
            id="copy-code",
            tooltip="Copy the code to the clipboard (works over SSH)",
        ),
        Binding(
            "n",
            "copy_number",
            "Copy number",
            id="copy-number",
            tooltip="Copy the phone number to the clipboard",
        ),
        Binding(
            "x",
            "cancel_rental",
            "Cancel rental",
            id="cancel-rental",
            tooltip="Cancel the rental (refunded if no SMS came)",
        ),
        Binding(
            "r,f5", "refresh", "Refresh", id="refresh", tooltip="Check the selected rental now"
        ),
        RENT_AGAIN,
        Binding(
            "t",
            "auto_replace",
            "Auto-replace",
            id="auto-replace",
            tooltip="Replace this rental with another provider's if no SMS comes in time",
        ),
        Binding(
            "shift+down",
            "scroll_detail(1)",
            "More",
            id="detail-down",
            show=False,
            tooltip="Scroll a long SMS down",
        ),
        Binding(
            "shift+up",
            "scroll_detail(-1)",
            "Back up",
            id="detail-up",
            show=False,
            tooltip="Scroll a long SMS up",
        ),
    ]

    def __init__(self, select: int | None = None) -> None:
        super().__init__()
        self._select = select
        self._columns = COLUMNS[0][1]
        #: The time left each row shows: a tick rebuilds only the rows whose time moved.
        self._row_times: dict[int, str] = {}

    def on_resize(self) -> None:
        if columns_for(self.size.width) != self._columns:
            self.redraw()

    def compose_body(self) -> ComposeResult:
        # Kept as attributes rather than queried: the once-a-second tick and the rentals
        # signal can still arrive while the screen is being torn down.
        self._listing = RentalsList(id="rentals-list")
        self._empty = Static(Content(NOTHING_RENTED), id="rentals-empty")
        self._detail = RentalDetail()
        with Vertical(id="rentals-body"):
            yield self._listing
            yield self._empty
            yield self._detail

    def on_mount(self) -> None:
        self.follow_engine(
            core.RentalChanged,
            core.RentalPollFailed,
            core.EngineReady,
            core.AuthLost,
            core.KeyChanged,
        )
        every_second_in_sight(self, self.tick)
        self.redraw()

    def on_engine_rental_changed(self, message: events.RentalChanged) -> None:
        self.redraw()

    def on_engine_rental_poll_failed(self, message: events.RentalPollFailed) -> None:
        self._show_detail()

    def on_engine_ready(self, message: events.Ready) -> None:
        self.redraw()

    def on_engine_auth_lost(self, message: events.AuthLost) -> None:
        self.redraw()

    def on_engine_key_changed(self, message: events.KeyChanged) -> None:
        self.redraw()

    def select(self, rental_id: int) -> None:
        self._select = rental_id
        self.redraw()

    @property
    def selected(self) -> TrackedRental | None:
        option = self._listing.highlighted_option
        if option is None or option.id is None:
            return None
        return self.app.engine.rental(int(option.id))

    def _rentals(self) -> list[TrackedRental]:
        """Those still running first (in the engine's order), the ended ones below: an
        ended rental never takes the top row or the selection from a live one."""
        return sorted(self.app.engine.rentals(), key=lambda rental: rental.is_final)

    def redraw(self) -> None:
        engine = self.app.engine
        rentals = self._rentals()
        now = engine.server_now()
        listing = self._listing
        keep = self._select
        if keep is None and listing.highlighted_option is not None:
            keep = int(listing.highlighted_option.id or 0)
        paused = engine.status().key_refused is not None
        columns = columns_for(self.size.width)
        ids = [rental.rental_id for rental in rentals]
        listed = [option.id for option in listing.options]
        if columns == self._columns and listed == [str(i) for i in ids]:
            # The same rentals in the same order (a poll changed one): each row that
            # changed is repainted, not the list, and the scroll and selection stay.
            for index, rental in enumerate(rentals):
                listing.set_prompt(index, rental_prompt(rental, now, paused, columns))
        else:
            listing.set_options(rental_option(rental, now, paused, columns) for rental in rentals)
        self._columns = columns
        self._row_times = {
            rental.rental_id: rental_time_left(rental, now, row=True) for rental in rentals
        }
        if ids and (keep in ids or listing.highlighted is None):
            listing.highlighted = ids.index(keep) if keep in ids else 0
        self._select = None
        empty = self._empty
        if empty.display != (not rentals):
            empty.display = not rentals
        self._show_detail()

    def tick(self) -> None:
        """Once a second while in sight (`every_second_in_sight`): countdowns move — the rows'
        by the minute (`row_countdown`), the detail's by the second."""
        engine = self.app.engine
        now = engine.server_now()
        listing = self._listing
        shown = self._row_times
        paused: bool | None = None
        for rental in engine.rentals():
            if rental.is_final:
                continue
            left = rental_time_left(rental, now, row=True)
            if shown.get(rental.rental_id, left) == left:
                continue  # the same time, or not listed yet (its redraw lists it)
            try:
                index = listing.get_option_index(str(rental.rental_id))
            except OptionDoesNotExist:
                continue
            if paused is None:
                paused = engine.status().key_refused is not None
            shown[rental.rental_id] = left
            listing.set_prompt(index, rental_prompt(rental, now, paused, self._columns))
        self._detail.update_countdown(now)

    @on(OptionList.OptionHighlighted, "#rentals-list")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        rental = self.selected
        engine = self.app.engine
        error = engine.poll_error(rental.rental_id) if rental else None
        refused = engine.status().key_refused
        if rental is not None and rental.followed and not rental.code and refused:
            error = f"Following is {refused}."
        self._detail.show(rental, engine.server_now(), error)

    # -- actions -------------------------------------------------------------------------

    def action_scroll_detail(self, direction: int) -> None:
        self._detail.scroll_relative(y=direction * 3, animate=False)

    def action_auto_replace(self) -> None:
        rental = self.selected
        if rental is None or not rental.followed or rental.code:
            self.notify("Only a rental still waiting for its SMS can be replaced.",
                        severity="warning", markup=False)  # fmt: skip
            return
        self.app.toggle_auto_replace(rental)

    def action_rent_again(self) -> None:
        rental = self.selected
        if rental is not None:
            self.app.rent_again(rental)

    def action_copy_code(self) -> None:
        self.app.copy_code(self.selected)

    def action_copy_number(self) -> None:
        rental = self.selected
        if rental is None:
            return
        self.app.copy_text(safe_text(rental.phone), "number")

    def action_refresh(self) -> None:
        rental = self.selected
        if rental is not None and rental.followed:
            self.refresh_rental(rental.rental_id)

    @work(group="rental-refresh", exit_on_error=False)
    async def refresh_rental(self, rental_id: int) -> None:
        try:
            await self.app.engine.refresh_rental(rental_id)
        except ApiError as error:
            self.notify(
                safe_text(error.message, max_length=500),
                title="Refresh failed",
                severity="error",
                markup=False,
            )

    def action_cancel_rental(self) -> None:
        rental = self.selected
        if rental is None:
            return
        if rental.is_final:
            self.notify(
                f"This rental is already {status_label(rental.status)}.",
                severity="warning",
                markup=False,
            )
            return

        dialog = ConfirmCancelScreen(rental)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.cancel(rental.rental_id, dialog.promises_refund)

        self.app.push_screen(dialog, confirmed)

    @work(group="cancel", exit_on_error=False)
    async def cancel(self, rental_id: int, expect_refund: bool) -> None:
        try:
            result, _ = await self.app.engine.cancel(rental_id, expect_refund=expect_refund)
        except CancelChanged as changed:
            self.notify(
                safe_text(changed.message, max_length=400),
                title="Not cancelled",
                severity="warning",
                timeout=15,
                markup=False,
            )
            return
        except ApiError as error:
            self.notify(
                safe_text(error.message, max_length=300),
                title="Cancel failed",
                severity="error",
                markup=False,
            )
            return
        if result.refunded:
            text = f"Cancelled; {format_money(result.amount)} refunded."
        else:
            text = "Cancelled without a refund: an SMS had arrived. Its code is kept here."
        self.notify(text, title="Rental cancelled", markup=False)
