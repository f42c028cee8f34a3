"""The catalog: services and countries, cached locally so the next start shows them at
once and refreshes them in the background; the short names people type for services;
and the cheapest price per service and country, as the price lists read said."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal, TypeVar

from rentnumber_tui.api.models import Country, Offer, Rows, Service
from rentnumber_tui.core.store import Store

SERVICES = "services"
COUNTRIES = "countries"

T = TypeVar("T")


def dump_services(services: tuple[Service, ...]) -> str:
    return json.dumps([asdict(service) for service in services], default=str)


def load_services(body: str) -> tuple[Service, ...]:
    return tuple(
        Service(
            id=int(item["id"]),
            slug=str(item["slug"]),
            name=str(item["name"]),
            provider_count=int(item["provider_count"]),
            min_price=None if item["min_price"] is None else Decimal(item["min_price"]),
        )
        for item in json.loads(body)
    )


def dump_countries(countries: tuple[Country, ...]) -> str:
    return json.dumps([asdict(country) for country in countries])


def load_countries(body: str) -> tuple[Country, ...]:
    return tuple(Country(**item) for item in json.loads(body))


def cached_services(store: Store) -> tuple[tuple[Service, ...], datetime] | None:
    """Services from the cache; None when there is none or it cannot be read."""
    return _cached(store, SERVICES, load_services)


def cached_countries(store: Store) -> tuple[tuple[Country, ...], datetime] | None:
    return _cached(store, COUNTRIES, load_countries)


def _cached(store: Store, name: str, load: Callable[[str], T]) -> tuple[T, datetime] | None:
    try:
        entry = store.get_catalog(name)
        if entry is None:
            return None
        body, fetched_at = entry
        return load(body), fetched_at
    except Exception:
        # A damaged cache is only a slower start: fetch afresh.
        return None


# -- the short names people type --------------------------------------------------------

#: Short name -> the services it means, by code (slug) or name, casefolded. A service
#: matches when its slug, its whole name or one part of a name like "Twitter / X" is
#: one of these; an entry whose service the server does not list does nothing.
SERVICE_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "tg": ("telegram",),
    "wa": ("whatsapp",),
    "fb": ("facebook",),
    "ig": ("instagram",),
    "insta": ("instagram",),
    "x": ("twitter", "x"),
    "gm": ("google", "gmail"),
    "gmail": ("google", "gmail"),
    "ms": ("microsoft",),
    "outlook": ("microsoft", "outlook"),
    "hotmail": ("microsoft", "hotmail"),
    "tt": ("tiktok",),
    "dc": ("discord",),
    "sc": ("snapchat",),
    "snap": ("snapchat",),
    "li": ("linkedin",),
    "yt": ("youtube",),
    "psn": ("playstation",),
    "chatgpt": ("openai", "chatgpt"),
    "gpt": ("openai", "chatgpt"),
}


def _identities(slug: str, name: str) -> set[str]:
    folded = name.casefold().strip()
    parts = {part.strip() for part in folded.split("/")}
    return {slug.casefold().strip(), folded, *parts} - {""}


def service_terms(slug: str, name: str) -> frozenset[str]:
    """The words that find this service when typed in full (casefolded): its code, its
    name and the short names that mean it (`tg` for Telegram). `fuzzy.rank` puts an
    exact term above every fuzzy match."""
    identities = _identities(slug, name)
    aliases = {alias for alias, means in SERVICE_ALIASES.items() if identities.intersection(means)}
    return frozenset(identities | aliases)


# -- the cheapest price per service and country -------------------------------------------

SoldOut = Literal["sold out"]
SOLD_OUT: Final[SoldOut] = "sold out"

#: A "from" price: the cheapest rentable offer, SOLD_OUT when none can be rented, None
#: while it is not known.
FromPrice = Decimal | SoldOut | None


def cheapest_by_country(offers: Iterable[Offer]) -> dict[int, Decimal | None]:
    """Per country id listed: the cheapest offer that can be rented (stock and a
    positive price: what the app would rent), or None when none of its offers can."""
    out: dict[int, Decimal | None] = {}
    for offer in offers:
        best = out.get(offer.country_id)
        if offer.available and (best is None or offer.price < best):
            out[offer.country_id] = offer.price
        elif offer.country_id not in out:
            out[offer.country_id] = None
    return out


@dataclass(frozen=True, slots=True)
class ServicePrices:
    """What the price lists of one service said."""

    #: Country id -> its cheapest rentable price, None where none of its offers can be
    #: rented. Countries not here: not read yet (or, once `complete_at` is set, no offers).
    cheapest: Mapping[int, Decimal | None]
    #: When the list of every country was last read (the book's clock); None while only
    #: single countries were.
    complete_at: float | None

    def for_country(self, country_id: int) -> FromPrice:
        if country_id in self.cheapest:
            price = self.cheapest[country_id]
            return SOLD_OUT if price is None else price
        return SOLD_OUT if self.complete_at is not None else None

    def overall(self) -> FromPrice:
        """The cheapest rentable price in any country; None unless every country was read."""
        if self.complete_at is None:
            return None
        prices = [price for price in self.cheapest.values() if price is not None]
        return min(prices) if prices else SOLD_OUT


def service_from_price(service: Service, known: ServicePrices | None) -> FromPrice:
    """The "from" price of a service in the list: the cheapest rentable offer of the
    last list of every country read, else the server's `min_price` when it is positive
    (the server may count offers at ₦0.00, which are never rented); None: not known."""
    if known is not None and known.complete_at is not None:
        return known.overall()
    if service.min_price is not None and service.min_price > 0:
        return service.min_price
    return None


class PriceBook:
    """The cheapest rentable price per service and country, from every price list the
    engine read: the lists of countries can say "from ₦X" without a request per country.
    In memory only (prices and stock move by the minute); thread-safe (written on the
    engine's thread, read on the screen's)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._services: dict[str, ServicePrices] = {}
        self._version = 0

    @property
    def version(self) -> int:
        """Changes whenever something is recorded (a screen redraws only then)."""
        return self._version

    def get(self, slug: str) -> ServicePrices | None:
        with self._lock:
            return self._services.get(slug)

    def age(self, slug: str) -> float | None:
        """Seconds since the list of every country was read for `slug`; None: never."""
        known = self.get(slug)
        if known is None or known.complete_at is None:
            return None
        return self._clock() - known.complete_at

    def record(self, slug: str, country_id: int | None, offers: Iterable[Offer]) -> None:
        """A price list read for `slug`: of every country (`country_id` None) or of one.
        A list with rows that could not be read says only what it showed: a country
        with none rentable among the rows read may have had one among the rest."""
        partial = isinstance(offers, Rows) and offers.skipped > 0
        offers = tuple(offers)
        if country_id is not None:  # a server that lists other countries: not trusted
            offers = tuple(offer for offer in offers if offer.country_id == country_id)
        found = cheapest_by_country(offers)
        if country_id is not None and country_id not in found:
            found[country_id] = None  # no offers there at all
        if partial:
            found = {cid: price for cid, price in found.items() if price is not None}
        with self._lock:
            before = self._services.get(slug)
            if country_id is None and not partial:
                known = ServicePrices(found, self._clock())
            else:
                cheapest = dict(before.cheapest) if before else {}
                cheapest.update(found)
                known = ServicePrices(cheapest, before.complete_at if before else None)
            self._services[slug] = known
            self._version += 1
