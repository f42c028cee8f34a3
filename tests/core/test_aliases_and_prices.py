"""Short names that find their service first (`tg`: Telegram), and the cheapest price
that can be rented per service and country (issue 13)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rentnumber_tui.api.models import Offer, Rows, Service
from rentnumber_tui.core.catalog import (
    SOLD_OUT,
    PriceBook,
    cheapest_by_country,
    service_from_price,
    service_terms,
)
from rentnumber_tui.core.fuzzy import rank
from rentnumber_tui.sandbox.catalog import build_catalog

#: The sandbox's services, as (slug, name), in its order (the same as the server's list).
SERVICES = [(s.slug, s.name) for s in build_catalog(7).services]


def ranked(query: str, *, with_terms: bool = True) -> list[str]:
    """Slugs of the sandbox's services matching `query`, best first, as the list ranks
    them (name and slug fuzzy; code and short names exact)."""
    terms = {slug: service_terms(slug, name) for slug, name in SERVICES}
    exact = (lambda item: terms[item[0]]) if with_terms else None
    return [slug for slug, _ in rank(query, SERVICES, lambda item: (item[1], item[0]), exact)]


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("tg", "telegram"),
        ("TG", "telegram"),
        ("wa", "whatsapp"),
        ("fb", "facebook"),
        ("ig", "instagram"),
        ("x", "twitter"),
        ("gm", "google"),
        ("gmail", "google"),
        ("ms", "microsoft"),
        ("tt", "tiktok"),
        (" tg ", "telegram"),
    ],
)
def test_a_short_name_ranks_its_service_first(query, slug):
    assert ranked(query)[0] == slug


def test_tg_without_the_short_names_went_to_chatgpt():
    # What the issue saw: "chaTGpt" holds "tg" whole, Telegram only as t…g.
    assert ranked("tg", with_terms=False)[0] == "openai"
    assert ranked("tg")[:2] == ["telegram", "openai"]  # the fuzzy match still follows


def test_an_exact_code_ranks_first():
    services = [("kuda", "Kuda Bank"), ("meta", "Facebook (Meta)"), ("fbm", "Meta")]
    terms = {slug: service_terms(slug, name) for slug, name in services}
    # "meta" is the first one's exact code and the third one's exact name: both above
    # the fuzzy matches, ties in list order.
    services.append(("metamask", "MetaMask"))
    terms["metamask"] = service_terms("metamask", "MetaMask")
    found = rank("meta", services, lambda s: (s[1], s[0]), lambda s: terms[s[0]])
    assert [slug for slug, _ in found] == ["meta", "fbm", "metamask"]


def test_fuzzy_ranking_is_unchanged_without_an_exact_term():
    with_terms, without = ranked("tele"), ranked("tele", with_terms=False)
    assert with_terms == without and with_terms[0] == "telegram"
    assert ranked("whats") == ranked("whats", with_terms=False) == ["whatsapp"]
    # A prefix of a short name is no short name: fuzzy as ever.
    assert ranked("insta") == ["instagram"] and ranked("ins") == ranked("ins", with_terms=False)
    assert ranked("t") == ranked("t", with_terms=False)


def test_service_terms():
    assert service_terms("telegram", "Telegram") >= {"telegram", "tg"}
    assert {"twitter", "x", "twitter / x"} <= service_terms("twitter", "Twitter / X")
    assert "x" in service_terms("x", "X")  # a server that calls it X: still x
    assert "gm" in service_terms("gmail", "Gmail")
    assert "tg" not in service_terms("openai", "OpenAI / ChatGPT")
    assert service_terms("line", "LINE") == {"line"}


def offer(n: int, country: int, price: str, stock: int = 5) -> Offer:
    return Offer(n, Decimal(price), stock, 1, "Alpha", country, f"C{country}", "XX")


def test_cheapest_by_country_counts_only_what_can_be_rented():
    offers = [
        offer(1, 1, "0.00"),  # absurd price: never rented
        offer(2, 1, "-5.00"),
        offer(3, 1, "120.00", stock=0),  # sold out
        offer(4, 1, "450.00"),
        offer(5, 1, "300.00"),
        offer(6, 2, "100.00", stock=0),
        offer(7, 2, "0.00"),
    ]
    assert cheapest_by_country(offers) == {1: Decimal("300.00"), 2: None}


def test_a_list_of_every_country_says_each_ones_cheapest():
    now = [100.0]
    book = PriceBook(clock=lambda: now[0])
    assert book.get("whatsapp") is None and book.age("whatsapp") is None
    version = book.version
    book.record("whatsapp", None, [offer(1, 1, "450.00"), offer(2, 2, "0.00"), offer(3, 1, "0")])
    assert book.version != version
    known = book.get("whatsapp")
    assert known is not None
    assert known.for_country(1) == Decimal("450.00")
    assert known.for_country(2) == SOLD_OUT  # only an offer at ₦0.00
    assert known.for_country(3) == SOLD_OUT  # listed nowhere: no offers
    assert known.overall() == Decimal("450.00")
    now[0] = 130.0
    assert book.age("whatsapp") == 30.0
    assert book.get("telegram") is None


def test_one_countrys_list_says_only_that_country():
    book = PriceBook()
    # A server that also lists another country for ?country_id=1: not trusted.
    book.record("whatsapp", 1, [offer(1, 1, "450.00"), offer(2, 2, "10.00")])
    known = book.get("whatsapp")
    assert known is not None
    assert known.for_country(1) == Decimal("450.00")
    assert known.for_country(2) is None  # not known
    assert known.overall() is None  # not every country read
    assert book.age("whatsapp") is None
    book.record("whatsapp", 3, [])
    assert book.get("whatsapp").for_country(3) == SOLD_OUT  # type: ignore[union-attr]


def test_a_countrys_list_updates_the_list_of_every_country():
    book = PriceBook()
    book.record("whatsapp", None, [offer(1, 1, "450.00"), offer(2, 2, "500.00")])
    book.record("whatsapp", 1, [offer(1, 1, "450.00", stock=0)])
    known = book.get("whatsapp")
    assert known is not None
    assert known.for_country(1) == SOLD_OUT
    assert known.overall() == Decimal("500.00")
    assert book.age("whatsapp") is not None  # still the list of every country
    # A new list of every country replaces what single countries said.
    book.record("whatsapp", None, [offer(2, 2, "500.00", stock=0)])
    assert book.get("whatsapp").overall() == SOLD_OUT  # type: ignore[union-attr]


def test_rows_that_could_not_be_read_make_no_sold_out_claims():
    book = PriceBook()
    rows = Rows([offer(1, 1, "450.00"), offer(2, 2, "500.00", stock=0)], skipped=1)
    book.record("whatsapp", None, rows)
    known = book.get("whatsapp")
    assert known is not None
    assert known.for_country(1) == Decimal("450.00")
    assert known.for_country(2) is None  # the unread row may have been in stock
    assert known.overall() is None


def service(min_price: str | None) -> Service:
    return Service(1, "whatsapp", "WhatsApp", 3, None if min_price is None else Decimal(min_price))


def test_a_services_from_price_is_never_one_the_app_refuses():
    assert service_from_price(service("210.00"), None) == Decimal("210.00")
    assert service_from_price(service("0.00"), None) is None
    assert service_from_price(service("-1"), None) is None
    assert service_from_price(service(None), None) is None
    book = PriceBook()
    book.record("whatsapp", 1, [offer(1, 1, "300.00")])
    # One country read: the server's figure still stands for every country.
    assert service_from_price(service("210.00"), book.get("whatsapp")) == Decimal("210.00")
    book.record("whatsapp", None, [offer(1, 1, "0.00"), offer(2, 2, "380.00")])
    assert service_from_price(service("0.00"), book.get("whatsapp")) == Decimal("380.00")
    book.record("whatsapp", None, [offer(2, 2, "380.00", stock=0)])
    assert service_from_price(service("380.00"), book.get("whatsapp")) == SOLD_OUT
