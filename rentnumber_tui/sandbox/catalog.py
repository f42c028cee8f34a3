"""The sandbox's catalog: real-world services, countries and providers, and the offers.

Deterministic from a seed, so ids, prices and stock are the same on every run. The
documentation's own example offer is pinned: pricing id 42 is WhatsApp in Nigeria from
provider "Alpha" at 450.00 with 120 numbers in stock, so the published Python example
works against the sandbox unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from .hostile import HOSTILE_FLAGS, hostile, with_hostile

MIN_PRICE = Decimal("150.00")
MAX_PRICE = Decimal("4500.00")
CENT = Decimal("0.01")

#: The documentation's example offer (``pricing_id=42``), reproduced exactly.
DOC_OFFER_ID = 42
DOC_OFFER = ("whatsapp", "NG", "Alpha", Decimal("450.00"), 120)

#: A service whose every offer is out of stock (scarce in real life too), so the
#: `min_price` fallback of `/services` is exercised by the default catalog.
SOLD_OUT_SERVICE = "wechat"


def flag_of(iso_code: str) -> str:
    """The emoji flag: the two regional-indicator symbols for an ISO 3166 alpha-2 code."""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in iso_code.upper())


@dataclass(frozen=True, slots=True)
class Service:
    id: int
    slug: str
    name: str
    base_price: Decimal
    code_length: int
    sms_template: str  # format fields: {code}, {name}

    def sms_text(self, code: str) -> str:
        return self.sms_template.format(code=code, name=self.name)


@dataclass(frozen=True, slots=True)
class Country:
    id: int
    iso_code: str
    name: str
    dial_code: str  # without "+"
    national_length: int  # digits after the dialing code
    prefixes: tuple[str, ...]  # mobile prefixes (operator / area codes)
    price_factor: Decimal
    flag: str = field(default="")

    def phone_number(self, rng: random.Random) -> str:
        """A plausible mobile number: +dialing code, an operator prefix, random digits."""
        prefix = rng.choice(self.prefixes)
        rest = self.national_length - len(prefix)
        digits = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(rest - 1))
        return f"+{self.dial_code}{prefix}{digits}"


@dataclass(frozen=True, slots=True)
class Provider:
    id: int
    name: str
    price_factor: Decimal


@dataclass(frozen=True, slots=True)
class Offer:
    """One pricing option (`data[].id` of the prices endpoint); `stock` is the initial one."""

    id: int
    service_id: int
    country_id: int
    provider_id: int
    final_price: Decimal
    stock: int


# (slug, name, base price NGN, code length, SMS template)
_SERVICES: tuple[tuple[str, str, int, int, str], ...] = (
    ("whatsapp", "WhatsApp", 450, 6, "Your WhatsApp verification code is {code}. Don't share it."),
    (
        "telegram",
        "Telegram",
        380,
        5,
        "Telegram code: {code}\n\nYou can also tap on this link to log in:\n"
        "https://t.me/login/{code}",
    ),
    ("google", "Google", 520, 6, "G-{code} is your Google verification code."),
    ("facebook", "Facebook", 350, 5, "FB-{code} is your Facebook confirmation code"),
    ("instagram", "Instagram", 330, 6, "{code} is your Instagram code. Don't share it."),
    (
        "tiktok",
        "TikTok",
        300,
        6,
        "[TikTok] {code} is your verification code, valid for 5 minutes. "
        "To keep your account safe, never forward this code.",
    ),
    ("twitter", "Twitter / X", 600, 6, "{code} is your X verification code."),
    ("discord", "Discord", 420, 6, "Your Discord verification code is: {code}"),
    ("amazon", "Amazon", 550, 6, "{code} is your Amazon OTP. Do not share it with anyone."),
    ("uber", "Uber", 280, 4, "Your Uber code: {code}. Never share this code."),
    ("snapchat", "Snapchat", 260, 6, "Snapchat code: {code}. Happy Snapping!"),
    ("microsoft", "Microsoft", 480, 7, "Use {code} as Microsoft account security code"),
    ("apple", "Apple", 900, 6, "Your Apple Account code is: {code}. Don't share it with anyone."),
    ("netflix", "Netflix", 400, 4, "Netflix: your verification code is {code}."),
    ("paypal", "PayPal", 700, 6, "PayPal: {code} is your security code. Don't share your code."),
    ("linkedin", "LinkedIn", 380, 6, "Your LinkedIn verification code is {code}."),
    ("yahoo", "Yahoo", 250, 8, "Yahoo: use code {code} to verify your account."),
    ("viber", "Viber", 220, 6, "Your Viber code is: {code}"),
    ("wechat", "WeChat", 1200, 6, "[WeChat] Your verification code is {code}. Do not share it."),
    ("line", "LINE", 350, 6, "[LINE] Your verification code is {code}."),
    ("signal", "Signal", 650, 6, "Your Signal code: {code}\nDo not share this code"),
    ("airbnb", "Airbnb", 480, 6, "Your Airbnb verification code is: {code}."),
    ("bolt", "Bolt", 240, 4, "Your Bolt code is {code}. Do not share it."),
    ("lyft", "Lyft", 500, 6, "Your Lyft code is {code}"),
    ("tinder", "Tinder", 850, 6, "Your Tinder code is {code}. Don't share."),
    ("bumble", "Bumble", 700, 6, "Your Bumble code is {code}"),
    ("spotify", "Spotify", 230, 6, "Your Spotify code is {code}"),
    ("steam", "Steam", 300, 5, "Steam: your account verification code is {code}"),
    (
        "coinbase",
        "Coinbase",
        950,
        7,
        "Your Coinbase verification code is: {code}. Don't share this code with anyone; "
        "our employees will never ask for the code.",
    ),
    ("binance", "Binance", 800, 6, "[Binance] Verification code: {code}. Never share it."),
    ("openai", "OpenAI / ChatGPT", 1100, 6, "Your OpenAI verification code is: {code}"),
    ("yandex", "Yandex", 200, 6, "Yandex code: {code}"),
    ("shopee", "Shopee", 210, 6, "[Shopee] Your OTP is {code}. Never share it."),
    ("alibaba", "Alibaba", 320, 6, "[Alibaba] Verification code: {code}. Valid for 15 minutes."),
    ("ebay", "eBay", 450, 6, "eBay: Your security code is {code}."),
    ("booking", "Booking.com", 380, 6, "{code} is your Booking.com verification code."),
    ("revolut", "Revolut", 1000, 6, "Revolut code: {code}. Never share it."),
    ("wise", "Wise", 900, 6, "Your Wise code is {code}. Don't share it."),
    ("skype", "Skype", 180, 4, "Skype verification code: {code}"),
    ("zoom", "Zoom", 260, 6, "Your Zoom verification code is {code}."),
    ("grab", "Grab", 300, 4, "<#> {code} is your Grab verification code."),
    ("careem", "Careem", 350, 4, "Careem: {code} is your verification code."),
    ("jumia", "Jumia", 150, 6, "Your Jumia verification code is {code}."),
    ("opay", "OPay", 200, 6, "[OPay] Your OTP is {code}. Valid for 10 minutes."),
    ("paystack", "Paystack", 250, 6, "Paystack: {code} is your one-time password."),
    ("kuda", "Kuda Bank", 300, 8, "Kuda: {code} is your OTP. Don't share it with anyone."),
    ("playstation", "PlayStation", 400, 6, "{code} is your PlayStation Network code."),
    ("reddit", "Reddit", 250, 6, "Your Reddit verification code is {code}"),
    ("pinterest", "Pinterest", 200, 6, "{code} is your Pinterest code."),
    ("twitch", "Twitch", 280, 6, "Your Twitch verification code is {code}."),
)

# (ISO code, name, dialing code, national digits, mobile prefixes, price factor)
_COUNTRIES: tuple[tuple[str, str, str, int, str, str], ...] = (
    ("NG", "Nigeria", "234", 10, "803 806 810 813 816 903 906 703 706 805 807 815 802", "1.00"),
    ("US", "United States", "1", 10, "201 212 213 305 312 415 469 646 702 718 917", "2.40"),
    ("GB", "United Kingdom", "44", 10, "74 75 77 78 79", "2.20"),
    ("GH", "Ghana", "233", 9, "20 23 24 26 27 50 54 55 59", "0.90"),
    ("KE", "Kenya", "254", 9, "70 71 72 74 79 11", "0.95"),
    ("ZA", "South Africa", "27", 9, "60 61 71 72 73 74 76 78 79 81 82 83 84", "1.10"),
    ("IN", "India", "91", 10, "70 72 73 80 81 88 90 91 93 96 97 98 99", "0.70"),
    ("ID", "Indonesia", "62", 11, "812 813 821 822 852 853 857 878 895", "0.60"),
    ("PH", "Philippines", "63", 10, "905 915 917 919 927 935 945 955 966 977 995", "0.65"),
    ("BR", "Brazil", "55", 11, "119 219 319 419 519 619 719 819", "0.85"),
    ("MX", "Mexico", "52", 10, "55 33 81 222 442 664 998", "0.90"),
    ("CA", "Canada", "1", 10, "416 437 514 604 613 647 778", "2.30"),
    ("DE", "Germany", "49", 11, "151 152 157 160 162 170 171 172 176 177 179", "1.90"),
    ("FR", "France", "33", 9, "6 7", "1.80"),
    ("NL", "Netherlands", "31", 9, "6", "1.85"),
    ("ES", "Spain", "34", 9, "6 7", "1.60"),
    ("IT", "Italy", "39", 10, "320 328 333 338 340 347 349 366 388 392", "1.50"),
    ("PL", "Poland", "48", 9, "50 51 53 57 60 66 69 72 73 78 79 88", "1.20"),
    ("UA", "Ukraine", "380", 9, "50 63 66 67 68 73 93 95 96 97 98 99", "0.75"),
    ("RU", "Russia", "7", 10, "903 905 909 915 916 925 926 977 985 999", "0.80"),
    ("TR", "Turkey", "90", 10, "505 530 532 533 535 536 541 542 544 552", "1.00"),
    ("EG", "Egypt", "20", 10, "10 11 12 15", "0.70"),
    ("PK", "Pakistan", "92", 10, "300 301 302 311 312 321 333 345", "0.55"),
    ("VN", "Vietnam", "84", 9, "32 33 34 35 70 76 77 86 90 91 96 97 98", "0.60"),
    ("AE", "United Arab Emirates", "971", 9, "50 52 54 55 56 58", "2.00"),
)

# (name, price factor, share of offers out of stock, typical stock)
_PROVIDERS: tuple[tuple[str, str, float, int], ...] = (
    ("Alpha", "1.00", 0.10, 120),
    ("Beta", "0.85", 0.25, 30),
    ("Gamma", "1.20", 0.08, 200),
    ("Delta", "1.50", 0.04, 350),
)

#: Share of (service, country, provider) combinations that have an offer.
OFFER_DENSITY = 0.85


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything a client can browse. Tuples are ordered by id."""

    services: tuple[Service, ...]
    countries: tuple[Country, ...]
    providers: tuple[Provider, ...]
    offers: tuple[Offer, ...]
    _service_by_id: dict[int, Service] = field(repr=False, compare=False)
    _service_by_slug: dict[str, Service] = field(repr=False, compare=False)
    _country_by_id: dict[int, Country] = field(repr=False, compare=False)
    _provider_by_id: dict[int, Provider] = field(repr=False, compare=False)
    _offer_by_id: dict[int, Offer] = field(repr=False, compare=False)
    _offers_by_service: dict[int, tuple[Offer, ...]] = field(repr=False, compare=False)

    def service(self, service_id: int) -> Service:
        return self._service_by_id[service_id]

    def service_by_slug(self, slug: str) -> Service | None:
        return self._service_by_slug.get(slug)

    def country(self, country_id: int) -> Country | None:
        return self._country_by_id.get(country_id)

    def country_by_iso(self, iso_code: str) -> Country | None:
        iso = iso_code.upper()
        return next((c for c in self.countries if c.iso_code == iso), None)

    def provider(self, provider_id: int) -> Provider:
        return self._provider_by_id[provider_id]

    def offer(self, offer_id: int) -> Offer | None:
        return self._offer_by_id.get(offer_id)

    def offers_for_service(self, service_id: int) -> tuple[Offer, ...]:
        """The service's offers, ordered by (country id, price, offer id)."""
        return self._offers_by_service.get(service_id, ())


