"""The account's rentals, newest first: the server's last 100 merged with everything
this machine has seen (so nothing is lost past the API's 100)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.app.format import status_label
from rentnumber_tui.app.screens.base import RENT_AGAIN, RetryingScreen
from rentnumber_tui.app.widgets.steady_input import SteadyInput
from rentnumber_tui.core.export import write_history
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

COLUMNS = ("Created", "Service", "Country", "Provider", "Number", "Status", "Cost", "Code")


def local_time(value: datetime | None) -> str:
    """In this machine's time zone (its name is in the column's title)."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


def columns() -> tuple[str, ...]:
    """The titles, the first naming the local time zone: "Created (CET)"."""
    zone = datetime.now().astimezone().tzname() or "local"
    return (f"Created ({zone})", *COLUMNS[1:])


def matches(rental: TrackedRental, needle: str) -> bool:
    """The filter: service, country, provider, number, status or code contain it."""
    if not needle:
        return True
    labels = rental.labels
    fields = (labels.service, labels.country, labels.provider, rental.phone, str(rental.status))
    return any(needle in f.casefold() for f in (*fields, rental.code or ""))


def _cell(text: str) -> Text:
    """A literal cell. Rich `Text` built directly never parses markup (a `str` cell would
    be read as markup), and DataTable measures it: a `Content` cell measures 1 cell wide
    in Textual 8.2, so every column was cut to its title's width (codes included)."""
    return Text(text, no_wrap=True, overflow="ellipsis")


def history_row(rental: TrackedRental) -> tuple[Text, ...]:
    labels = rental.labels
    return (
        _cell(local_time(rental.created_at)),
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
        Binding("escape", "back", "Back", id="back", tooltip="Clear the filter, or go back"),
        Binding("r,f5", "refresh", "Refresh", id="refresh", tooltip="Load the history again"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter by any column"),
        Binding("c", "copy_code", "Copy code", id="copy-code", tooltip="Copy the row's code"),
        Binding(
            "e",
            "export",
            "Export",
            id="export",
            tooltip="Write the rows shown to a CSV and a JSON file",
        ),
        RENT_AGAIN,
    ]

    rentals: list[TrackedRental] = []
    #: The rows shown (the filter applied), in order.
    shown: list[TrackedRental] = []

    @property
    def selected(self) -> TrackedRental | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rentals if str(r.rental_id) == key), None)

    def action_filter(self) -> None:
        box = self.query_one("#history-filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#history-filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    @on(Input.Changed, "#history-filter")
    def _filter_changed(self) -> None:
        self._show_rows()

    @on(Input.Submitted, "#history-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_copy_code(self) -> None:
        self.app.copy_code(self.selected)

    def action_export(self) -> None:
        directory = self.app.options.export_dir
        if directory is None:
            self.notify("There is no directory to export to.", severity="error", markup=False)
            return
        self.export(list(self.shown), directory)

    @work(thread=True, group="history-export", exit_on_error=False)
    def export(self, rentals: list[TrackedRental], directory: Path) -> None:
        try:
            csv_path, json_path = write_history(rentals, directory, datetime.now(UTC))
        except OSError as error:
            why = error.strerror or type(error).__name__
            self.app.call_from_thread(
                self.notify,
                f"Could not export to {directory}: {why}.",
                title="Export failed",
                severity="error",
                markup=False,
            )
            return
        count = f"{len(rentals)} rental{'s' if len(rentals) != 1 else ''}"
        self.app.call_from_thread(
            self.notify,
            f"Exported {count} to {csv_path} and {json_path.name}.",
            title="Exported",
            timeout=15,
            markup=False,
        )

    def action_rent_again(self) -> None:
        rental = self.selected
        if rental is not None:
            self.app.rent_again(rental)

    def compose_body(self) -> ComposeResult:
        yield SteadyInput(
            placeholder="Filter by service, country, provider, number, status or code…",
            id="history-filter",
        )
        table: DataTable[Text] = DataTable(
            id="history-table", cursor_type="row", zebra_stripes=True
        )
        table.add_columns(*columns())
        yield table
        yield Static(id="history-status")

    def on_mount(self) -> None:
        self.query_one("#history-filter", Input).display = False
        self.load()

    def _show_rows(self) -> None:
        """The rentals the filter lets through; the cursor stays on its rental."""
        table = self.query_one(DataTable)
        keep = self.selected
        needle = self.query_one("#history-filter", Input).value.strip().casefold()
        self.shown = [r for r in self.rentals if matches(r, needle)]
        table.clear()
        for rental in self.shown:
            table.add_row(*history_row(rental), key=str(rental.rental_id))
        if keep is not None and keep in self.shown:
            table.move_cursor(row=self.shown.index(keep))

    def action_refresh(self) -> None:
        self.load()

    @work(exclusive=True, group="history", exit_on_error=False)
    async def load(self) -> None:
        status = self.query_one("#history-status", Static)
        table = self.query_one(DataTable)
        if not self.app.require_key("see the history", then=self.load):
            if self.app.engine.ready:
                status.update(Content("The history needs an API key (F6 to log in)."))
            else:
                status.update(Content("Connecting…"))
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
        self._show_rows()
        spent = sum(
            (r.cost for r in rentals if r.status.value not in ("refunded", "expired")), Decimal(0)
        )
        count = f"{len(rentals)} rental{'' if len(rentals) == 1 else 's'}"
        summary = f"{count} · {format_money(spent)} spent (refunds excluded)"
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
