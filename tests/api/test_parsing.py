"""Parsing the server's JSON into models: exact money, both timestamp shapes, unknown
statuses kept, and precise messages for everything malformed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rentnumber_tui.api import InvalidResponse, RentalStatus
from rentnumber_tui.api import parsing as p


def test_loads_keeps_decimals_exact() -> None:
    body = p.loads('{"a": 0.1, "b": 0.2, "c": 5000.00, "d": 7}')
    assert body["a"] + body["b"] == Decimal("0.3")
    assert body["c"] == Decimal("5000.00") and str(body["c"]) == "5000.00"
    assert body["d"] == 7 and isinstance(body["d"], int)


@pytest.mark.parametrize("text", ["NaN", '{"x": Infinity}', '{"x": -Infinity}'])
def test_loads_rejects_non_finite_constants(text: str) -> None:
    with pytest.raises(ValueError):
        p.loads(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-12T15:30:00Z", datetime(2026, 4, 12, 15, 30, tzinfo=UTC)),
        ("2026-04-12 14:30:00", datetime(2026, 4, 12, 14, 30, tzinfo=UTC)),
        ("2026-04-12T14:30:00", datetime(2026, 4, 12, 14, 30, tzinfo=UTC)),
        ("2026-04-12T15:30:00+01:00", datetime(2026, 4, 12, 14, 30, tzinfo=UTC)),
        ("2026-04-12T15:30:00-0230", datetime(2026, 4, 12, 18, 0, tzinfo=UTC)),
        ("2026-04-12 14:30:00.250Z", datetime(2026, 4, 12, 14, 30, 0, 250000, tzinfo=UTC)),
        ("2026-04-12 14:30", datetime(2026, 4, 12, 14, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text: str, expected: datetime) -> None:
    parsed = p.parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-04-12", "12/04/2026 14:30", "2026-13-01 00:00:00", "1776"]
)
def test_bad_timestamps_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        p.parse_timestamp(text)


def test_decode_json_tells_html_from_cut_off_json() -> None:
    with pytest.raises(InvalidResponse) as html:
        p.decode_json("<html><body>502 Bad Gateway</body></html>", endpoint="GET /x", status=200)
    assert html.value.message == (
        "The server answered GET /x with something that is not JSON (an HTML page?) — status 200"
    )
    with pytest.raises(InvalidResponse) as cut:
        p.decode_json('{"success": true, "data": [{"id": 1, "sl', endpoint="GET /x", status=200)
    assert "cut off" in cut.value.message and "GET /x" in cut.value.message
    with pytest.raises(InvalidResponse) as empty:
        p.decode_json("  ", endpoint="GET /x", status=204)
    assert "empty" in empty.value.message and "204" in empty.value.message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([1, 2], "is a list, not a JSON object"),
        ("ok", "is text, not a JSON object"),
        ({"balance": 1}, "missing the field 'success'"),
        ({"success": "true", "balance": 1}, "'success' as text"),
        ({"success": 1, "balance": 1}, "'success' as a number"),
    ],
)
def test_envelope_problems(body: object, fragment: str) -> None:
    with pytest.raises(InvalidResponse) as info:
        p.check_envelope(body, endpoint="GET /balance")
    assert fragment in info.value.message
    assert "GET /balance" in info.value.message


def test_success_false_with_200_keeps_server_text_verbatim() -> None:
    text = "Service [b]paused[/b]\x1b[31m by admin"
    with pytest.raises(InvalidResponse) as info:
        p.check_envelope({"success": False, "error": text}, endpoint="GET /balance")
    assert info.value.server_text == text
    assert text in info.value.message
    assert "200" in info.value.message


def test_error_text_falls_back_to_message_and_ignores_non_strings() -> None:
    assert p.error_text({"error": "x"}) == "x"
    assert p.error_text({"message": "y"}) == "y"
    assert p.error_text({"error": {"nested": 1}}) is None
    assert p.error_text([1]) is None
    assert p.error_text(None) is None


# -- per endpoint -----------------------------------------------------------------------


def test_balance() -> None:
    balance = p.parse_balance(p.loads('{"success": true, "balance": 5000.10, "currency": "NGN"}'))
    assert balance.amount == Decimal("5000.10") and balance.currency == "NGN"
    assert str(balance.amount) == "5000.10"


def test_balance_integer_amount_becomes_decimal() -> None:
    balance = p.parse_balance({"success": True, "balance": 5000, "currency": "NGN"})
    assert balance.amount == Decimal(5000) and isinstance(balance.amount, Decimal)


def test_balance_bool_is_not_a_number() -> None:
    with pytest.raises(InvalidResponse) as info:
        p.parse_balance({"success": True, "balance": True, "currency": "NGN"})
    assert info.value.message == (
        "The server's answer to GET /balance has the field 'balance' as true/false "
        "where an amount was expected"
    )


def test_balance_missing_field_message() -> None:
    with pytest.raises(InvalidResponse) as info:
        p.parse_balance({"success": True, "currency": "NGN"})
    assert info.value.message == (
        "The server's answer to GET /balance is missing the field 'balance'"
    )


def test_balance_as_string_is_rejected() -> None:
    with pytest.raises(InvalidResponse, match="'balance' as text where an amount"):
        p.parse_balance({"success": True, "balance": "5000.00", "currency": "NGN"})


def test_services_with_null_and_absent_min_price() -> None:
    body = p.loads(
        '{"success": true, "data": ['
        '{"id": 1, "slug": "whatsapp", "name": "WhatsApp", "provider_count": 3, '
        '"min_price": 450.10},'
        '{"id": 2, "slug": "tg", "name": "Telegram", "provider_count": 0, "min_price": null},'
        '{"id": 3, "slug": "x", "name": "X", "provider_count": 1}]}'
    )
    services = p.parse_services(body)
    assert [s.slug for s in services] == ["whatsapp", "tg", "x"]
    assert services[0].min_price == Decimal("450.10")
    assert services[1].min_price is None and services[2].min_price is None


def test_services_item_problem_names_its_place() -> None:
    body = {
        "success": True,
        "data": [
            {"id": 1, "slug": "a", "name": "A", "provider_count": 1, "min_price": 1},
            {"id": 2, "name": "B", "provider_count": 1, "min_price": 1},
        ],
    }
    services = p.parse_services(body)  # the good row is kept, the bad one counted
    assert [s.id for s in services] == [1] and services.skipped == 1
    assert services.problem == (
        "The server's answer to GET /services is missing the field 'data[1].slug'"
    )


def test_services_data_not_a_list() -> None:
    with pytest.raises(InvalidResponse, match="'data' as an object where a list"):
        p.parse_services({"success": True, "data": {"id": 1}})


def test_services_item_not_an_object() -> None:
    with pytest.raises(InvalidResponse, match=r"'data\[0\]' as a number where an object"):
        p.parse_services({"success": True, "data": [7]})


def test_countries() -> None:
    countries = p.parse_countries(
        {"success": True, "data": [{"id": 1, "iso_code": "NG", "name": "Nigeria", "flag": "🇳🇬"}]}
    )
    assert countries[0].iso_code == "NG" and countries[0].flag == "🇳🇬"


def test_countries_id_as_float_is_wrong_type() -> None:
    body = p.loads(
        '{"success": true, "data": [{"id": 1.5, "iso_code": "NG", "name": "N", "flag": ""}]}'
    )
    with pytest.raises(InvalidResponse, match=r"'data\[0\]\.id' as a number where a whole"):
        p.parse_countries(body)


PRICES = """{"success": true,
 "service": {"id": 1, "slug": "whatsapp", "name": "WhatsApp"},
 "data": [{"id": 42, "final_price": 450.10, "stock": 120, "provider_id": 1,
           "provider_name": "Alpha", "country_id": 1, "country_name": "Nigeria",
           "iso_code": "NG"},
          {"id": 43, "final_price": 0.20, "stock": 0, "provider_id": 2,
           "provider_name": "Beta", "country_id": 1, "country_name": "Nigeria",
           "iso_code": "NG"}]}"""


def test_prices() -> None:
    prices = p.parse_prices(p.loads(PRICES), "GET /services/whatsapp/prices")
    assert prices.service.slug == "whatsapp"
    assert [o.id for o in prices.offers] == [42, 43]
    assert prices.offers[0].price == Decimal("450.10")
    assert prices.offers[0].price + prices.offers[1].price == Decimal("450.30")
    assert prices.offers[0].available and not prices.offers[1].available


def test_prices_service_missing() -> None:
    body = p.loads(PRICES)
    del body["service"]["slug"]
    with pytest.raises(InvalidResponse) as info:
        p.parse_prices(body, "GET /services/whatsapp/prices")
    assert info.value.message == (
        "The server's answer to GET /services/whatsapp/prices is missing the field 'service.slug'"
    )


def test_rent() -> None:
    rented = p.parse_rent(
        p.loads(
            '{"success": true, "rental_id": 101, "phone": "+2348012345678", "cost": 450.00,'
            ' "status": "waiting", "expires_at": "2026-04-12T15:30:00Z"}'
        )
    )
    assert rented.rental_id == 101 and rented.cost == Decimal("450.00")
    assert rented.status is RentalStatus.WAITING
    assert rented.expires_at == datetime(2026, 4, 12, 15, 30, tzinfo=UTC)


RENTAL = {
    "success": True,
    "rental_id": 101,
    "phone": "+2348012345678",
    "status": "received",
    "code": "012345",
    "sms": "Your verification code is 012345",
    "cost": Decimal("450.00"),
    "created_at": "2026-04-12 14:30:00",
    "expires_at": "2026-04-12 14:45:00",
}


def test_rental_received() -> None:
    state = p.parse_rental(dict(RENTAL))
    assert state.code == "012345" and state.status.has_sms
    assert state.created_at == datetime(2026, 4, 12, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize("shape", ["null", "absent"])
def test_rental_without_sms_yet(shape: str) -> None:
    body = dict(RENTAL, status="waiting")
    if shape == "null":
        body.update(code=None, sms=None)
    else:
        del body["code"], body["sms"]
    state = p.parse_rental(body)
    assert state.code is None and state.sms is None


def test_rental_integer_code_is_kept_as_its_digits() -> None:
    assert p.parse_rental(dict(RENTAL, code=123456)).code == "123456"


def test_rental_unknown_status_is_kept() -> None:
    state = p.parse_rental(dict(RENTAL, status="on_hold"))
    assert state.status == "on_hold" and not state.status.is_known and state.status.is_active


@pytest.mark.parametrize("status", ["", 3, None, True])
def test_rental_bad_status(status: object) -> None:
    with pytest.raises(InvalidResponse, match="'status'"):
        p.parse_rental(dict(RENTAL, status=status))


def test_rental_bad_timestamp() -> None:
    with pytest.raises(InvalidResponse) as info:
        p.parse_rental(dict(RENTAL, expires_at="soon"), "GET /rental/101")
    assert info.value.message == (
        "The server's answer to GET /rental/101 has the field 'expires_at' as text "
        "where a timestamp or null was expected"
    )


def test_rental_without_timestamps_keeps_status_and_code() -> None:
    """An undocumented status and no dates (issue 11): read, not refused."""
    body = {k: v for k, v in RENTAL.items() if k not in ("created_at", "expires_at")}
    state = p.parse_rental(dict(body, status="on_hold"))
    assert state.status == "on_hold" and state.created_at is None and state.expires_at is None
    state = p.parse_rental(dict(RENTAL, expires_at=None))
    assert state.expires_at is None and state.created_at is not None


def test_rental_code_of_wrong_type() -> None:
    with pytest.raises(InvalidResponse, match="'code' as a list"):
        p.parse_rental(dict(RENTAL, code=[1]))


def test_cancel() -> None:
    result = p.parse_cancel(
        p.loads('{"success": true, "status": "refunded", "refunded": true, "amount": 450.00}')
    )
    assert result.refunded is True and result.amount == Decimal("450.00")
    assert result.status is RentalStatus.REFUNDED


def test_cancel_refunded_must_be_bool() -> None:
    with pytest.raises(InvalidResponse, match="'refunded' as a number where true or false"):
        p.parse_cancel({"success": True, "status": "refunded", "refunded": 1, "amount": 0})


def test_rentals() -> None:
    entries = p.parse_rentals(
        p.loads(
            '{"success": true, "data": [{"rental_id": 101, "service": "WhatsApp",'
            ' "country": "Nigeria", "provider": "Alpha", "phone": "+2348012345678",'
            ' "status": "received", "cost": 450.00, "created_at": "2026-04-12 14:30:00"}]}'
        )
    )
    assert entries[0].rental_id == 101 and entries[0].cost == Decimal("450.00")
    assert entries[0].created_at == datetime(2026, 4, 12, 14, 30, tzinfo=UTC)


def test_rentals_empty() -> None:
    assert p.parse_rentals({"success": True, "data": []}) == ()


@pytest.mark.parametrize(
    "number",
    [
        "1e999999999999",
        "-1E+999999999999",
        "1e-999999999999",
        "9" * 5000,
        "1000000000000",
        "0.0000000000000000000000001",
        "123456789012345678901.5",
    ],
)
def test_numbers_outside_the_bounds_are_not_usable_amounts(number: str) -> None:
    """Decimal holds 1e999999999999, but formatting it exhausted memory (the app crashed);
    5,000 digits made the whole answer "not JSON". Now the one field is named."""
    body = '{"success": true, "balance": ' + number + ', "currency": "NGN"}'
    with pytest.raises(InvalidResponse) as failed:
        p.parse_balance(p.decode_json(body, endpoint="GET /balance", status=200))
    assert "'balance'" in failed.value.message
    assert "not a usable amount" in failed.value.message


def test_a_huge_number_in_one_field_leaves_the_rest_of_the_answer_readable() -> None:
    body = '{"success": true, "rental_id": ' + "9" * 5000 + ', "phone": "+1"}'
    with pytest.raises(InvalidResponse) as failed:
        p.parse_rent(p.decode_json(body, endpoint="POST /rent", status=200))
    assert "rental_id" in failed.value.message and "not JSON" not in failed.value.message


def test_the_largest_usable_amounts_still_read() -> None:
    body = '{"success": true, "balance": 999999999999.99, "currency": "NGN"}'
    assert p.parse_balance(p.decode_json(body, endpoint="GET /balance", status=200)).amount == (
        Decimal("999999999999.99")
    )


@pytest.mark.parametrize("created_at", [None, "", "2026-04-12", "missing"])
def test_one_bad_row_never_costs_the_whole_list(created_at) -> None:
    """A single rental whose created_at is missing, null, empty or date-only blanked the
    whole history; now it is skipped and counted, the others read."""
    good = {
        "rental_id": 1,
        "service": "WhatsApp",
        "country": "Nigeria",
        "provider": "Alpha",
        "phone": "+234",
        "status": "waiting",
        "cost": 450,
        "created_at": "2026-04-12 14:00:00",
    }
    bad = {**good, "rental_id": 2}
    if created_at == "missing":
        del bad["created_at"]
    else:
        bad["created_at"] = created_at
    body = {"success": True, "data": [good, bad, {**good, "rental_id": 3}]}
    rows = p.parse_rentals(body)
    assert [r.rental_id for r in rows] == [1, 3]
    assert rows.skipped == 1 and rows.note is not None
    assert "1 row of the server's answer could not be read" in rows.note
    assert "data[1].created_at" in rows.note
