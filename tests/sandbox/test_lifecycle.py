"""A rental's life, driven by the manual clock: waiting -> received -> completed, or
expired (refunded), or cancelled/refunded by the user."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig

from .conftest import AUTH, BASE_URL, body, rent

START = datetime(2026, 4, 12, 14, 0, tzinfo=UTC)


async def poll(http: httpx.AsyncClient, rental_id: int, key: str = DEMO_API_KEY) -> dict:
    response = await http.get(f"/rental/{rental_id}", headers={"X-API-KEY": key})
    assert response.status_code == 200, response.text
    return body(response)


async def test_sms_arrives_at_the_seeded_delay(sandbox: Sandbox, client, clock) -> None:
    rid = (await rent(client, 42))["rental_id"]
    due = sandbox.sms_delivered_at(rid)
    assert due is not None
    delay = (due - START).total_seconds()
    assert 5 <= delay <= 20

    clock.set(due - timedelta(milliseconds=1))
    before = await poll(client, rid)
    assert (before["status"], before["code"], before["sms"]) == ("waiting", None, None)

    clock.set(due)
    after = await poll(client, rid)
    assert after["status"] == "received"
    assert re.fullmatch(r"[0-9]{6}", after["code"])  # WhatsApp codes have 6 digits
    assert after["sms"] == f"Your WhatsApp verification code is {after['code']}. Don't share it."
    assert sandbox.sms_delivered_at(rid) == due


async def test_code_length_and_text_depend_on_the_service(sandbox: Sandbox, client, clock) -> None:
    uber = sandbox.pick_offer("uber")
    yahoo = sandbox.pick_offer("yahoo")
    first = (await rent(client, uber.id))["rental_id"]
    second = (await rent(client, yahoo.id))["rental_id"]
    clock.advance(20)
    a, b = await poll(client, first), await poll(client, second)
    assert re.fullmatch(r"[0-9]{4}", a["code"]) and a["code"] in a["sms"]
    assert re.fullmatch(r"[0-9]{8}", b["code"]) and b["code"] in b["sms"]
    assert "Uber" in a["sms"] and "Yahoo" in b["sms"]


def _delays(seed: int, script: list[str], first_rental_id: int = 1001) -> dict[int, float]:
    """Run `script` against a fresh sandbox; return each rental's SMS delay."""
    clock = ManualClock(START)
    sb = Sandbox(SandboxConfig(seed=seed, first_rental_id=first_rental_id), clock=clock)

    async def run() -> None:
        transport = httpx.ASGITransport(app=sb)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            for step in script:
                if step == "tick":
                    clock.advance(1.5)
                elif step == "browse":
                    await http.get("/services")
                    await http.get("/services/telegram/prices")
                    await http.get("/balance", headers=AUTH)
                else:
                    await rent(http, sb.pick_offer(step).id)

    import asyncio

    asyncio.run(run())
    return {
        r.rental_id: (sb.sms_delivered_at(r.rental_id) - r.created_at).total_seconds()
        for r in sb.rentals_of(DEMO_API_KEY)
    }


def test_sms_delays_depend_only_on_seed_and_rental_id() -> None:
    one = _delays(7, ["whatsapp", "telegram", "google"])
    other = _delays(7, ["browse", "google", "tick", "browse", "whatsapp", "tick", "telegram"])
    assert list(one) == [1001, 1002, 1003]
    assert one == other
    assert len(set(one.values())) == 3
    assert _delays(8, ["whatsapp", "telegram", "google"]) != one
    # Keyed by the rental id, not by how many rentals came before it:
    shifted = _delays(7, ["google", "whatsapp"], first_rental_id=1002)
    assert shifted == {1002: one[1002], 1003: one[1003]}


async def test_received_then_expiry_completes_without_refund(
    sandbox: Sandbox, client, clock
) -> None:
    rid = (await rent(client, 42))["rental_id"]
    clock.advance(20)
    code = (await poll(client, rid))["code"]
    clock.advance(900)
    final = await poll(client, rid)
    assert final["status"] == "completed"
    assert final["code"] == code  # the code stays readable after the rental ends
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")