def _price(rng: random.Random, base: int, country_f: int, provider_f: int) -> Decimal:
    """base x factors x a 90-115 % jitter, rounded to 5 naira, sometimes +2.50, clamped.

    Integer arithmetic (factors in hundredths, the price in kobo): building ~5,000
    offers stays fast.
    """
    jitter = 90 + int(rng.random() * 26)  # 90..115 %, cheaper than randint
    raw = base * country_f * provider_f * jitter  # naira x 10**6
    naira = (raw + 2_500_000) // 5_000_000 * 5
    kobo = naira * 100 + (50 if rng.random() < 0.1 else 0)
    return _naira(min(max(kobo, _MIN_KOBO), _MAX_KOBO))


_MIN_KOBO = int(MIN_PRICE * 100)
_MAX_KOBO = int(MAX_PRICE * 100)


@cache
def _naira(kobo: int) -> Decimal:
    """The price as `Decimal("450.00")`: one object per price (a few hundred in all)."""
    return Decimal(f"{kobo // 100}.{kobo % 100:02d}")


def _stock(rng: random.Random, zero_share: float, typical: int) -> int:
    if rng.random() < zero_share:
        return 0
    return max(1, min(500, int(rng.triangular(1, 500, typical))))


def _hundredths(d: Decimal) -> int:
    return int(d * 100)


