"""Rent the same thing again: which offer, and what changed since the last time.

Pure: the engine fetches the service's current offers and asks `choose_again`; the
front end shows the offer in the confirmation with the change in words, so nothing is
bought that the person did not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rentnumber_tui.api.models import Country, Offer, Service
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.user_error import UserFacingError

__all__ = ["AgainChoice", "NothingToRentAgain", "choose_again", "find_country", "find_service"]


class NothingToRentAgain(UserFacingError):
    """The rental cannot be rented again: its service is unknown, or nothing is in stock."""


@dataclass(frozen=True, slots=True)
class AgainChoice:
    service: Service
    offer: Offer
    #: What differs from the rental being repeated (None: the same offer, same price or
    #: cheaper). Shown in the confirmation.
    change: str | None = None


def find_service(rental: TrackedRental, services: Iterable[Service]) -> Service:
    """The rental's service in the catalog: by slug, else by name (rentals found on the
    account carry only the name)."""
    labels = rental.labels
    services = tuple(services)
    for service in services:
        if labels.service_slug and service.slug == labels.service_slug:
            return service
    for service in services:
        if labels.service and service.name.casefold() == labels.service.casefold():
            return service
    name = safe_text(labels.service or f"rental #{rental.rental_id}", max_length=40)
    raise NothingToRentAgain(f"{name} is not in the service list: it cannot be rented again.")


def find_country(rental: TrackedRental, countries: Iterable[Country]) -> int | None:
    """The rental's country id: from the offer it was rented from, else by ISO code or
    name; None when it cannot be told (every country's offers are then considered)."""
    if rental.offer is not None:
        return rental.offer.country_id
    labels = rental.labels
    for country in countries:
        if labels.iso_code and country.iso_code.upper() == labels.iso_code.upper():
            return country.id
        if labels.country and country.name.casefold() == labels.country.casefold():
            return country.id
    return None


def _same_provider(rental: TrackedRental, offer: Offer) -> bool:
    if rental.offer is not None:
        return offer.provider_id == rental.offer.provider_id
    return bool(rental.labels.provider) and offer.provider_name == rental.labels.provider


def choose_again(
    rental: TrackedRental, service: Service, offers: Iterable[Offer], country_id: int | None
) -> AgainChoice:
    """The same provider's offer when it is in stock and not dearer than last time;
    otherwise the cheapest in-stock offer for the same service and country, with what
    changed. Raises `NothingToRentAgain` when nothing is in stock there."""
    here = [o for o in offers if country_id is None or o.country_id == country_id]
    same = next(
        (o for o in here if rental.offer is not None and o.id == rental.offer.pricing_id),
        None,
    ) or next((o for o in here if _same_provider(rental, o)), None)
    in_stock = sorted((o for o in here if o.available), key=lambda o: (o.price, -o.stock, o.id))
    provider = safe_text(rental.labels.provider or "the same provider", max_length=40)
    if same is not None and same.available and same.price <= rental.cost:
        return AgainChoice(service, same)
    if not in_stock:
        where = safe_text(rental.labels.country or "that country", max_length=40)
        raise NothingToRentAgain(
            f"Nothing is in stock for {safe_text(service.name, max_length=40)} in {where} now."
        )
    cheapest = in_stock[0]
    other = safe_text(cheapest.provider_name, max_length=40)
    if same is None:
        before = f"{provider} no longer offers it"
    elif not same.available:
        before = f"{provider} is sold out"
    else:
        before = f"{provider} now asks {format_money(same.price)} (was {format_money(rental.cost)})"
    if same is not None and same.available and same.price <= cheapest.price:
        # Dearer than before, but still the cheapest: keep the provider, say the price.
        return AgainChoice(service, same, f"{before}; still the cheapest in stock.")
    return AgainChoice(
        service,
        cheapest,
        f"{before}; the cheapest in stock is {other} at {format_money(cheapest.price)}.",
    )
