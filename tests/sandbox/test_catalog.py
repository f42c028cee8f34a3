"""The catalog is realistic, consistent across endpoints and deterministic from the seed."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import Sandbox, SandboxConfig
from rentnumber_tui.sandbox.catalog import build_catalog

from .conftest import BASE_URL, body


def test_catalog_size(sandbox: Sandbox) -> None:
    catalog = sandbox.catalog
    assert len(catalog.services) >= 40
    assert len(catalog.countries) == 25
    assert len(catalog.providers) == 4
    assert len({p.name for p in catalog.providers}) == 4
    slugs = {s.slug for s in catalog.services}
    assert {"whatsapp", "telegram", "google", "facebook", "instagram", "tiktok"} <= slugs
    assert {"twitter", "discord", "amazon", "uber"} <= slugs
    assert len(slugs) == len(catalog.services)
    # "most" combinations have an offer
    combos = len(catalog.services) * len(catalog.countries) * len(catalog.providers)
    assert len(catalog.offers) >= 0.75 * combos
    assert len({o.id for o in catalog.offers}) == len(catalog.offers)


def test_countries_have_iso_codes_flags_and_dialing_codes(sandbox: Sandbox) -> None:
    countries = sandbox.catalog.countries
    assert len({c.iso_code for c in countries}) == 25
    for country in countries:
        assert len(country.iso_code) == 2 and country.iso_code.isupper()
        assert len(country.flag) == 2
        letters = [
            unicodedata.name(ch).removeprefix("REGIONAL INDICATOR SYMBOL LETTER ")
            for ch in country.flag
        ]
        assert "".join(letters) == country.iso_code
        assert country.dial_code.isdigit()


def test_prices_and_stock_are_in_range_with_some_sold_out(sandbox: Sandbox) -> None:
    offers = sandbox.catalog.offers
    assert all(Decimal("150.00") <= o.final_price <= Decimal("4500.00") for o in offers)
    assert all(o.final_price == o.final_price.quantize(Decimal("0.01")) for o in offers)
    assert all(0 <= o.stock <= 500 for o in offers)
    sold_out = [o for o in offers if o.stock == 0]
    assert 0 < len(sold_out) < len(offers) / 4
    assert len({o.final_price for o in offers}) > 200


def test_providers_have_different_price_levels(sandbox: Sandbox) -> None:
    catalog = sandbox.catalog
    average = {}
    for provider in catalog.providers:
        prices = [o.final_price for o in catalog.offers if o.provider_id == provider.id]
        average[provider.name] = sum(prices) / len(prices)
    assert len({round(v) for v in average.values()}) == 4


def test_the_documented_example_offer_exists(sandbox: Sandbox) -> None:
    offer = sandbox.catalog.offer(42)
    catalog = sandbox.catalog
    assert catalog.service(offer.service_id).slug == "whatsapp"
    assert catalog.country(offer.country_id).name == "Nigeria"
    assert catalog.provider(offer.provider_id).name == "Alpha"
    assert (offer.final_price, offer.stock) == (Decimal("450.00"), 120)


def test_catalog_is_deterministic_from_the_seed() -> None:
    assert build_catalog(7).offers == build_catalog(7).offers
    other = build_catalog(8).offers
    assert other != build_catalog(7).offers
    assert next(o for o in other if o.id == 42) == build_catalog(7).offer(42)


async def test_services_summary_matches_the_offers(sandbox: Sandbox, client) -> None:
    catalog = sandbox.catalog
    services = body(await client.get("/services"))["data"]
    assert [s["id"] for s in services] == [s.id for s in catalog.services]
    for item in services:
        offers = catalog.offers_for_service(item["id"])
        assert item["provider_count"] == len({o.provider_id for o in offers})
        in_stock = [o.final_price for o in offers if o.stock > 0]
        assert item["min_price"] == min(in_stock or [o.final_price for o in offers])


async def test_min_price_skips_sold_out_offers_live(sandbox: Sandbox, client) -> None:
    offers = sandbox.catalog.offers_for_service(2)
    cheapest = min((o for o in offers if o.stock > 0), key=lambda o: (o.final_price, o.id))
    before = body(await client.get("/services"))["data"][1]
    assert before["min_price"] == cheapest.final_price
    for offer in offers:
        if offer.final_price == cheapest.final_price:
            sandbox.set_stock(offer.id, 0)
    after = body(await client.get("/services"))["data"][1]
    assert after["min_price"] > cheapest.final_price


async def test_min_price_of_a_sold_out_service_is_its_cheapest_offer(
    sandbox: Sandbox, client
) -> None:
    wechat = sandbox.catalog.service_by_slug("wechat")
    offers = sandbox.catalog.offers_for_service(wechat.id)
    assert offers and all(sandbox.stock_of(o.id) == 0 for o in offers)
    item = next(s for s in body(await client.get("/services"))["data"] if s["slug"] == "wechat")
    assert item["min_price"] == min(o.final_price for o in offers)


async def test_prices_use_the_catalog_ids(sandbox: Sandbox, client) -> None:
    catalog = sandbox.catalog
    data = body(await client.get("/services/google/prices"))["data"]
    service = catalog.service_by_slug("google")
    assert [o["id"] for o in data] == [o.id for o in catalog.offers_for_service(service.id)]
    for item in data:
        offer = catalog.offer(item["id"])
        assert offer.service_id == service.id
        assert item["provider_name"] == catalog.provider(item["provider_id"]).name
        assert item["country_name"] == catalog.country(item["country_id"]).name
        assert item["final_price"] == offer.final_price


async def test_extra_offers_make_a_huge_service(clock) -> None:
    sb = Sandbox(SandboxConfig(seed=7, extra_offers=10_000), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sb), base_url=BASE_URL) as http:
        data = body(await http.get("/services/whatsapp/prices"))["data"]
        others = body(await http.get("/services/telegram/prices"))["data"]
    assert len(data) > 10_000
    assert len({o["id"] for o in data}) == len(data)
    assert len(others) < 100


@pytest.mark.parametrize(
    "config",
    [
        SandboxConfig(seed=1),
        SandboxConfig(seed=8, hostile=True),
        SandboxConfig(seed=3, extra_offers=300, extra_offers_service="telegram", extra_services=7),
    ],
    ids=["default", "hostile", "extras"],
)
def test_the_services_before_the_catalog_is_built_are_those_it_lists_once_built(
    config: SandboxConfig,
) -> None:
    """The demo lists its services before its first frame without building the whole
    catalog (`initial_summary`): the same list GET /services gives once it is built."""
    early = Sandbox(config)
    before = early.services_body()
    assert early.state._catalog is None  # said without building it
    built = Sandbox(config)
    assert len(built.catalog.offers) > 0
    assert built.services_body() == before