def _hostile_template(template: str, n: int) -> str:
    """An SMS template wrapped in hostile text (braces doubled: they are not fields)."""

    def literal(text: str) -> str:
        return text.replace("{", "{{").replace("}", "}}")

    return f"{literal(hostile(n))} {template} {literal(hostile(n + 1))}"


#: One offer before it is an `Offer`: (id, service id, country id, provider id, price,
#: stock).
OfferRow = tuple[int, int, int, int, Decimal, int]


@dataclass(frozen=True, slots=True)
class CatalogOptions:
    """What shapes a catalog besides its seed (`build_catalog`'s keywords)."""

    extra_offers: int = 0
    extra_offers_service: str = "whatsapp"
    extra_services: int = 0
    hostile: bool = False


#: A service's line of `GET /services`: (service, provider count, from price).
ServiceSummary = tuple[Service, int, Decimal | None]


def build_catalog(
    seed: int = 1,
    *,
    extra_offers: int = 0,
    extra_offers_service: str = "whatsapp",
    extra_services: int = 0,
    hostile: bool = False,
) -> Catalog:
    """Build the catalog for `seed`; `extra_offers` synthetic offers go to one service,
    `extra_services` synthetic services (one offer each) follow the real ones, and
    `hostile` puts hostile text (see `hostile.py`) into every name, flag and SMS."""
    options = CatalogOptions(extra_offers, extra_offers_service, extra_services, hostile)
    return catalog_for(seed, options)


