"""The account's rentals, newest first: the server's last 100 merged with everything
this machine has seen (so nothing is lost past the API's 100)."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.app.format import short_time, status_label
from rentnumber_tui.app.screens.base import RetryingScreen
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

COLUMNS = ("Created (UTC)", "Service", "Country", "Provider", "Number", "Status", "Cost", "Code")


def _cell(text: str) -> Text:
    """A literal cell. Rich `Text` built directly never parses markup (a `str` cell would
    be read as markup), and DataTable measures it: a `Content` cell measures 1 cell wide
    in Textual 8.2, so every column was cut to its title's width (codes included)."""
    return Text(text, no_wrap=True, overflow="ellipsis")


def history_row(rental: TrackedRental) -> tuple[Text, ...]:
    labels = rental.labels
    return (
        _cell(short_time(rental.created_at)),
        _cell(safe_text(labels.service, max_length=20)),
        _cell(safe_text(labels.country, max_length=18)),
        _cell(safe_text(labels.provider, max_length=16)),
        _cell(safe_text(rental.phone, max_length=20)),
        _cell(status_label(rental.status)),
        _cell(format_money(rental.cost)),
        _cell(safe_text(rental.code or "", max_length=12)),
    )


class HistoryScreen(RetryingScreen):
    TITLE_TEXT = "RentNumber › History"
    AUTO_FOCUS = "#history-table"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back", tooltip="Back to where you were"),
        Binding("r,f5", "refresh", "Refresh", id="refresh", tooltip="Load the history again"),
        Binding(
            "a",
            "rent_again",
            "Rent again",
            id="rent-again",
            tooltip="Rent the same service, country and provider again (confirmed first)",
        ),
    ]

    rentals: list[TrackedRental] = []

    @property
    def selected(self) -> TrackedRental | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rentals if str(r.rental_id) == key), None)

    def action_rent_again(self) -> None:
        rental = self.selected
        if rental is not None:
            self.app.rent_again(rental)

    def compose_body(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(
            id="history-table", cursor_type="row", zebra_stripes=True
        )
        table.add_columns(*COLUMNS)
        yield table
        yield Static(id="history-status")

    def on_mount(self) -> None:
        self.load()

    def action_refresh(self) -> None:
        self.load()

    @work(exclusive=True, group="history", exit_on_error=False)
    async def load(self) -> None:
        status = self.query_one("#history-status", Static)
        table = self.query_one(DataTable)
        if not self.app.require_key("see the history", then=self.load):
            status.update(Content("The history needs an API key (F6 to log in)."))
            return
        status.update(Content("Loading history…"))
        table.loading = table.row_count == 0
        try:
            history = await self.app.engine.history()
        except ApiError as error:
            status.update(self.load_failed("the history", error))
            return
        finally:
            table.loading = False
        if history.server_error is None:
            self.loaded_ok()
        self.rentals = rentals = history.rentals
        table.clear()
        for rental in rentals:
            table.add_row(*history_row(rental), key=str(rental.rental_id))
        spent = sum(
            (r.cost for r in rentals if r.status.value not in ("refunded", "expired")), Decimal(0)
        )
        summary = f"{len(rentals)} rentals · {format_money(spent)} spent (refunds excluded)"
        if history.server_error is not None:
            # The server failed: this machine's records are shown, and it tries again.
            failed = self.load_failed("the history", history.server_error)
            status.update(
                Content.assemble(
                    failed, "\n", summary, (" — this machine's records only", "$text-muted")
                )
            )
        elif history.problem:
            status.update(
                Content.assemble(
                    (safe_text(history.problem, max_length=400), "bold $error"), "\n", summary
                )
            )
        else:
            status.update(Content(summary))
