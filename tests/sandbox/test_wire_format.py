"""Every endpoint's fields, exactly as the documentation shows them: names, JSON types,
money written as numbers with two decimals, the two timestamp shapes, the Date header."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox

from .conftest import AUTH, body, rent

MONEY_KEYS = ("balance", "min_price", "final_price", "cost", "amount")
PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
ISO_Z_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def assert_money_written_with_two_decimals(response: httpx.Response) -> int:
    """Every money field in the raw text is a bare number with exactly two decimals."""
    text = response.text
    any_form = re.findall(rf'"({"|".join(MONEY_KEYS)})":([^,}}]*)', text)
    for key, raw in any_form:
        assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", raw), f"{key} written as {raw}"
    return len(any_form)


def shape(value: object) -> dict[str, type]:
    assert isinstance(value, dict)
    return {k: type(v) for k, v in value.items()}


async def test_balance(client) -> None:
    response = await client.get("/balance", headers=AUTH)
    assert response.text == '{"success":true,"balance":25000.00,"currency":"NGN"}'
    assert response.headers["content-type"] == "application/json"


async def test_services(client) -> None:
    response = await client.get("/services")
    data = body(response)
    assert set(data) == {"success", "data"}
    assert assert_money_written_with_two_decimals(response) == len(data["data"])
    for item in data["data"]:
        assert shape(item) == {
            "id": int,
            "slug": str,
            "name": str,
            "provider_count": int,
            "min_price": Decimal,
        }
    assert data["data"][0]["slug"] == "whatsapp" and data["data"][0]["id"] == 1


async def test_countries(client) -> None:
    data = body(await client.get("/countries"))
    assert data["data"][0] == {"id": 1, "iso_code": "NG", "name": "Nigeria", "flag": "🇳🇬"}
    for item in data["data"]:
        assert shape(item) == {"id": int, "iso_code": str, "name": str, "flag": str}


async def test_prices(client) -> None:
    response = await client.get("/services/whatsapp/prices", params={"country_id": 1})
    data = body(response)
    assert data["service"] == {"id": 1, "slug": "whatsapp", "name": "WhatsApp"}
    assert {
        "id": 42,
        "final_price": Decimal("450.00"),
        "stock": 120,
        "provider_id": 1,
        "provider_name": "Alpha",
        "country_id": 1,
        "country_name": "Nigeria",
        "iso_code": "NG",
    } in data["data"]
    assert '"final_price":450.00,' in response.text
    for item in data["data"]:
        assert shape(item) == {
            "id": int,
            "final_price": Decimal,
            "stock": int,
            "provider_id": int,
            "provider_name": str,
            "country_id": int,
            "country_name": str,
            "iso_code": str,
        }
    assert assert_money_written_with_two_decimals(response) == len(data["data"])


async def test_rent_response(client) -> None:
    response = await client.post("/rent", headers=AUTH, data={"pricing_id": 42})
    data = body(response)
    assert shape(data) == {
        "success": bool,
        "rental_id": int,
        "phone": str,
        "cost": Decimal,
        "status": str,
        "expires_at": str,
    }
    assert data["rental_id"] == 1001 and data["status"] == "waiting"
    assert data["expires_at"] == "2026-04-12T14:15:00Z"
    assert ISO_Z_TIME.fullmatch(data["expires_at"])
    assert '"cost":450.00,' in response.text


async def test_rental_status(client, clock) -> None:
    rid = (await rent(client, 42))["rental_id"]
    waiting = await client.get(f"/rental/{rid}", headers=AUTH)
    assert shape(body(waiting)) == {
        "success": bool,
        "rental_id": int,
        "phone": str,
        "status": str,
        "code": type(None),
        "sms": type(None),
        "cost": Decimal,
        "created_at": str,
        "expires_at": str,
    }
    assert '"code":null,"sms":null' in waiting.text
    clock.advance(30)
    data = body(await client.get(f"/rental/{rid}", headers=AUTH))
    assert (type(data["code"]), type(data["sms"])) == (str, str)
    assert data["created_at"] == "2026-04-12 14:00:00"
    assert data["expires_at"] == "2026-04-12 14:15:00"
    assert PLAIN_TIME.fullmatch(data["created_at"]) and PLAIN_TIME.fullmatch(data["expires_at"])


async def test_cancel_response(client) -> None:
    rid = (await rent(client, 42))["rental_id"]
    response = await client.post(f"/rental/{rid}/cancel", headers=AUTH)
    assert response.text == '{"success":true,"status":"refunded","refunded":true,"amount":450.00}'


async def test_rentals(client, clock) -> None:
    await rent(client, 42)
    clock.advance(61)
    await rent(client, 42)
    response = await client.get("/rentals", headers=AUTH)
    data = body(response)["data"]
    assert shape(data[0]) == {
        "rental_id": int,
        "service": str,
        "country": str,
        "provider": str,
        "phone": str,
        "status": str,
        "cost": Decimal,
        "created_at": str,
    }
    assert (data[0]["service"], data[0]["country"], data[0]["provider"]) == (
        "WhatsApp",
        "Nigeria",
        "Alpha",
    )
    assert [r["created_at"] for r in data] == ["2026-04-12 14:01:01", "2026-04-12 14:00:00"]
    assert assert_money_written_with_two_decimals(response) == 2


async def test_half_naira_prices_keep_their_decimals(sandbox: Sandbox, client) -> None:
    offer = next(o for o in sandbox.catalog.offers if o.final_price % 1 == Decimal("0.5"))
    service = sandbox.catalog.service(offer.service_id)
    response = await client.get(f"/services/{service.slug}/prices")
    assert f'"id":{offer.id},"final_price":{offer.final_price},' in response.text
    assert str(offer.final_price).endswith(".50")


async def test_date_header_follows_the_manual_clock(client, clock) -> None:
    first = await client.get("/services")
    assert first.headers["date"] == "Sun, 12 Apr 2026 14:00:00 GMT"
    clock.advance(86400 + 3600 + 65.7)
    later = await client.get("/nowhere")
    assert later.headers["date"] == "Mon, 13 Apr 2026 15:01:05 GMT"
    assert later.headers.get_list("date") == ["Mon, 13 Apr 2026 15:01:05 GMT"]


@pytest.mark.parametrize("path", ["/nope", "/services/whatsapp", "/rental/1/cancel/x", "/"])
async def test_unknown_paths_are_json_404s(client, path: str) -> None:
    response = await client.get(path, headers=AUTH)
    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Not found"}


@pytest.mark.parametrize("url", ["http://sandbox/balance", "http://sandbox/api/v2/balance"])
async def test_only_the_api_v1_base_path_is_served(client, url: str) -> None:
    response = await client.get(url, headers=AUTH)
    assert response.status_code == 404
    assert body(response)["success"] is False


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/balance", "GET"),
        ("GET", "/rent", "POST"),
        ("DELETE", "/rental/1001", "GET"),
        ("GET", "/rental/1001/cancel", "POST"),
        ("PUT", "/services", "GET"),
    ],
)
async def test_wrong_method_is_a_json_405(client, method: str, path: str, allow: str) -> None:
    response = await client.request(method, path, headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert body(response) == {"success": False, "error": "Method not allowed"}


async def test_unknown_service_slug(client) -> None:
    response = await client.get("/services/myspace/prices")
    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Service not found"}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("abc", "country_id must be an integer"),
        ("1.5", "country_id must be an integer"),
        ("999", "Country not found"),
        ("0", "Country not found"),
    ],
)
async def test_bad_country_filter_is_a_400(client, value: str, error: str) -> None:
    response = await client.get("/services/whatsapp/prices", params={"country_id": value})
    assert response.status_code == 400
    assert body(response) == {"success": False, "error": error}


async def test_country_filter(sandbox: Sandbox, client) -> None:
    everything = body(await client.get("/services/telegram/prices"))["data"]
    ghana = body(await client.get("/services/telegram/prices", params={"country_id": 4}))["data"]
    assert ghana and all(o["country_id"] == 4 and o["iso_code"] == "GH" for o in ghana)
    assert {o["country_id"] for o in everything} == {c.id for c in sandbox.catalog.countries}
    assert [o for o in everything if o["country_id"] == 4] == ghana
    blank = body(await client.get("/services/telegram/prices?country_id="))["data"]
    assert blank == everything


async def test_error_bodies_are_plain_json(client) -> None:
    response = await client.get("/balance")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.text) == {
        "success": False,
        "error": "Unauthorized: missing or invalid API key",
    }
    assert DEMO_API_KEY not in response.text
