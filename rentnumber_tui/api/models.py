"""Typed, immutable views of what the RentNumber API returns.

Money is `Decimal` (parsed from the JSON text, never via float); timestamps are aware
UTC datetimes; statuses are an enum that keeps values it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Rows(tuple[T, ...]):
    """The rows of a list answer that could be read, and how many could not: one bad
    row never costs the whole answer (a rental without a date must not blank the
    history). `problem` says what was wrong with the first one skipped."""

    skipped: int = 0
    problem: str | None = None

    def __new__(
        cls, rows: tuple[T, ...] | list[T] = (), skipped: int = 0, problem: str | None = None
    ) -> Rows[T]:
        self = super().__new__(cls, rows)
        self.skipped = skipped
        self.problem = problem
        return self

    @property
    def note(self) -> str | None:
        """ "2 rows could not be read (…)", or None when every row was read."""
        if not self.skipped:
            return None
        rows = "row" if self.skipped == 1 else "rows"
        why = f": {self.problem}" if self.problem else ""
        return f"{self.skipped} {rows} of the server's answer could not be read{why}"


class RentalStatus(StrEnum):
    """A rental's status. Unknown strings from the server become pseudo-members
    (`RentalStatus("on_hold")`) whose `is_known` is False, so nothing is lost."""

    PENDING = "pending"
    WAITING = "waiting"
    RECEIVED = "received"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"

    @classmethod
    def _missing_(cls, value: object) -> RentalStatus | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN"
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        return self._name_ != "UNKNOWN"

    @property
    def is_final(self) -> bool:
        """Final statuses are never polled again (spec, clarification 4)."""
        return self._value_ in _FINAL

    @property
    def is_active(self) -> bool:
        """Still open: no SMS yet, an SMS received, or a status we do not know."""
        return not self.is_final

    @property
    def has_sms(self) -> bool:
        return self._value_ == "received"

    def __str__(self) -> str:
        return self._value_


_FINAL = frozenset({"completed", "cancelled", "expired", "refunded"})


@dataclass(frozen=True, slots=True)
class Balance:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Service:
    id: int
    slug: str
    name: str
    provider_count: int
    min_price: Decimal | None


@dataclass(frozen=True, slots=True)
class Country:
    id: int
    iso_code: str
    name: str
    flag: str


@dataclass(frozen=True, slots=True)
class ServiceRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Offer:
    """One row of `GET /services/{slug}/prices`; `id` is the `pricing_id` to rent."""

    id: int
    price: Decimal
    stock: int
    provider_id: int
    provider_name: str
    country_id: int
    country_name: str
    iso_code: str

    @property
    def available(self) -> bool:
        """Rentable only with stock and a positive price (absurd values are not rented)."""
        return self.stock > 0 and self.price > 0


@dataclass(frozen=True, slots=True)
class PriceList:
    service: ServiceRef
    #: The offers that could be read (`Rows`: it says how many could not).
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class RentedNumber:
    """The answer to `POST /rent`."""

    rental_id: int
    phone: str
    cost: Decimal
    status: RentalStatus
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RentalState:
    """The answer to `GET /rental/{id}`. A timestamp the answer leaves out (or null)
    is None: the status and a code are worth more than a missing date, and the dates
    the rent answer gave are kept."""

    rental_id: int
    phone: str
    status: RentalStatus
    code: str | None
    sms: str | None
    cost: Decimal
    created_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class CancelResult:
    status: RentalStatus
    refunded: bool
    amount: Decimal


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of `GET /rentals` (no code or SMS there; spec, clarification 9)."""

    rental_id: int
    service: str
    country: str
    provider: str
    phone: str
    status: RentalStatus
    cost: Decimal
    created_at: datetime