async def test_no_sms_then_expiry_at_expires_at(clock) -> None:
    sb = Sandbox(SandboxConfig(seed=7, no_sms_probability=1.0), clock=clock)
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        rid = (await rent(http, 42))["rental_id"]
        assert sb.sms_delivered_at(rid) is None
        clock.advance(899.999)
        assert (await poll(http, rid))["status"] == "waiting"
        clock.advance(0.001)
        expired = await poll(http, rid)
        assert (expired["status"], expired["code"], expired["sms"]) == ("expired", None, None)
        assert expired["expires_at"] == "2026-04-12 14:15:00"


async def test_an_sms_due_after_expiry_never_arrives(clock) -> None:
    sb = Sandbox(SandboxConfig(seed=7, sms_delay=(1000, 2000)), clock=clock)
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        rid = (await rent(http, 42))["rental_id"]
        assert sb.sms_delivered_at(rid) is None
        clock.advance(3000)
        assert (await poll(http, rid))["status"] == "expired"


async def test_zero_delay_means_the_first_poll_has_the_code(clock) -> None:
    sb = Sandbox(SandboxConfig(seed=7, sms_delay=(0, 0)), clock=clock)
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        rented = await rent(http, 42)
        assert rented["status"] == "waiting"
        assert (await poll(http, rented["rental_id"]))["status"] == "received"


async def test_cancel_before_sms_refunds(sandbox: Sandbox, client) -> None:
    rid = (await rent(client, 42))["rental_id"]
    response = await client.post(f"/rental/{rid}/cancel", headers=AUTH)
    assert response.status_code == 200
    assert body(response) == {
        "success": True,
        "status": "refunded",
        "refunded": True,
        "amount": Decimal("450.00"),
    }
    assert (await poll(client, rid))["status"] == "refunded"
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00")
    assert sandbox.sms_delivered_at(rid) is None  # it will never come now


async def test_cancel_after_sms_keeps_the_money(sandbox: Sandbox, client, clock) -> None:
    rid = (await rent(client, 42))["rental_id"]
    clock.advance(20)
    response = await client.post(f"/rental/{rid}/cancel", headers=AUTH)
    assert body(response) == {
        "success": True,
        "status": "cancelled",
        "refunded": False,
        "amount": Decimal("0.00"),
    }
    assert '"amount":0.00' in response.text
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")
    assert (await poll(client, rid))["status"] == "cancelled"


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        ("cancel", "refunded"),
        ("sms+cancel", "cancelled"),
        ("expire", "expired"),
        ("sms+expire", "completed"),
    ],
)
async def test_cancelling_a_final_rental_is_a_400(clock, setup: str, status: str) -> None:
    config = SandboxConfig(seed=7, no_sms_probability=0.0 if "sms" in setup else 1.0)
    sb = Sandbox(config, clock=clock)
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        rid = (await rent(http, 42))["rental_id"]
        if "sms" in setup:
            clock.advance(20)
        if setup.endswith("cancel"):
            await http.post(f"/rental/{rid}/cancel", headers=AUTH)
        else:
            clock.advance(900)
        balance = sb.balance_of(DEMO_API_KEY)
        response = await http.post(f"/rental/{rid}/cancel", headers=AUTH)
        assert response.status_code == 400
        assert body(response) == {"success": False, "error": f"Rental is already {status}"}
        assert sb.balance_of(DEMO_API_KEY) == balance


async def test_deliver_sms_forces_and_replaces_the_code(sandbox: Sandbox, client, clock) -> None:
    rid = (await rent(client, 42))["rental_id"]
    sandbox.deliver_sms(rid)
    first = await poll(client, rid)
    assert first["status"] == "received" and first["code"] in first["sms"]
    assert sandbox.sms_delivered_at(rid) == START

    clock.advance(60)
    sandbox.deliver_sms(rid, text="Your code is 24680. Do not share.")
    second = await poll(client, rid)
    assert (second["code"], second["sms"]) == ("24680", "Your code is 24680. Do not share.")
    sandbox.deliver_sms(rid, code="0042")
    third = await poll(client, rid)
    assert third["code"] == "0042" and "0042" in third["sms"]
    assert sandbox.sms_delivered_at(rid) == START  # the first arrival

    clock.advance(900)
    with pytest.raises(ValueError):
        sandbox.deliver_sms(rid)


async def test_phone_numbers_are_realistic_and_unique(sandbox: Sandbox, client) -> None:
    sandbox.set_balance(DEMO_API_KEY, Decimal("1000000.00"))
    phones = []
    for country in sandbox.catalog.countries:
        offer = sandbox.pick_offer(country=country.iso_code)
        phone = (await rent(client, offer.id))["phone"]
        assert re.fullmatch(rf"\+{country.dial_code}[0-9]{{{country.national_length}}}", phone)
        phones.append(phone)
    for _ in range(30):
        phones.append((await rent(client, 42))["phone"])
    assert all(p.startswith("+234") for p in phones[-30:])
    assert len(set(phones)) == len(phones)


