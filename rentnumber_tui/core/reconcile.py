"""Deciding what a rent whose answer was lost bought (spec, clarification 8), without
ever adopting someone else's rental.

The account is shared — the website, another machine, a colleague — so "a rental of the
same offer appeared" is not proof that it is ours. A rental is a *candidate* only if:
- it is of the same service, country and provider;
- it was created no earlier than the moment our request left, minus what we do not know
  about the server's clock (`ServerClock.uncertainty`) and the one-second resolution of
  the API's timestamps;
- no process on this machine knows it already (rented, adopted or seen before).
One candidate is ours. Several: the closest in time is ours only when it is clearly
closer than the next (by more than the timing uncertainty); otherwise none is adopted
and the person sees each of them, marked.

"Nothing was bought" is decided only at the final look: after the request is known to
be dead and a grace period has passed (a slow server can still perform it), the account
shows no candidate, and the wallet is not lower than the rentals on the account explain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from rentnumber_tui.api.models import HistoryEntry
from rentnumber_tui.core.store import Purchase

#: The API's timestamps have whole seconds: a rental created at 14:00:00.9 says 14:00:00.
RESOLUTION = timedelta(seconds=1)
#: Assumed clock uncertainty before any `Date` header narrowed it.
DEFAULT_UNCERTAINTY = 2.0
#: Statuses whose cost is back in the wallet (or was never kept).
_NOT_CHARGED = frozenset({"refunded", "expired"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one look at the account decided."""

    #: The rental to adopt as ours, or None.
    adopt: HistoryEntry | None = None
    #: Several equally plausible rentals: none adopted, each to be shown marked.
    ambiguous: tuple[HistoryEntry, ...] = ()


def slack(purchase: Purchase) -> timedelta:
    """How much earlier than our (estimated) departure a rental of ours may be stamped."""
    uncertainty = purchase.uncertainty
    if uncertainty is None:
        uncertainty = DEFAULT_UNCERTAINTY
    return timedelta(seconds=uncertainty) + RESOLUTION


def departure(purchase: Purchase) -> datetime:
    """When the request left (server time); before it was known to leave, when it was
    started (a request cannot have left before it was started)."""
    return purchase.sent_at or purchase.started_at


def matches(purchase: Purchase, entry: HistoryEntry) -> bool:
    """Same offer (by the names the account's list gives) and not created too early."""
    labels = purchase.labels
    return (
        entry.service == labels.service
        and entry.country == labels.country
        and entry.provider == labels.provider
        and entry.created_at >= departure(purchase) - slack(purchase)
    )


def candidates(
    purchase: Purchase, history: Iterable[HistoryEntry], known: set[int]
) -> list[HistoryEntry]:
    """The account's rentals that may be what `purchase` bought, closest in time first.
    `known`: every rental any process here has seen or claimed."""
    found = [e for e in history if e.rental_id not in known and matches(purchase, e)]
    left = departure(purchase)
    return sorted(found, key=lambda e: (abs((e.created_at - left).total_seconds()), e.rental_id))


def decide(purchase: Purchase, found: Sequence[HistoryEntry]) -> Verdict:
    """Adopt the one candidate; with several, the closest only when clearly closest."""
    if not found:
        return Verdict()
    if len(found) == 1:
        return Verdict(adopt=found[0])
    left = departure(purchase)
    first, second = (abs((e.created_at - left).total_seconds()) for e in found[:2])
    margin = 2 * slack(purchase).total_seconds()
    if second - first > margin:
        return Verdict(adopt=found[0])
    return Verdict(ambiguous=tuple(found))


def unexplained_charge(
    purchase: Purchase, balance_now: Decimal, history: Iterable[HistoryEntry]
) -> Decimal | None:
    """How much lower the wallet is than the account's rentals explain (None: it agrees,
    or there is no earlier balance to compare with).

    The wallet said `balance_before` at `balance_seen_at`; every rental created since
    then that still costs money explains a drop of its cost. A top-up or a refund makes
    the wallet higher, which never hides a charge of ours."""
    before, seen_at = purchase.balance_before, purchase.balance_seen_at
    if before is None or seen_at is None:
        return None
    explained = sum(
        (
            e.cost
            for e in history
            if e.created_at >= seen_at - slack(purchase) and e.status.value not in _NOT_CHARGED
        ),
        Decimal(0),
    )
    missing = (before - explained) - balance_now
    return missing if missing > Decimal("0.005") else None
