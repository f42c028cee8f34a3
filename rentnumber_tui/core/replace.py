"""Auto-replace (opt-in): a rental with no SMS after `after` seconds is cancelled
(refunded) and the next best offer for the same service and country, from a provider
not tried yet, is rented — at most `attempts` rentals in all, never above the price cap.

The engine owns it (money moves): it calls `Replacer.tick()` on its own loop about once
a second with the rentals this process follows, and gives it the engine's own cancel,
prices and rent, so the journal, the budget and the cancel re-check all apply. Every
step is said through `say` (the engine turns it into an event) and shows in the live
list and History as the rentals it cancels and makes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from rentnumber_tui.api.models import CancelResult, Offer, RentalStatus
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.user_error import UserFacingError, message_of

__all__ = ["ReplacePolicy", "Replacer", "default_cap", "merge_snapshots"]

_WAITING = frozenset({RentalStatus.WAITING.value, RentalStatus.PENDING.value})


@dataclass(frozen=True, slots=True)
class ReplacePolicy:
    #: Every rental made here is replaced (else only those turned on with `t`).
    enabled: bool = False
    #: Seconds without an SMS before a rental is replaced.
    after: float = 120.0
    #: Rentals in one chain at the most (the first one included).
    attempts: int = 3
    #: The most a replacement may cost; None: half as much again as the first rental.
    max_price: Decimal | None = None


def default_cap(first_cost: Decimal) -> Decimal:
    """Without a `replace_max_price`: half as much again as the first rental cost."""
    return (first_cost * Decimal("1.5")).quantize(Decimal("0.01"))


@dataclass
class _Chain:
    """One wish for a code: the rentals tried for it, and the providers used."""

    cap: Decimal
    tried: set[int] = field(default_factory=set)
    rentals: int = 1
    done: bool = False


def merge_snapshots(stored: Any, mine: dict[str, Any]) -> dict[str, Any]:
    """`mine` over what the store holds: another process's chains (rentals it follows)
    are kept, so one snapshot per account serves every process."""
    if not isinstance(stored, dict):
        return mine
    ours = {r for chain in mine["chains"] for r in chain["rentals"]}
    theirs = [
        chain
        for chain in stored.get("chains", [])
        if isinstance(chain, dict) and not ours.intersection(chain.get("rentals", []))
    ]
    chosen = stored.get("chosen", {})
    chosen = {**(chosen if isinstance(chosen, dict) else {}), **mine["chosen"]}
    return {"chosen": chosen, "chains": [*theirs, *mine["chains"]]}


class Replacer:
    def __init__(
        self,
        policy: ReplacePolicy,
        *,
        now: Callable[[], datetime],
        cancel: Callable[[int], Awaitable[tuple[CancelResult, object]]],
        offers: Callable[[TrackedRental], Awaitable[Iterable[Offer]]],
        rent: Callable[[Offer, TrackedRental], Awaitable[TrackedRental]],
        say: Callable[[int, str], None],
    ) -> None:
        self.policy = policy
        self._now = now
        self._cancel = cancel
        self._offers = offers
        self._rent = rent
        self._say = say
        #: Rental id -> its chain (a replacement shares its predecessor's).
        self._chains: dict[int, _Chain] = {}
        #: Rentals turned on or off by hand (`t`), over the policy's default.
        self._chosen: dict[int, bool] = {}
        #: Rentals being replaced right now (a tick never starts a second time).
        self._busy: set[int] = set()

    # -- kept across restarts (the engine stores `snapshot()`, gives it to `restore`) --

    def snapshot(self) -> dict[str, Any]:
        """What must survive a restart: which rentals were turned on or off, and each
        chain's count, providers tried and cap (so a restart never allows more
        rentals than `attempts`)."""
        chains: dict[int, tuple[_Chain, list[int]]] = {}
        for rental_id, chain in self._chains.items():
            chains.setdefault(id(chain), (chain, []))[1].append(rental_id)
        return {
            "chosen": {str(k): v for k, v in sorted(self._chosen.items())},
            "chains": [
                {
                    "rentals": sorted(ids),
                    "count": chain.rentals,
                    "cap": str(chain.cap),
                    "tried": sorted(chain.tried),
                    "done": chain.done,
                }
                for chain, ids in chains.values()
            ],
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back a `snapshot()`; anything unreadable in it is left out."""
        with contextlib.suppress(AttributeError, TypeError, ValueError, ArithmeticError):
            for key, on in dict(saved.get("chosen", {})).items():
                if isinstance(on, bool):
                    self._chosen[int(key)] = on
            for entry in list(saved.get("chains", [])):
                chain = _Chain(
                    cap=Decimal(str(entry["cap"])),
                    tried={int(p) for p in entry["tried"]},
                    rentals=int(entry["count"]),
                    done=bool(entry["done"]),
                )
                for rental_id in entry["rentals"]:
                    self._chains[int(rental_id)] = chain

    def is_on(self, rental: TrackedRental) -> bool:
        return self._chosen.get(rental.rental_id, self.policy.enabled) and rental.origin == "here"

    def toggle(self, rental: TrackedRental) -> bool:
        """Turn auto-replace on or off for one rental; True when it is now on."""
        on = not self.is_on(rental)
        self._chosen[rental.rental_id] = on
        return on

    def attempt_of(self, rental_id: int) -> tuple[int, int] | None:
        """(which rental of its chain this is, the most there may be), once replaced."""
        chain = self._chains.get(rental_id)
        return (chain.rentals, self.policy.attempts) if chain and chain.rentals > 1 else None

    def _due(self, rental: TrackedRental) -> bool:
        if rental.rental_id in self._busy or not self.is_on(rental):
            return False
        if rental.code or rental.status.value not in _WAITING or rental.offer is None:
            return False
        chain = self._chains.get(rental.rental_id)
        if chain is not None and chain.done:
            return False
        started = rental.created_at
        if started is None:
            return False  # not known yet when it started: never replaced on a guess
        return (self._now() - started).total_seconds() >= self.policy.after

    async def tick(self, rentals: Iterable[TrackedRental]) -> None:
        for rental in list(rentals):
            if self._due(rental):
                self._busy.add(rental.rental_id)
                try:
                    await self._replace(rental)
                finally:
                    self._busy.discard(rental.rental_id)

    async def _replace(self, rental: TrackedRental) -> None:
        assert rental.offer is not None
        chain = self._chains.setdefault(
            rental.rental_id, _Chain(cap=self.policy.max_price or default_cap(rental.cost))
        )
        chain.tried.add(rental.offer.provider_id)
        provider = safe_text(rental.labels.provider or "the provider", max_length=30)
        waited = f"No SMS from {provider} in {self.policy.after:g} s"
        if chain.rentals >= self.policy.attempts:
            chain.done = True
            self._say(
                rental.rental_id,
                f"{waited}; {self.policy.attempts} rentals tried, none is replaced again.",
            )
            return
        try:
            offers = [
                o
                for o in await self._offers(rental)
                if o.available
                and o.country_id == rental.offer.country_id
                and o.provider_id not in chain.tried
                and o.price <= chain.cap
            ]
        except UserFacingError as error:
            chain.done = True
            self._say(rental.rental_id, f"{waited}; kept: {message_of(error)}")
            return
        if not offers:
            # Nothing to swap to: the rental is kept (it may still get its SMS).
            chain.done = True
            self._say(
                rental.rental_id,
                f"{waited}; kept waiting: no other provider in stock at "
                f"{format_money(chain.cap)} or less.",
            )
            return
        best = min(offers, key=lambda o: (o.price, -o.stock, o.id))
        try:
            result, _ = await self._cancel(rental.rental_id)
        except UserFacingError as error:  # an SMS came meanwhile, or the cancel failed
            chain.done = True
            self._say(rental.rental_id, f"{waited}; not replaced: {message_of(error)}")
            return
        if result.refunded:
            refunded = f"cancelled, {format_money(result.amount)} refunded"
        else:
            refunded = "cancelled without a refund"
        try:
            new = await self._rent(best, rental)
        except UserFacingError as error:
            chain.done = True
            self._say(rental.rental_id, f"{waited}; {refunded}. Renting again failed: "
                      f"{message_of(error)}")  # fmt: skip
            return
        chain.rentals += 1
        self._chains[new.rental_id] = chain
        self._chosen[new.rental_id] = self.is_on(rental)
        other = safe_text(best.provider_name, max_length=30)
        self._say(
            new.rental_id,
            f"{waited}; {refunded}. Rented {other} at {format_money(best.price)} instead "
            f"(rental {chain.rentals} of {self.policy.attempts}).",
        )
