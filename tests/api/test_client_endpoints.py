"""Each endpoint: what the client sends (method, path, key, body) and what it returns."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from rentnumber_tui.api import (
    InsecureTransport,
    Priority,
    RentalStatus,
    RentNumberClient,
    Unauthorized,
)

from .conftest import API_KEY, BASE_URL, respond

BALANCE = '{"success": true, "balance": 0.30, "currency": "NGN"}'
SERVICES = (
    '{"success": true, "data": [{"id": 1, "slug": "whatsapp", "name": "WhatsApp",'
    ' "provider_count": 3, "min_price": 450.10}]}'
)
COUNTRIES = (
    '{"success": true, "data": [{"id": 1, "iso_code": "NG", "name": "Nigeria", "flag": "x"}]}'
)
PRICES = (
    '{"success": true, "service": {"id": 1, "slug": "whatsapp", "name": "WhatsApp"},'
    ' "data": [{"id": 42, "final_price": 0.10, "stock": 120, "provider_id": 1,'
    ' "provider_name": "Alpha", "country_id": 1, "country_name": "Nigeria", "iso_code": "NG"},'
    ' {"id": 43, "final_price": 0.20, "stock": 5, "provider_id": 2,'
    ' "provider_name": "Beta", "country_id": 1, "country_name": "Nigeria", "iso_code": "NG"}]}'
)
RENT = (
    '{"success": true, "rental_id": 101, "phone": "+2348012345678", "cost": 450.00,'
    ' "status": "waiting", "expires_at": "2026-04-12T15:30:00Z"}'
)
RENTAL = (
    '{"success": true, "rental_id": 101, "phone": "+2348012345678", "status": "received",'
    ' "code": "123456", "sms": "Your verification code is 123456", "cost": 450.00,'
    ' "created_at": "2026-04-12 14:30:00", "expires_at": "2026-04-12 14:45:00"}'
)
CANCEL = '{"success": true, "status": "refunded", "refunded": true, "amount": 450.00}'
RENTALS = (
    '{"success": true, "data": [{"rental_id": 101, "service": "WhatsApp", "country": "Nigeria",'
    ' "provider": "Alpha", "phone": "+2348012345678", "status": "mystery", "cost": 450.00,'
    ' "created_at": "2026-04-12 14:30:00"}]}'
)


def route(request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix("/api/v1")
    if request.method == "GET" and path == "/balance":
        return respond(text=BALANCE)
    if request.method == "GET" and path == "/services":
        return respond(text=SERVICES)
    if request.method == "GET" and path == "/countries":
        return respond(text=COUNTRIES)
    if request.method == "GET" and path.endswith("/prices"):
        return respond(text=PRICES)
    if request.method == "POST" and path == "/rent":
        return respond(text=RENT)
    if request.method == "GET" and path.startswith("/rental/"):
        return respond(text=RENTAL)
    if request.method == "POST" and path.endswith("/cancel"):
        return respond(text=CANCEL)
    if request.method == "GET" and path == "/rentals":
        return respond(text=RENTALS)
    return respond({"success": False, "error": "no route"}, 404)


async def test_balance(make_client) -> None:
    client, rec = make_client(route)
    balance = await client.balance()
    assert balance.amount == Decimal("0.30") and balance.currency == "NGN"
    (request,) = rec.requests
    assert request.method == "GET" and str(request.url) == f"{BASE_URL}/balance"
    assert request.headers["X-API-KEY"] == API_KEY


async def test_services_and_countries_send_no_key(make_client) -> None:
    client, rec = make_client(route)
    services = await client.services()
    countries = await client.countries()
    assert services[0].min_price == Decimal("450.10")
    assert countries[0].iso_code == "NG"
    assert [r.url.path for r in rec.requests] == ["/api/v1/services", "/api/v1/countries"]
    assert all("x-api-key" not in r.headers for r in rec.requests)


async def test_catalog_works_without_any_key(make_client) -> None:
    client, rec = make_client(route, api_key=None)
    assert not client.has_key
    assert len(await client.services()) == 1
    assert len((await client.prices("whatsapp")).offers) == 2
    assert rec.count == 2


async def test_prices_without_and_with_country(make_client) -> None:
    client, rec = make_client(route)
    prices = await client.prices("whatsapp")
    await client.prices("whatsapp", country_id=1)
    assert prices.offers[0].price + prices.offers[1].price == Decimal("0.30")
    assert rec.requests[0].url.path == "/api/v1/services/whatsapp/prices"
    assert rec.requests[0].url.query == b""
    assert rec.requests[1].url.params["country_id"] == "1"
    assert all("x-api-key" not in r.headers for r in rec.requests)


async def test_prices_quotes_the_slug(make_client) -> None:
    client, rec = make_client(route)
    await client.prices("a/b c?d#e")
    assert rec.requests[0].url.raw_path == b"/api/v1/services/a%2Fb%20c%3Fd%23e/prices"


async def test_prices_rejects_empty_slug(make_client) -> None:
    client, rec = make_client(route)
    with pytest.raises(ValueError):
        await client.prices("")
    assert rec.count == 0


async def test_rent_posts_form_encoded_pricing_id(make_client) -> None:
    client, rec = make_client(route)
    rented = await client.rent(42)
    assert rented.rental_id == 101 and rented.status is RentalStatus.WAITING
    assert rented.expires_at == datetime(2026, 4, 12, 15, 30, tzinfo=UTC)
    (request,) = rec.requests
    assert request.method == "POST" and request.url.path == "/api/v1/rent"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"pricing_id": ["42"]}
    assert request.headers["X-API-KEY"] == API_KEY


async def test_rental(make_client) -> None:
    client, rec = make_client(route)
    state = await client.rental(101)
    assert state.code == "123456" and state.status is RentalStatus.RECEIVED
    assert state.expires_at == datetime(2026, 4, 12, 14, 45, tzinfo=UTC)
    assert rec.requests[0].url.path == "/api/v1/rental/101"
    assert rec.requests[0].headers["X-API-KEY"] == API_KEY


async def test_cancel_posts_without_body(make_client) -> None:
    client, rec = make_client(route)
    result = await client.cancel(101)
    assert result.refunded and result.amount == Decimal("450.00")
    (request,) = rec.requests
    assert request.method == "POST" and request.url.path == "/api/v1/rental/101/cancel"
    assert request.content == b""
    assert request.headers["X-API-KEY"] == API_KEY


async def test_rentals_keeps_unknown_status(make_client) -> None:
    client, rec = make_client(route)
    (entry,) = await client.rentals()
    assert entry.status == "mystery" and not entry.status.is_known
    assert rec.requests[0].headers["X-API-KEY"] == API_KEY


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.balance(),
        lambda c: c.rent(42),
        lambda c: c.rental(101),
        lambda c: c.cancel(101),
        lambda c: c.rentals(),
    ],
    ids=["balance", "rent", "rental", "cancel", "rentals"],
)
async def test_keyed_endpoint_without_key_sends_nothing(make_client, call) -> None:
    client, rec = make_client(route, api_key=None)
    with pytest.raises(Unauthorized) as info:
        await call(client)
    assert info.value.message.startswith("No API key is set")
    assert rec.count == 0


async def test_key_is_settable(make_client) -> None:
    client, rec = make_client(route, api_key=None)
    client.api_key = f"  {API_KEY}\n"
    assert client.has_key and client.api_key == API_KEY
    await client.balance()
    assert rec.requests[0].headers["X-API-KEY"] == API_KEY
    client.api_key = ""
    assert not client.has_key


async def test_key_with_control_characters_is_refused_locally(make_client) -> None:
    client, rec = make_client(route, api_key="rn_abc\x00def")
    with pytest.raises(Unauthorized):
        await client.balance()
    assert rec.count == 0


@pytest.mark.parametrize(
    ("base_url", "transport_kind", "allowed"),
    [
        ("http://api.example.test/api/v1", "socket", False),
        ("http://127.0.0.1:8080/api/v1", "socket", True),
        ("http://localhost:8080/api/v1", "socket", True),
        ("http://[::1]:8080/api/v1", "socket", True),
        # The edge cases where the client and the settings check used to disagree.
        ("http://[::ffff:127.0.0.1]:8080/api/v1", "socket", True),
        ("http://2130706433:8080/api/v1", "socket", True),
        ("http://127.1:8080/api/v1", "socket", True),
        ("http://foo.localhost:8080/api/v1", "socket", False),
        ("http://[::ffff:10.0.0.1]:8080/api/v1", "socket", False),
        ("https://api.example.test/api/v1", "socket", True),
        ("http://sandbox/api/v1", "in-process", True),
    ],
)
async def test_key_travels_only_over_https_loopback_or_in_process(
    scheduler, base_url: str, transport_kind: str, allowed: bool
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return route(request)

    class SocketLike(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return handler(request)

    transport = SocketLike() if transport_kind == "socket" else httpx.MockTransport(handler)
    async with RentNumberClient(
        API_KEY, base_url, transport=transport, scheduler=scheduler
    ) as client:
        if allowed:
            await client.balance()
            assert len(sent) == 1
        else:
            with pytest.raises(InsecureTransport) as info:
                await client.balance()
            assert sent == []
            assert API_KEY not in info.value.message
            await client.services()  # no key involved: fine
            assert len(sent) == 1


async def test_default_priorities(make_client, scheduler, monkeypatch) -> None:
    seen: list[Priority] = []
    original = scheduler.slot

    def spy(priority: Priority = Priority.USER):
        seen.append(priority)
        return original(priority)

    monkeypatch.setattr(scheduler, "slot", spy)
    client, _ = make_client(route)
    await client.balance()
    await client.services()
    await client.countries()
    await client.prices("whatsapp")
    await client.rent(42)
    await client.rental(101)
    await client.cancel(101)
    await client.rentals()
    await client.rental(101, priority=Priority.USER)
    await client.services(priority=Priority.BACKGROUND)
    U, B = Priority.USER, Priority.BACKGROUND
    assert seen == [U, U, U, U, U, B, U, U, U, B]


async def test_date_header_feeds_server_clock(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(text=BALANCE, headers={"Date": "Sun, 12 Apr 2026 14:30:00 GMT"})

    client, _ = make_client(handler)
    assert client.server_clock.samples == 0
    await client.balance()
    assert client.server_clock.samples == 1
    server_now = client.server_clock.now()
    assert abs((server_now - datetime(2026, 4, 12, 14, 30, 0, tzinfo=UTC)).total_seconds()) < 2


async def test_client_reopens_after_aclose(make_client) -> None:
    client, rec = make_client(route)
    await client.balance()
    await client.aclose()
    await client.balance()
    assert rec.count == 2


@pytest.mark.parametrize(
    "bad", ["", "ftp://x/api", "not a url", "https://", "https://h/api?x=1", "https://u:p@h/"]
)
def test_unusable_base_url_is_refused_at_construction(bad: str) -> None:
    with pytest.raises(ValueError):
        RentNumberClient(API_KEY, bad)


def test_repr_hides_key() -> None:
    client = RentNumberClient(API_KEY, BASE_URL)
    assert API_KEY not in repr(client) and "has_key=True" in repr(client)


def test_base_url_is_fixed_per_client() -> None:
    client = RentNumberClient(None, "https://api.example.test/api/v1/")
    assert client.base_url == "https://api.example.test/api/v1"
    with pytest.raises(AttributeError):
        client.base_url = "http://elsewhere/api/v1"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("base_url", "loads_the_authorities"),
    [("http://127.0.0.1:8765/api/v1", False), ("https://v2.rentnumber.net/api/v1", True)],
)
def test_a_plain_http_client_trusts_no_authority_instead_of_loading_them(
    monkeypatch: pytest.MonkeyPatch, base_url: str, loads_the_authorities: bool
) -> None:
    """Loading the CA bundle is ~25 ms of a cold start; a client of an http:// base URL
    never makes a TLS connection, and should one be tried it must fail, not trust."""
    import ssl

    made: list[object] = []
    real = httpx.AsyncClient

    def capture(**kwargs: object) -> httpx.AsyncClient:
        made.append(kwargs["verify"])
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "AsyncClient", capture)
    RentNumberClient(api_key=API_KEY, base_url=base_url)._client()
    (verify,) = made
    if loads_the_authorities:
        assert verify is True
    else:
        assert isinstance(verify, ssl.SSLContext)
        assert verify.verify_mode == ssl.CERT_REQUIRED and verify.check_hostname
        assert verify.cert_store_stats()["x509_ca"] == 0
