"""What the engine tells the front ends, as typed events.

The engine calls each subscriber on its own thread; a front end turns an event into
whatever its toolkit uses (the TUI posts a Textual message with `post_message`, which is
thread-safe — see `app/events.py`). Every payload is complete: a front end never has to
ask the engine again to learn what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rentnumber_tui.api.models import Balance, Country, Service
from rentnumber_tui.core.rentals import TrackedRental


@dataclass(frozen=True, slots=True)
class EngineReady:
    """The engine is up: the client exists and stored rentals are restored."""


@dataclass(frozen=True, slots=True)
class RentalChanged:
    """A rental changed — polled here, changed by another process, found on the
    account, cancelled."""

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
class KeyChanged:
    """The API key was set or removed (log in, log out)."""

    has_key: bool


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
class RentalReplaced:
    """Auto-replace did something to `rental_id` (replaced it, or says why not)."""

    rental_id: int
    message: str


@dataclass(frozen=True, slots=True)
class PicksChanged:
    """The recent choices or the favourites changed (`Engine.picks()` has them)."""


@dataclass(frozen=True, slots=True)
class CatalogFailed:
    """Loading the services or countries failed; `message` says why."""

    message: str


@dataclass(frozen=True, slots=True)
class PurchaseUpdate:
    """Progress of a rent whose answer was lost. `final`: settled — `rental` is what it
    bought, or None when nothing was bought (renting that offer is possible again) or
    when it was ambiguous (`candidates` are shown marked). Not final: still being
    checked; `check_at` says when the account is looked at again."""

    purchase_id: int
    message: str
    final: bool
    rental: TrackedRental | None = None
    check_at: datetime | None = None
    candidates: tuple[int, ...] = ()
    nothing_bought: bool = False


@dataclass(frozen=True, slots=True)
class RowsSkipped:
    """Part of a list answer could not be read; the rest is shown. `message` says how
    many rows and why."""

    message: str


@dataclass(frozen=True, slots=True)
class StoreFailed:
    """The local store could not be read or written (a full disk, a read-only or damaged
    file). Said once per kind of failure, until the store works again."""

    message: str


EngineEvent = (
    EngineReady
    | RentalChanged
    | RentalPollFailed
    | AuthLost
    | KeyChanged
    | BalanceChanged
    | HealthChanged
    | CatalogUpdated
    | CatalogFailed
    | PicksChanged
    | RentalReplaced
    | PurchaseUpdate
    | RowsSkipped
    | StoreFailed
)
