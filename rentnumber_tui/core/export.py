"""Rentals as data for other programs: the JSON record (field names are an interface,
documented in the README) and the history as CSV. The command line prints them; the
History screen writes them to a file."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

__all__ = [
    "CSV_HEADER",
    "history_csv",
    "history_json",
    "history_row",
    "json_value",
    "rental_json",
    "utc_text",
    "write_history",
]

CSV_HEADER = (
    "created",
    "id",
    "service",
    "country",
    "provider",
    "number",
    "status",
    "cost",
    "code",
)


def json_value(value: object) -> object:
    """Money as a decimal string ("450.00"), times as ISO 8601 UTC ("…Z")."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON: {type(value).__name__}")


def rental_json(rental: TrackedRental) -> dict[str, Any]:
    labels = rental.labels
    offer = rental.offer
    return {
        "rental_id": rental.rental_id,
        "phone": rental.phone,
        "status": str(rental.status),
        "code": rental.code,
        "sms": rental.sms,
        "cost": rental.cost,
        "service": labels.service or None,
        "country": labels.country or None,
        "provider": labels.provider or None,
        "pricing_id": offer.pricing_id if offer else None,
        "created_at": rental.created_at,
        "expires_at": rental.expires_at,
        "origin": rental.origin,
        "earlier_codes": list(rental.earlier_codes),
    }


def utc_text(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def history_row(rental: TrackedRental) -> tuple[str, ...]:
    """One rental as the CSV (and the command line's table) shows it; server text made
    safe (a spreadsheet or terminal gets no control character)."""
    labels = rental.labels
    return (
        utc_text(rental.created_at),
        str(rental.rental_id),
        safe_text(labels.service),
        safe_text(labels.country),
        safe_text(labels.provider),
        safe_text(rental.phone),
        str(rental.status),
        f"{rental.cost:.2f}",
        safe_text(rental.code or ""),
    )


def history_csv(rentals: Iterable[TrackedRental]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(history_row(r) for r in rentals)
    return buffer.getvalue()


def write_history(
    rentals: Sequence[TrackedRental], directory: Path, now: datetime
) -> tuple[Path, Path]:
    """Write `rentals` as CSV and as JSON next to each other (readable by the user
    only: numbers and codes); the two paths. Raises OSError with the reason."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"rentnumber-history-{now.astimezone(UTC):%Y%m%d-%H%M%S}"
    written = []
    for suffix, text in ((".csv", history_csv(rentals)), (".json", history_json(rentals))):
        path = stem.with_suffix(suffix)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        written.append(path)
    return written[0], written[1]


def history_json(rentals: Iterable[TrackedRental]) -> str:
    data = {"rentals": [rental_json(r) for r in rentals]}
    return json.dumps(data, default=json_value, ensure_ascii=False, indent=1) + "\n"
