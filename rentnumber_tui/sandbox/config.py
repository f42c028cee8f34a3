"""Knobs fixed when a sandbox is created (the mutable fault knobs live in `faults.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: The demo account every sandbox starts with. Deliberately not shaped like a real key
#: (`rn_` + 20 alphanumerics), so secret scanners never flag it.
DEMO_API_KEY = "rn_demo_sandbox_key_4f2c"


def sms_delay_around(seconds: float) -> tuple[float, float]:
    """`--sms-delay S`: SMS delays uniform in [S/2, 3S/2]; 0 means immediately."""
    if seconds < 0:
        raise ValueError("the SMS delay cannot be negative")
    return (seconds / 2, seconds * 3 / 2)


@dataclass(frozen=True)
class SandboxConfig:
    """How a sandbox behaves; every field has a realistic default."""

    #: Drives the catalog (prices, stock), phone numbers, codes and SMS delays.
    seed: int = 1
    #: Seconds from renting to the SMS, uniform in [low, high]; drawn from (seed, rental
    #: id) so the order of requests never changes a rental's delay. (0, 0) = immediate.
    sms_delay: tuple[float, float] = (5.0, 20.0)
    #: Share of rentals that never get an SMS (they expire and are refunded).
    no_sms_probability: float = 0.0
    #: Providers (ids) whose rentals never get an SMS: for auto-replace tests.
    silent_providers: tuple[int, ...] = ()
    #: Seconds a rental stays open (15 minutes).
    rental_ttl: float = 900.0
    #: Balance of the demo account (`DEMO_API_KEY`).
    starting_balance: Decimal = Decimal("25000.00")
    #: Synthetic offers added to one service, for huge-catalog tests and benchmarks.
    extra_offers: int = 0
    #: The service (slug) that receives the `extra_offers`.
    extra_offers_service: str = "whatsapp"
    #: Id of the first rental; later ones count up by one.
    first_rental_id: int = 1001
    #: Synthetic services added after the real ones (one offer each), for huge lists.
    extra_services: int = 0
    #: A hostile server (spec, clarification 11): every name, flag, SMS, phone number
    #: and error text carries markup, escape sequences, control and bidi characters,
    #: emoji or 5,000 characters (see `hostile.py`). Slugs, ids and codes stay usable.
    hostile: bool = False

    def __post_init__(self) -> None:
        low, high = self.sms_delay
        if not 0 <= low <= high:
            raise ValueError(f"sms_delay must be 0 <= low <= high, got {self.sms_delay!r}")
        if not 0.0 <= self.no_sms_probability <= 1.0:
            raise ValueError("no_sms_probability must be within [0, 1]")
        if not self.starting_balance.is_finite() or self.starting_balance < 0:
            raise ValueError("starting_balance must be a finite amount >= 0")
        if self.rental_ttl <= 0:
            raise ValueError("rental_ttl must be positive")
        if self.extra_offers < 0:
            raise ValueError("extra_offers must be >= 0")
        if self.extra_services < 0:
            raise ValueError("extra_services must be >= 0")
