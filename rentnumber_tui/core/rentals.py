"""What the app knows about one rental: the API's fields plus what we remember locally.

The API's answers are partial (`POST /rent` has no created_at, `GET /rentals` no code),
so a `TrackedRental` merges every answer seen, and is what the store keeps and the
screen shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from rentnumber_tui.api.models import HistoryEntry, RentalState, RentalStatus, RentedNumber

#: Where a rental came from, as this machine knows it: "here" — rented by a process of
#: this program on this machine (the journal says so); "elsewhere" — found on the
#: account (the website, another machine); "unsure" — created at the moment of a rent
#: whose answer was lost, alongside another such rental, so it may or may not be ours.
Origin = Literal["here", "elsewhere", "unsure"]
ORIGINS: tuple[Origin, ...] = ("here", "elsewhere", "unsure")


@dataclass(frozen=True, slots=True)
class RentalLabels:
    """Names shown beside a rental, known at rent time (the API does not repeat them)."""

    service: str = ""
    service_slug: str = ""
    country: str = ""
    iso_code: str = ""
    flag: str = ""
    provider: str = ""


@dataclass(frozen=True, slots=True)
class OfferRef:
    """Which offer a rental was bought from: enough to rent the same thing again."""

    pricing_id: int
    country_id: int
    provider_id: int


@dataclass(frozen=True, slots=True)
class TrackedRental:
    rental_id: int
    phone: str
    status: RentalStatus
    cost: Decimal
    labels: RentalLabels = RentalLabels()
    code: str | None = None
    sms: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    #: Server time when we first saw the current code.
    code_seen_at: datetime | None = None
    #: Why the rental is no longer followed although its status is not final.
    problem: str | None = None
    #: Codes this rental showed before the current one, oldest first (a later SMS
    #: replaces the code; the person may still need the first).
    earlier_codes: tuple[str, ...] = ()
    #: The offer it was rented from (None when found on the account, not rented here).
    offer: OfferRef | None = None
    origin: Origin = "here"

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def followed(self) -> bool:
        """Still worth polling: not final and not given up on."""
        return not self.status.is_final and self.problem is None

    @property
    def has_sms(self) -> bool:
        """An SMS arrived (a code is known, or the server says so): a cancel no longer
        refunds."""
        return bool(self.code) or self.status.has_sms

    @classmethod
    def from_rent(
        cls, rented: RentedNumber, labels: RentalLabels, offer: OfferRef | None = None
    ) -> TrackedRental:
        return cls(
            rental_id=rented.rental_id,
            phone=rented.phone,
            status=rented.status,
            cost=rented.cost,
            labels=labels,
            expires_at=rented.expires_at,
            offer=offer,
        )

    @classmethod
    def from_history(cls, entry: HistoryEntry, origin: Origin = "elsewhere") -> TrackedRental:
        return cls(
            origin=origin,
            rental_id=entry.rental_id,
            phone=entry.phone,
            status=entry.status,
            cost=entry.cost,
            labels=RentalLabels(
                service=entry.service, country=entry.country, provider=entry.provider
            ),
            created_at=entry.created_at,
        )

    def with_state(self, state: RentalState, seen_at: datetime) -> TrackedRental:
        """Merge a `GET /rental/{id}` answer. A code, once seen, is kept even if a later
        answer omits it; a new code replaces it (spec, clarification 4)."""
        code = state.code if state.code else self.code
        sms = state.sms if state.sms else self.sms
        new_code = bool(state.code) and (state.code, state.sms) != (self.code, self.sms)
        earlier = self.earlier_codes
        if new_code and self.code and state.code != self.code and self.code not in earlier:
            earlier = (*earlier, self.code)
        return replace(
            self,
            phone=state.phone or self.phone,
            status=state.status,
            cost=state.cost,
            code=code,
            sms=sms,
            created_at=state.created_at or self.created_at,
            expires_at=state.expires_at or self.expires_at,
            code_seen_at=seen_at if new_code else self.code_seen_at,
            problem=None,
            earlier_codes=earlier,
        )

    def with_history(self, entry: HistoryEntry) -> TrackedRental:
        """Merge a `GET /rentals` row: it may carry a newer status and the names."""
        labels = self.labels
        if not labels.service:
            labels = replace(
                labels, service=entry.service, country=entry.country, provider=entry.provider
            )
        return replace(
            self,
            status=entry.status,
            phone=entry.phone or self.phone,
            cost=entry.cost,
            created_at=self.created_at or entry.created_at,
            labels=labels,
        )

    def seconds_left(self, now: datetime) -> float | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds()
