"""Property tests of the parsing layer (issue 11), through the real client.

Whatever the server puts in whatever field of whatever endpoint's answer — any JSON
value, numbers no Decimal should hold (`1e999999999999`, 5,000 digits), a field
removed, an unknown field added, a row that is not an object — the client returns the
endpoint's typed model or raises an `ApiError` with a message. Nothing else: no
`MemoryError`, `InvalidOperation`, `KeyError`, no hang. What it returns is usable: every
amount is a finite `Decimal` within the bounds and formats, every timestamp is aware.

The bodies go over `httpx.MockTransport` as JSON *text*, so the decoder's own bounds
are exercised too. Run with `--hypothesis-show-statistics` to see the examples run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rentnumber_tui.api import ApiError, RentNumberClient, RequestScheduler
from rentnumber_tui.api.models import (
    Balance,
    CancelResult,
    PriceList,
    RentalState,
    RentalStatus,
    RentedNumber,
    Rows,
)
from rentnumber_tui.api.parsing import MAX_AMOUNT
from rentnumber_tui.core.money import format_money
from tests.api.conftest import API_KEY, BASE_URL
from tests.json_text import edited

STAMP = "2026-04-12T15:30:00Z"
RENTAL_ROW = {
    "rental_id": 1001,
    "service": "WhatsApp",
    "country": "Nigeria",
    "provider": "Alpha",
    "phone": "+2348012345678",
    "status": "completed",
    "cost": 450,
    "created_at": "2026-04-12 14:30:00",
}

#: Each endpoint: a documented answer (spec examples, trimmed) and the call that reads it.
ENDPOINTS: dict[str, tuple[dict[str, Any], Callable[[RentNumberClient], Awaitable[Any]], type]] = {
    "GET /balance": (
        {"success": True, "balance": 5000, "currency": "NGN"},
        lambda c: c.balance(),
        Balance,
    ),
    "GET /services": (
        {
            "success": True,
            "data": [
                {
                    "id": 1,
                    "slug": "whatsapp",
                    "name": "WhatsApp",
                    "provider_count": 3,
                    "min_price": 210,
                },
                {
                    "id": 2,
                    "slug": "telegram",
                    "name": "Telegram",
                    "provider_count": 1,
                    "min_price": None,
                },
            ],
        },
        lambda c: c.services(),
        Rows,
    ),
    "GET /countries": (
        {
            "success": True,
            "data": [
                {"id": 1, "iso_code": "NG", "name": "Nigeria", "flag": "🇳🇬"},
                {"id": 2, "iso_code": "GH", "name": "Ghana", "flag": "🇬🇭"},
            ],
        },
        lambda c: c.countries(),
        Rows,
    ),
    "GET /services/{slug}/prices": (
        {
            "success": True,
            "service": {"id": 1, "slug": "whatsapp", "name": "WhatsApp"},
            "data": [
                {
                    "id": 11,
                    "final_price": 450,
                    "stock": 12,
                    "provider_id": 3,
                    "provider_name": "Alpha",
                    "country_id": 1,
                    "country_name": "Nigeria",
                    "iso_code": "NG",
                },
                {
                    "id": 12,
                    "final_price": 510,
                    "stock": 0,
                    "provider_id": 4,
                    "provider_name": "Beta",
                    "country_id": 1,
                    "country_name": "Nigeria",
                    "iso_code": "NG",
                },
            ],
        },
        lambda c: c.prices("whatsapp"),
        PriceList,
    ),
    "POST /rent": (
        {
            "success": True,
            "rental_id": 1001,
            "phone": "+2348012345678",
            "cost": 450,
            "status": "waiting",
            "expires_at": STAMP,
        },
        lambda c: c.rent(11),
        RentedNumber,
    ),
    "GET /rental/{id}": (
        {
            "success": True,
            "rental_id": 1001,
            "phone": "+2348012345678",
            "status": "received",
            "code": "123456",
            "sms": "Your code is 123456",
            "cost": 450,
            "created_at": "2026-04-12 14:30:00",
            "expires_at": STAMP,
        },
        lambda c: c.rental(1001),
        RentalState,
    ),
    "POST /rental/{id}/cancel": (
        {"success": True, "status": "cancelled", "refunded": True, "amount": 450},
        lambda c: c.cancel(1001),
        CancelResult,
    ),
    "GET /rentals": (
        {"success": True, "data": [RENTAL_ROW, dict(RENTAL_ROW, rental_id=1002)]},
        lambda c: c.rentals(),
        Rows,
    ),
}

# -- JSON text ---------------------------------------------------------------------------

#: Numbers as the wire carries them, including those no amount can be.
NUMBER_TEXTS = st.one_of(
    st.integers().map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,15})?", fullmatch=True),
    st.sampled_from(
        [
            "1e999999999999",
            "-1e999999999999",
            "1e-999999999999",
            "1E+12",
            "999999999999.99",
            "0.000000000001",
            "-0",
            "1.0e2",
        ]
    ),
    st.integers(19, 6000).map(lambda n: "9" * n),  # past the 18 digits an id may have
    st.integers(13, 200).map(lambda n: "0." + "0" * n + "1"),  # past 12 decimals
)
PLAUSIBLE_TEXTS = st.sampled_from(
    [
        STAMP,
        "2026-04-12",
        "2026-04-12 14:30",
        "yesterday",
        "",
        " ",
        "waiting",
        "on_hold",
        "received",
        "123456",
        "NGN",
        "₦",
        "<b>x</b>",
        "\x1b]52;c;aGk=\x07",
        "null",
        "1e999999999999",
    ]
)
SCALARS = st.one_of(
    st.just("null"),
    st.just("true"),
    st.just("false"),
    NUMBER_TEXTS,
    PLAUSIBLE_TEXTS.map(json.dumps),
    st.text(max_size=40).map(json.dumps),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(st.text(max_size=10).map(json.dumps), inner, max_size=4).map(
            lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a body: each key of each object, each item of each list."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


#: What goes into a field: numbers half the time (they are where Decimal can be made to
#: exhaust memory), any JSON value the rest.
FIELD_VALUES = st.one_of(NUMBER_TEXTS, NUMBER_TEXTS, SCALARS, JSON_VALUES)


def changes_for(body: dict[str, Any]) -> st.SearchStrategy[list[tuple[tuple[Any, ...], str, str]]]:
    return st.lists(
        st.tuples(
            st.sampled_from(paths(body)),
            st.sampled_from(["replace", "replace", "replace", "remove", "add"]),
            FIELD_VALUES,
        ),
        min_size=1,
        max_size=3,
    )


# -- what a result must be ---------------------------------------------------------------


def check_usable(value: Any, where: str = "result") -> None:
    """Every amount finite, bounded and formattable; timestamps aware; text is text."""
    if isinstance(value, Decimal):
        assert value.is_finite() and abs(value) < MAX_AMOUNT, where
        assert format_money(value).count(".") == 1, where
    elif isinstance(value, bool | int):
        assert not isinstance(value, bool) or where.endswith("refunded"), where
    elif isinstance(value, datetime):
        assert value.utcoffset() is not None, where
    elif isinstance(value, RentalStatus):
        assert isinstance(value.value, str) and value.value.strip(), where
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            check_usable(item, f"{where}[{i}]")
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            check_usable(getattr(value, field.name), f"{where}.{field.name}")
    else:
        assert value is None or isinstance(value, str), (where, value)


class Wire:
    """One client for every example; the transport answers with the current text."""

    def __init__(self) -> None:
        self.text = ""
        self.status = 200
        self.client = RentNumberClient(
            api_key=API_KEY,
            base_url=BASE_URL,
            transport=httpx.MockTransport(self._answer),
            max_retries=0,
            scheduler=RequestScheduler(max_requests=1_000_000, per=1.0),  # no waiting
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            self.status, content=self.text.encode(), headers={"content-type": "application/json"}
        )

    async def read(
        self, call: Callable[[RentNumberClient], Awaitable[Any]], model: type
    ) -> Any | ApiError:
        """The model the call returned (checked usable), or the ApiError it raised."""
        try:
            result = await call(self.client)
        except ApiError as error:
            assert isinstance(error.message, str) and error.message.strip()
            assert API_KEY not in error.message
            return error
        assert isinstance(result, model), type(result)
        check_usable(result)
        return result


def rows_of(result: Any) -> Rows[Any]:
    return result.offers if isinstance(result, PriceList) else result


PROPERTY = settings(
    max_examples=150,
    deadline=None,  # a loaded CI machine must not turn slowness into a failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
async def wire():
    wire = Wire()
    yield wire
    await wire.client.aclose()


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@PROPERTY
@given(data=st.data())
async def test_any_value_in_any_field_gives_a_model_or_an_api_error(wire, endpoint, data):
    body, call, model = ENDPOINTS[endpoint]
    changes = data.draw(changes_for(body), label="changes")
    wire.text = edited(body, changes)
    result = await wire.read(call, model)
    rows = {path[1] for path, _, _ in changes if path[0] == "data" and len(path) > 1}
    if len(rows) == 1 and all(len(path) > 1 and path[0] == "data" for path, _, _ in changes):
        # Only one row was touched: the other is still read, and the bad one counted.
        assert not isinstance(result, ApiError), result.message
        read = rows_of(result)
        assert len(read) >= 1 and len(read) + read.skipped == len(body["data"])


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@PROPERTY
@given(
    text=st.one_of(JSON_VALUES, st.text(max_size=200)),
    status=st.sampled_from([200, 200, 201, 204, 400, 401, 402, 404, 409, 422, 500, 502, 503]),
)
async def test_any_answer_at_all_gives_a_model_or_an_api_error(wire, endpoint, text, status):
    _, call, model = ENDPOINTS[endpoint]
    wire.text, wire.status = text, status
    await wire.read(call, model)


async def test_the_documented_answers_are_read(wire):
    """The property's baseline: unchanged, every body gives its model (so the tests
    above are not passing on errors alone)."""
    for body, call, model in ENDPOINTS.values():
        wire.text = json.dumps(body)
        result = await call(wire.client)
        assert isinstance(result, model)
        check_usable(result)


# -- money formatting --------------------------------------------------------------------

DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
        st.integers(0, 1),
        st.lists(st.integers(0, 9), min_size=1, max_size=60),
        st.integers(-999_999_999_999, 999_999_999_999),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(amount=DECIMALS, currency=st.sampled_from(["NGN", "USD"]))
def test_money_formats_any_decimal(amount, currency):
    shown = format_money(amount, currency)
    assert isinstance(shown, str) and shown
    if amount.is_finite() and amount.adjusted() < 100:
        # Exactly two decimals, rounded half-up, and it reads back as that amount.
        sign, number = shown[:1] == "-", shown.lstrip("-").removeprefix("₦")
        number = number.removeprefix("USD ").replace(",", "")
        assert len(number.split(".")[1]) == 2
        exact = Context(prec=200, rounding=ROUND_HALF_UP)
        expected = amount.copy_abs().quantize(Decimal("0.01"), context=exact)
        assert Decimal(number) == expected
        assert sign == (expected != 0 and amount < 0)
    elif amount.is_finite():
        assert "too large" in shown or shown.count(".") == 1


@settings(max_examples=300, deadline=None)
@given(amount=DECIMALS, currency=st.text(max_size=12))
def test_money_with_any_currency_text_stays_one_clean_line(amount, currency):
    shown = format_money(amount, currency)
    assert shown and not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in shown)