async def test_history_is_newest_first_and_capped_at_100(sandbox: Sandbox, client, clock) -> None:
    sandbox.set_balance(DEMO_API_KEY, Decimal("100000.00"))
    ids = []
    for _ in range(105):
        ids.append((await rent(client, 42))["rental_id"])
        clock.advance(1)
    response = await client.get("/rentals", headers=AUTH)
    data = body(response)["data"]
    assert len(data) == 100
    assert [r["rental_id"] for r in data] == ids[::-1][:100]
    assert data[0]["created_at"] == "2026-04-12 14:01:44"
    assert data[-1]["created_at"] == "2026-04-12 14:00:05"
    assert len(sandbox.rentals_of(DEMO_API_KEY)) == 105


async def test_history_shows_settled_statuses(sandbox: Sandbox, client, clock) -> None:
    first = (await rent(client, 42))["rental_id"]
    second = (await rent(client, 42))["rental_id"]
    await client.post(f"/rental/{second}/cancel", headers=AUTH)
    clock.advance(20)
    data = body(await client.get("/rentals", headers=AUTH))["data"]
    assert [(r["rental_id"], r["status"]) for r in data] == [
        (second, "refunded"),
        (first, "received"),
    ]


async def test_history_is_per_account(sandbox: Sandbox, client) -> None:
    sandbox.add_account("rn_test_second", Decimal("1000.00"))
    await rent(client, 42)
    other = body(await client.get("/rentals", headers={"X-API-KEY": "rn_test_second"}))
    assert other == {"success": True, "data": []}


UNAUTHORIZED = {"success": False, "error": "Unauthorized: missing or invalid API key"}
PRIVATE = [
    ("GET", "/balance"),
    ("POST", "/rent"),
    ("GET", "/rental/1001"),
    ("POST", "/rental/1001/cancel"),
    ("GET", "/rentals"),
]


@pytest.mark.parametrize(("method", "path"), PRIVATE)
@pytest.mark.parametrize("key", [None, "", "rn_wrong_key", "revoked"])
async def test_private_endpoints_need_a_valid_key(
    sandbox: Sandbox, client, method: str, path: str, key: str | None
) -> None:
    await rent(client, 42)
    if key == "revoked":
        sandbox.add_account("rn_test_revoked", Decimal("5000.00"))
        sandbox.revoke_key("rn_test_revoked")
        key = "rn_test_revoked"
    headers = {} if key is None else {"X-API-KEY": key}
    response = await client.request(method, path, headers=headers, data={"pricing_id": "42"})
    assert response.status_code == 401
    assert body(response) == UNAUTHORIZED
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")
    assert sandbox.stock_of(42) == 119


async def test_revoking_takes_effect_on_the_next_request(sandbox: Sandbox, client) -> None:
    assert (await client.get("/balance", headers=AUTH)).status_code == 200
    sandbox.revoke_key(DEMO_API_KEY)
    assert (await client.get("/balance", headers=AUTH)).status_code == 401


@pytest.mark.parametrize("path", ["/services", "/countries", "/services/whatsapp/prices"])
async def test_public_endpoints_need_no_key(client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert body(response)["success"] is True


@pytest.mark.parametrize("path", ["/rental/{rid}", "/rental/{rid}/cancel"])
async def test_another_accounts_rental_is_not_found(sandbox: Sandbox, client, path: str) -> None:
    rid = (await rent(client, 42))["rental_id"]
    sandbox.add_account("rn_test_stranger", Decimal("1000.00"))
    method = "POST" if path.endswith("cancel") else "GET"
    stranger = {"X-API-KEY": "rn_test_stranger"}
    response = await client.request(method, path.format(rid=rid), headers=stranger)
    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Rental not found"}
    assert sandbox.rentals_of(DEMO_API_KEY)[0].status == "waiting"


@pytest.mark.parametrize("rid", ["999999", "abc", "-1", "١٢"])
async def test_unknown_rental_is_not_found(client, rid: str) -> None:
    response = await client.get(f"/rental/{rid}", headers=AUTH)
    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Rental not found"}
