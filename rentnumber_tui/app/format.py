"""Text the screens show for times, statuses and rentals (plain strings, no markup)."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

STATUS_LABELS = {
    "pending": "pending",
    "waiting": "waiting for SMS",
    "received": "code received",
    "completed": "completed",
    "cancelled": "cancelled",
    "expired": "expired",
    "refunded": "refunded",
}


def status_label(status: RentalStatus) -> str:
    """Known statuses in words; unknown ones verbatim (spec, clarification 4)."""
    return STATUS_LABELS.get(status.value, safe_text(status.value, max_length=24))


def countdown(seconds: float | None) -> str:
    """`14:59`, `1:02:03`, or `0:00` once it has run out; `--:--` when unknown."""
    if seconds is None:
        return "--:--"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def rental_time_left(rental: TrackedRental, now: datetime, *, row: bool = False) -> str:
    """The countdown (`row`: as a row of a list counts it, `row_countdown`); nothing
    once it has ended (its status says how)."""
    if rental.is_final:
        return ""
    return (row_countdown if row else countdown)(rental.seconds_left(now))


#: Below this many seconds a row of the rentals list counts by the second.
ROW_SECONDS_BELOW = 120


def row_countdown(seconds: float | None) -> str:
    """`14 min`, `1 h 05` while two minutes or more are left, then `1:59` by the second.

    For a row among many: twenty rows counting seconds change twenty times a second's
    worth of screen for a figure nobody reads that finely; by the minute each changes
    once a minute, and the last two minutes — when a person decides to cancel or
    replace — count every second. The selected rental's detail always counts seconds.
    """
    if seconds is None or seconds < ROW_SECONDS_BELOW:
        return countdown(seconds)
    hours, minutes = divmod(int(seconds) // 60, 60)
    if hours:
        return f"{hours} h {minutes:02d}"
    return f"{minutes} min"


def rental_country(rental: TrackedRental) -> str:
    """ "🇳🇬 Nigeria" (or "" when unknown): what tells two rentals of one service apart."""
    labels = rental.labels
    flag = safe_text(labels.flag, max_length=4)
    return " ".join(part for part in (flag, safe_text(labels.country, max_length=24)) if part)


def rental_title(rental: TrackedRental) -> str:
    """ "WhatsApp · 🇳🇬 Nigeria · Alpha" from whatever names are known; each name is cut,
    so a 5,000-character name from the server cannot push the rest off the screen."""
    labels = rental.labels
    service = safe_text(labels.service, max_length=24)
    parts = [service, rental_country(rental), safe_text(labels.provider, max_length=20)]
    return " · ".join(part for part in parts if part) or f"Rental {rental.rental_id}"


#: The word on a rental's line saying where it came from (none for our own).
ORIGIN_MARKS = {"here": "", "elsewhere": "elsewhere", "unsure": "yours?"}


def origin_mark(rental: TrackedRental) -> str:
    """ "elsewhere": rented on the website or another machine; "yours?": appeared at
    the moment of a rent whose answer was lost, with another like it."""
    return ORIGIN_MARKS.get(rental.origin, "")


def fit_cells(text: str, width: int) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` terminal cells, so
    columns line up whatever the server's names hold (emoji are two cells wide)."""
    if cell_len(text) > width:
        return (
            set_cell_size(text, max(0, width - 1)) + "…"
            if width > 1
            else set_cell_size(text, width)
        )
    return set_cell_size(text, width)