def catalog_for(seed: int, options: CatalogOptions) -> Catalog:
    """`build_catalog` with its keywords in one value."""
    services, countries, providers = _parts(options)
    offers = [Offer(*row) for row in _offer_rows(seed, options, services, countries, providers)]
    offers.sort(key=lambda o: o.id)
    by_service: dict[int, list[Offer]] = {}
    for offer in offers:
        by_service.setdefault(offer.service_id, []).append(offer)
    return Catalog(
        services=services,
        countries=countries,
        providers=providers,
        offers=tuple(offers),
        _service_by_id={s.id: s for s in services},
        _service_by_slug={s.slug: s for s in services},
        _country_by_id={c.id: c for c in countries},
        _provider_by_id={p.id: p for p in providers},
        _offer_by_id={o.id: o for o in offers},
        _offers_by_service={
            sid: tuple(sorted(group, key=lambda o: (o.country_id, o.final_price, o.id)))
            for sid, group in by_service.items()
        },
    )


def summarize(
    services: Iterable[Service], offers: Iterable[tuple[int, int, Decimal, int]]
) -> list[ServiceSummary]:
    """(service, provider count, from price) for every service, from its offers as
    (service id, provider id, price, stock). The provider count: distinct providers
    with any offer. The from price: the cheapest offer that has stock; if none has
    stock, the cheapest overall (so the list still shows a price level); None without
    offers."""
    providers_of: dict[int, set[int]] = {}
    cheapest: dict[int, Decimal] = {}
    cheapest_in_stock: dict[int, Decimal] = {}
    for service_id, provider_id, price, stock in offers:
        providers_of.setdefault(service_id, set()).add(provider_id)
        if service_id not in cheapest or price < cheapest[service_id]:
            cheapest[service_id] = price
        if stock > 0 and (
            service_id not in cheapest_in_stock or price < cheapest_in_stock[service_id]
        ):
            cheapest_in_stock[service_id] = price
    return [
        (
            service,
            len(providers_of.get(service.id, ())),
            cheapest_in_stock.get(service.id, cheapest.get(service.id)),
        )
        for service in services
    ]


def initial_summary(seed: int, options: CatalogOptions) -> list[ServiceSummary]:
    """`summarize` of the catalog `catalog_for` would build, as it stands before
    anything is rented (its initial stock) — from the same offers, but without making
    an `Offer` of each or indexing them: the demo lists its services before its first
    frame, and a whole catalog is ~5,000 objects."""
    services, countries, providers = _parts(options)
    rows = _offer_rows(seed, options, services, countries, providers)
    return summarize(services, ((s, p, price, stock) for _, s, _, p, price, stock in rows))


