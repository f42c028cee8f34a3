"""Every way a request can fail becomes the right `ApiError`, with a message a person can
act on, the server's text verbatim, and never the API key."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from rentnumber_tui.api import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    InsufficientBalance,
    InvalidResponse,
    NotFound,
    OutOfStock,
    ProviderError,
    RentOutcomeUnknown,
    RequestTimeout,
    ServerError,
    Throttled,
    Unauthorized,
)

from .conftest import API_KEY, respond

HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
GOOD_BALANCE = '{"success": true, "balance": 10.00, "currency": "NGN"}'


def raises(exc_type: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)

    return handler


def crash(request: httpx.Request) -> httpx.Response:
    raise RuntimeError("the in-process app fell over")


async def hang(request: httpx.Request) -> httpx.Response:
    """A server far slower than the client's timeout (bounded, so that a client that
    stopped enforcing its timeout fails the test instead of hanging it)."""
    await asyncio.sleep(3)
    return respond(text=GOOD_BALANCE)


@dataclass
class Case:
    handler: Callable[[httpx.Request], object]
    error: type[ApiError]
    fragments: tuple[str, ...] = ()
    status: int | None = None
    server_text: str | None = None


CASES: dict[str, Case] = {
    "html_502": Case(lambda r: respond(text=HTML, status=502), ProviderError, ("502",), 502),
    "html_200": Case(
        lambda r: respond(text=HTML),
        InvalidResponse,
        (
            "The server answered GET /balance with something that is not JSON (an HTML page?) "
            "— status 200",
        ),
        200,
    ),
    "truncated_json": Case(
        lambda r: respond(text=GOOD_BALANCE[:30]),
        InvalidResponse,
        ("GET /balance", "cut off"),
        200,
    ),
    "wrong_types": Case(
        lambda r: respond({"success": True, "balance": "10.00", "currency": 566}),
        InvalidResponse,
        ("GET /balance", "'balance' as text"),
    ),
    "missing_fields": Case(
        lambda r: respond({"success": True, "currency": "NGN"}),
        InvalidResponse,
        ("The server's answer to GET /balance is missing the field 'balance'",),
    ),
    "success_false_200": Case(
        lambda r: respond({"success": False, "error": "Maintenance <b>now</b>"}),
        InvalidResponse,
        ("Maintenance <b>now</b>", "200"),
        200,
        "Maintenance <b>now</b>",
    ),
    "401": Case(
        lambda r: respond({"success": False, "error": "Invalid API key"}, 401),
        Unauthorized,
        ("401", "API key"),
        401,
        "Invalid API key",
    ),
    "404": Case(
        lambda r: respond({"success": False, "error": "Not found"}, 404),
        NotFound,
        ("GET /balance", "404"),
        404,
        "Not found",
    ),
    "insufficient_balance": Case(
        lambda r: respond({"success": False, "error": "Insufficient balance. Need ₦450.00"}, 400),
        InsufficientBalance,
        ("Insufficient balance. Need ₦450.00", "balance is too low"),
        400,
        "Insufficient balance. Need ₦450.00",
    ),
    "out_of_stock": Case(
        lambda r: respond({"success": False, "error": "No STOCK left for this offer"}, 400),
        OutOfStock,
        ("out of stock", "No STOCK left for this offer"),
        400,
        "No STOCK left for this offer",
    ),
    "other_400": Case(
        lambda r: respond({"success": False, "error": "pricing_id is required"}, 400),
        BadRequest,
        ("pricing_id is required", "status 400"),
        400,
        "pricing_id is required",
    ),
    "400_html": Case(
        lambda r: respond(text=HTML, status=400), BadRequest, ("without saying why",), 400
    ),
    "422": Case(
        lambda r: respond({"success": False, "error": "invalid"}, 422),
        BadRequest,
        ("422", '"invalid"'),
        422,
        "invalid",
    ),
    "429_seconds": Case(
        lambda r: respond(
            {"success": False, "error": "slow down"}, 429, headers={"Retry-After": "7"}
        ),
        Throttled,
        ("429", "7 s"),
        429,
        "slow down",
    ),
    "500": Case(lambda r: respond({"success": False}, 500), ServerError, ("500",), 500),
    "503_html": Case(lambda r: respond(text=HTML, status=503), ServerError, ("503",), 503),
    "301": Case(
        lambda r: httpx.Response(301, headers={"Location": "https://elsewhere/"}),
        InvalidResponse,
        ("redirect", "base URL"),
        301,
    ),
    "read_timeout": Case(raises(httpx.ReadTimeout), RequestTimeout, ("No answer", "GET /balance")),
    "connect_timeout": Case(raises(httpx.ConnectTimeout), RequestTimeout, ("No answer",)),
    "own_timeout": Case(hang, RequestTimeout, ("within 0.05 seconds",)),
    "connection_refused": Case(
        raises(httpx.ConnectError), ConnectionFailed, ("Could not connect", "api.example.test")
    ),
    "read_error": Case(raises(httpx.ReadError), ConnectionFailed, ("connection",)),
    "remote_protocol_error": Case(raises(httpx.RemoteProtocolError), ConnectionFailed),
    "app_crash": Case(crash, ConnectionFailed, ("RuntimeError",)),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_get_errors(make_client, name: str) -> None:
    case = CASES[name]
    client, rec = make_client(case.handler, max_retries=0, timeout=0.05)
    with pytest.raises(ApiError) as info:
        await client.balance()
    error = info.value
    assert type(error) is case.error
    for fragment in case.fragments:
        assert fragment in error.message
    assert error.status_code == case.status
    assert error.server_text == case.server_text
    assert str(error) == error.message
    assert rec.count == 1
    assert error.__class__.__module__ == "rentnumber_tui.api.errors"


async def test_429_retry_after_http_date(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return respond(
            {"success": False, "error": "throttled"},
            429,
            headers={
                "Date": "Sun, 12 Apr 2026 14:30:00 GMT",
                "Retry-After": "Sun, 12 Apr 2026 14:30:30 GMT",
            },
        )

    client, _ = make_client(handler, max_retries=0)
    with pytest.raises(Throttled) as info:
        await client.services()
    assert info.value.retry_after == 30.0


@pytest.mark.parametrize("header", [None, "soon", ""])
async def test_429_without_usable_retry_after(make_client, header: str | None) -> None:
    headers = {"Retry-After": header} if header is not None else None
    client, _ = make_client(
        lambda r: respond({"success": False}, 429, headers=headers), max_retries=0
    )
    with pytest.raises(Throttled) as info:
        await client.services()
    assert info.value.retry_after is None


async def test_success_false_with_error_status_uses_status_class(make_client) -> None:
    client, _ = make_client(lambda r: respond({"success": False, "error": "gone"}, 404))
    with pytest.raises(NotFound) as info:
        await client.rental(5)
    assert info.value.server_text == "gone"


# -- POST /rent: never retried; unknown outcomes say so -----------------------------------


UNKNOWN_RENT_CASES = {
    "timeout": (raises(httpx.ReadTimeout), RequestTimeout),
    "own_timeout": (hang, RequestTimeout),
    "write_timeout": (raises(httpx.WriteTimeout), RequestTimeout),
    "read_error": (raises(httpx.ReadError), ConnectionFailed),
    "remote_protocol_error": (raises(httpx.RemoteProtocolError), ConnectionFailed),
    "app_crash": (crash, ConnectionFailed),
    "502_html": (lambda r: respond(text=HTML, status=502), ProviderError),
    "500": (lambda r: respond({"success": False, "error": "boom"}, 500), ServerError),
    "503": (lambda r: respond(text="", status=503), ServerError),
    "truncated_200": (
        lambda r: respond(text='{"success": true, "rental_id": 101, "pho'),
        InvalidResponse,
    ),
    "html_200": (lambda r: respond(text=HTML), InvalidResponse),
    "missing_fields_200": (
        lambda r: respond({"success": True, "rental_id": 101}),
        InvalidResponse,
    ),
}


@pytest.mark.parametrize("name", list(UNKNOWN_RENT_CASES))
async def test_rent_outcome_unknown(make_client, sleeps, name: str) -> None:
    handler, cause = UNKNOWN_RENT_CASES[name]
    client, rec = make_client(handler, timeout=0.05)
    with pytest.raises(RentOutcomeUnknown) as info:
        await client.rent(42)
    assert rec.count == 1
    assert sleeps == []
    assert type(info.value.cause) is cause
    assert "may or may not have been rented" in info.value.message
    assert "checked" in info.value.message


@pytest.mark.parametrize(
    ("exc_type", "expected"),
    [
        (httpx.ConnectError, ConnectionFailed),
        (httpx.ConnectTimeout, RequestTimeout),
        (httpx.PoolTimeout, RequestTimeout),
    ],
)
async def test_rent_nothing_sent_is_a_plain_error(make_client, exc_type, expected) -> None:
    client, rec = make_client(raises(exc_type))
    with pytest.raises(ApiError) as info:
        await client.rent(42)
    assert type(info.value) is expected
    assert rec.count == 1


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            respond({"success": False, "error": "Insufficient balance. Need ₦450.00"}, 400),
            InsufficientBalance,
        ),
        (respond({"success": False, "error": "Out of stock"}, 400), OutOfStock),
        (respond({"success": False, "error": "Pricing not found"}, 404), NotFound),
        (respond({"success": False, "error": "Unauthenticated."}, 401), Unauthorized),
        (respond({"success": False, "error": "Nope"}), InvalidResponse),
        (respond({"success": False}, 429, headers={"Retry-After": "1"}), Throttled),
    ],
)
async def test_rent_refusals_are_plain_errors(make_client, sleeps, response, expected) -> None:
    client, rec = make_client(lambda r: response)
    with pytest.raises(ApiError) as info:
        await client.rent(42)
    assert type(info.value) is expected
    assert rec.count == 1 and sleeps == []


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (raises(httpx.ReadTimeout), RequestTimeout),
        (raises(httpx.ReadError), ConnectionFailed),
        (lambda r: respond(text=HTML, status=502), ProviderError),
        (lambda r: respond({"success": False, "error": "Rental already final"}, 400), BadRequest),
    ],
)
async def test_cancel_is_not_retried(make_client, sleeps, handler, expected) -> None:
    client, rec = make_client(handler)
    with pytest.raises(ApiError) as info:
        await client.cancel(101)
    assert type(info.value) is expected
    assert rec.count == 1 and sleeps == []


# -- the key never leaks ------------------------------------------------------------------


ECHOING = {
    "400": lambda r: respond({"success": False, "error": f"Bad key {API_KEY}!"}, 400),
    "401": lambda r: respond({"success": False, "error": f"Key {API_KEY} revoked"}, 401),
    "200_false": lambda r: respond({"success": False, "message": f"{API_KEY} suspended"}),
    "500": lambda r: respond({"success": False, "error": f"trace: key={API_KEY}"}, 500),
    "429": lambda r: respond({"error": API_KEY}, 429, headers={"Retry-After": "0.01"}),
}


@pytest.mark.parametrize("echo", list(ECHOING))
@pytest.mark.parametrize("endpoint", ["balance", "rent", "rental", "cancel", "rentals"])
async def test_key_never_in_errors_or_logs(make_client, caplog, echo: str, endpoint: str) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = make_client(ECHOING[echo], max_retries=1)
    call = {
        "balance": client.balance,
        "rent": lambda: client.rent(42),
        "rental": lambda: client.rental(101),
        "cancel": lambda: client.cancel(101),
        "rentals": client.rentals,
    }[endpoint]
    with pytest.raises(ApiError) as info:
        await call()
    errors = [info.value, getattr(info.value, "cause", None)]
    for error in filter(None, errors):
        for text in (str(error), repr(error), error.message, error.server_text or ""):
            assert API_KEY not in text
    assert "rn_…c4f2" in (info.value.server_text or "")
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(client) and API_KEY not in repr(client.health)


@pytest.mark.parametrize("name", list(CASES))
async def test_key_never_in_any_error_class(make_client, caplog, name: str) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = make_client(CASES[name].handler, max_retries=0, timeout=0.05)
    with pytest.raises(ApiError) as info:
        await client.rentals()
    for text in (str(info.value), repr(info.value), info.value.server_text or ""):
        assert API_KEY not in text
    assert API_KEY not in caplog.text
