"""Which offer `a` (rent again) proposes, and the words for what changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rentnumber_tui.api.models import Country, Offer, RentalStatus, Service
from rentnumber_tui.core.rent_again import (
    NothingToRentAgain,
    choose_again,
    find_country,
    find_service,
)
from rentnumber_tui.core.rentals import OfferRef, RentalLabels, TrackedRental

WHATSAPP = Service(id=1, slug="whatsapp", name="WhatsApp", provider_count=3, min_price=None)
NIGERIA, GHANA = 1, 2


def offer(pricing_id: int, provider: str, price: str, stock: int = 5, country: int = NIGERIA):
    return Offer(
        id=pricing_id,
        price=Decimal(price),
        stock=stock,
        provider_id=pricing_id * 10,
        provider_name=provider,
        country_id=country,
        country_name="Nigeria" if country == NIGERIA else "Ghana",
        iso_code="NG" if country == NIGERIA else "GH",
    )


def rented(pricing_id: int = 11, provider: str = "Alpha", cost: str = "450.00") -> TrackedRental:
    return TrackedRental(
        rental_id=1001,
        phone="+2348000000000",
        status=RentalStatus.COMPLETED,
        cost=Decimal(cost),
        labels=RentalLabels(
            service="WhatsApp",
            service_slug="whatsapp",
            country="Nigeria",
            iso_code="NG",
            provider=provider,
        ),
        offer=OfferRef(pricing_id=pricing_id, country_id=NIGERIA, provider_id=pricing_id * 10),
    )


def test_the_same_offer_in_stock_and_not_dearer_is_proposed_without_a_word():
    offers = [offer(12, "Beta", "300.00"), offer(11, "Alpha", "450.00")]
    choice = choose_again(rented(), WHATSAPP, offers, NIGERIA)
    assert choice.offer.id == 11 and choice.change is None
    cheaper = choose_again(rented(), WHATSAPP, [offer(11, "Alpha", "400.00")], NIGERIA)
    assert cheaper.offer.id == 11 and cheaper.change is None


def test_sold_out_proposes_the_cheapest_in_stock_in_the_same_country():
    offers = [
        offer(11, "Alpha", "450.00", stock=0),
        offer(13, "Gamma", "520.00"),
        offer(12, "Beta", "480.00"),
        offer(14, "Delta", "100.00", country=GHANA),  # cheaper, but another country
        offer(15, "Eps", "200.00", stock=0),
    ]
    choice = choose_again(rented(), WHATSAPP, offers, NIGERIA)
    assert choice.offer.id == 12
    assert choice.change == "Alpha is sold out; the cheapest in stock is Beta at ₦480.00."


def test_dearer_than_before_proposes_a_cheaper_provider_and_says_both_prices():
    offers = [offer(11, "Alpha", "500.00"), offer(12, "Beta", "470.00")]
    choice = choose_again(rented(), WHATSAPP, offers, NIGERIA)
    assert choice.offer.id == 12
    assert choice.change == (
        "Alpha now asks ₦500.00 (was ₦450.00); the cheapest in stock is Beta at ₦470.00."
    )


def test_dearer_but_still_the_cheapest_keeps_the_provider_and_says_the_price():
    offers = [offer(11, "Alpha", "500.00"), offer(12, "Beta", "550.00")]
    choice = choose_again(rented(), WHATSAPP, offers, NIGERIA)
    assert choice.offer.id == 11
    assert choice.change == "Alpha now asks ₦500.00 (was ₦450.00); still the cheapest in stock."


def test_a_provider_gone_from_the_list_is_said():
    choice = choose_again(rented(), WHATSAPP, [offer(12, "Beta", "480.00")], NIGERIA)
    assert choice.change == "Alpha no longer offers it; the cheapest in stock is Beta at ₦480.00."


def test_nothing_in_stock_is_an_error_in_words():
    with pytest.raises(NothingToRentAgain, match="Nothing is in stock for WhatsApp in Nigeria"):
        choose_again(rented(), WHATSAPP, [offer(11, "Alpha", "450.00", stock=0)], NIGERIA)


def test_a_rental_found_on_the_account_is_matched_by_its_names():
    found = TrackedRental(
        rental_id=7,
        phone="+233200000000",
        status=RentalStatus.COMPLETED,
        cost=Decimal("300.00"),
        labels=RentalLabels(service="whatsapp", country="Ghana", provider="Beta"),
        origin="elsewhere",
    )
    assert find_service(found, [WHATSAPP]) is WHATSAPP
    countries = [Country(1, "NG", "Nigeria", ""), Country(2, "GH", "Ghana", "")]
    assert find_country(found, countries) == GHANA
    offers = [
        offer(21, "Alpha", "250.00", country=GHANA),
        offer(22, "Beta", "300.00", country=GHANA),
    ]
    choice = choose_again(found, WHATSAPP, offers, GHANA)
    assert choice.offer.id == 22 and choice.change is None  # the same provider, by name
    with pytest.raises(NothingToRentAgain, match="not in the service list"):
        find_service(found, [])