def _parts(
    options: CatalogOptions,
) -> tuple[tuple[Service, ...], tuple[Country, ...], tuple[Provider, ...]]:
    """The services (the synthetic ones last), countries and providers."""
    hostile = options.hostile
    services = tuple(
        Service(
            i,
            slug,
            with_hostile(name, i) if hostile else name,
            Decimal(base),
            length,
            _hostile_template(template, i) if hostile else template,
        )
        for i, (slug, name, base, length, template) in enumerate(_SERVICES, start=1)
    )
    synthetic = tuple(
        Service(
            len(services) + 1 + n,
            f"service-{n + 1:04d}",
            f"Service {n + 1:04d}",
            Decimal(300),
            6,
            f"Service {n + 1:04d}: your code is {{code}}",
        )
        for n in range(max(0, options.extra_services))
    )
    countries = tuple(
        Country(
            i,
            iso,
            with_hostile(name, i + 3) if hostile else name,
            dial,
            n,
            tuple(prefixes.split()),
            Decimal(f),
            HOSTILE_FLAGS[i % len(HOSTILE_FLAGS)] if hostile and i % 2 else flag_of(iso),
        )
        for i, (iso, name, dial, n, prefixes, f) in enumerate(_COUNTRIES, start=1)
    )
    providers = tuple(
        Provider(i, with_hostile(name, i + 5) if hostile else name, Decimal(f))
        for i, (name, f, _, _) in enumerate(_PROVIDERS, start=1)
    )
    return services + synthetic, countries, providers


def _offer_rows(
    seed: int,
    options: CatalogOptions,
    services: tuple[Service, ...],
    countries: tuple[Country, ...],
    providers: tuple[Provider, ...],
) -> Iterator[OfferRow]:
    """Every offer of the catalog, in the order (and from the random draws) that make
    it the same on every run."""
    rng = random.Random(f"catalog:{seed}")
    real = services[: len(_SERVICES)]
    shaping = {i: (zero, typical) for i, (_, _, zero, typical) in enumerate(_PROVIDERS, start=1)}
    doc_slug, doc_iso, doc_provider, doc_price, doc_stock = DOC_OFFER
    # The documented offer's (service, country, provider), by id; none when hostile
    # text renamed its provider (as comparing the names always found).
    pinned = (
        next((s.id for s in real if s.slug == doc_slug), None),
        next((c.id for c in countries if c.iso_code == doc_iso), None),
        next((p.id for p in providers if p.name == doc_provider), None),
    )

    next_id = 1
    country_f = {c.id: _hundredths(c.price_factor) for c in countries}
    provider_f = {p.id: _hundredths(p.price_factor) for p in providers}
    for service in real:
        base = int(service.base_price)
        sold_out = service.slug == SOLD_OUT_SERVICE
        any_offer = False
        for country in countries:
            for provider in providers:
                present = rng.random() < OFFER_DENSITY
                if (service.id, country.id, provider.id) == pinned:
                    any_offer = True
                    yield (DOC_OFFER_ID, service.id, country.id, provider.id, doc_price, doc_stock)
                    continue
                if not present and any_offer:
                    continue
                price = _price(rng, base, country_f[country.id], provider_f[provider.id])
                stock = _stock(rng, *shaping[provider.id])
                if next_id == DOC_OFFER_ID:
                    next_id += 1
                any_offer = True
                yield (
                    next_id,
                    service.id,
                    country.id,
                    provider.id,
                    price,
                    0 if sold_out else stock,
                )
                next_id += 1

    if options.extra_offers > 0:
        target = next(s for s in real if s.slug == options.extra_offers_service)
        extra_rng = random.Random(f"catalog-extra:{seed}")
        for n in range(options.extra_offers):
            country = countries[n % len(countries)]
            provider = providers[(n // len(countries)) % len(providers)]
            price = _price(
                extra_rng, int(target.base_price), country_f[country.id], provider_f[provider.id]
            )
            stock = _stock(extra_rng, *shaping[provider.id])
            yield (next_id, target.id, country.id, provider.id, price, stock)
            next_id += 1

    if options.extra_services > 0:
        extra_rng = random.Random(f"catalog-services:{seed}")
        for n, service in enumerate(services[len(_SERVICES) :]):
            country = countries[n % len(countries)]
            provider = providers[n % len(providers)]
            price = _price(extra_rng, 300, country_f[country.id], provider_f[provider.id])
            yield (next_id, service.id, country.id, provider.id, price, 10)
            next_id += 1
