"""The catalog cache: services and countries, kept locally so the next start shows them
at once and refreshes them in the background."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from rentnumber_tui.api.models import Country, Service
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
