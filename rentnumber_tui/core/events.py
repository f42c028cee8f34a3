"""What the backend tells its subscribers (the UI turns these into Textual messages)."""

from __future__ import annotations

from dataclasses import dataclass

from rentnumber_tui.api.models import Balance, Country, Service
from rentnumber_tui.core.rentals import TrackedRental


@dataclass(frozen=True, slots=True)
class BackendReady:
    """The backend thread is up: the client exists and stored rentals are restored."""


@dataclass(frozen=True, slots=True)
class RentalChanged:
    rental: TrackedRental
    #: True when this change brought a code not seen before.
    new_code: bool = False


@dataclass(frozen=True, slots=True)
class RentalPollFailed:
    rental_id: int
    message: str


@dataclass(frozen=True, slots=True)
class AuthLost:
    """The key was refused while polling: polling is paused until a new key is set."""

    message: str


@dataclass(frozen=True, slots=True)
class BalanceChanged:
    balance: Balance


@dataclass(frozen=True, slots=True)
class HealthChanged:
    """Connection state: "online", "retrying" or "offline", with the last error's text."""

    state: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogUpdated:
    services: tuple[Service, ...] | None = None
    countries: tuple[Country, ...] | None = None


@dataclass(frozen=True, slots=True)
class PurchaseResolved:
    """An earlier rent whose outcome was unknown has been settled: `rental` is what it
    bought, or None when nothing was bought (and renting is possible again)."""

    purchase_id: int
    rental: TrackedRental | None
    message: str


BackendEvent = (
    BackendReady
    | RentalChanged
    | RentalPollFailed
    | AuthLost
    | BalanceChanged
    | HealthChanged
    | CatalogUpdated
    | PurchaseResolved
)
