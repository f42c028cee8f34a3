"""App-wide messages and signals' payloads.

The backend's events arrive on the App (from a worker that follows the backend) and are
republished on the App's signals, which screens and widgets subscribe to.
"""

from __future__ import annotations

from dataclasses import dataclass

from rentnumber_tui.api.models import Balance


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """What the top bar shows: balance, connection state and the request budget."""

    balance: Balance | None
    connection: str
    connection_message: str | None
    has_key: bool
