"""Renting debits the wallet and takes stock; refunds credit it back exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox

from .conftest import AUTH, body, rent


async def test_rent_debits_the_offer_price_and_decrements_stock(sandbox: Sandbox, client) -> None:
    offer = sandbox.catalog.offer(42)
    stock = sandbox.stock_of(42)
    result = await rent(client, 42)
    assert result["cost"] == offer.final_price == Decimal("450.00")
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")
    assert sandbox.stock_of(42) == stock - 1
    balance = body(await client.get("/balance", headers=AUTH))
    assert balance == {"success": True, "balance": Decimal("24550.00"), "currency": "NGN"}


async def test_insufficient_balance_has_the_exact_text_and_changes_nothing(
    sandbox: Sandbox, client
) -> None:
    sandbox.set_balance(DEMO_API_KEY, Decimal("449.99"))
    response = await client.post("/rent", headers=AUTH, data={"pricing_id": 42})
    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "Insufficient balance. Need ₦450.00"}
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("449.99")
    assert sandbox.stock_of(42) == 120
    assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_insufficient_balance_text_uses_thousands_separators(
    sandbox: Sandbox, client
) -> None:
    offer = next(o for o in sandbox.catalog.offers if o.final_price >= 1000 and o.stock > 0)
    sandbox.set_balance(DEMO_API_KEY, Decimal("10.00"))
    response = await client.post("/rent", headers=AUTH, data={"pricing_id": offer.id})
    expected = f"Insufficient balance. Need ₦{offer.final_price:,.2f}"
    assert "," in expected
    assert body(response)["error"] == expected


async def test_exact_balance_is_enough(sandbox: Sandbox, client) -> None:
    sandbox.set_balance(DEMO_API_KEY, Decimal("450.00"))
    await rent(client, 42)
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("0.00")


async def test_stock_runs_out(sandbox: Sandbox, client) -> None:
    sandbox.set_stock(42, 2)
    await rent(client, 42)
    await rent(client, 42)
    assert sandbox.stock_of(42) == 0
    response = await client.post("/rent", headers=AUTH, data={"pricing_id": 42})
    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "Out of stock for this pricing option"}
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00") - 2 * Decimal("450.00")
    prices = body(await client.get("/services/whatsapp/prices", params={"country_id": 1}))
    assert next(o for o in prices["data"] if o["id"] == 42)["stock"] == 0


async def test_stock_zero_offers_exist_and_cannot_be_rented(sandbox: Sandbox, client) -> None:
    empty = [o for o in sandbox.catalog.offers if sandbox.stock_of(o.id) == 0]
    assert empty
    response = await client.post("/rent", headers=AUTH, data={"pricing_id": empty[0].id})
    assert response.status_code == 400
    assert body(response)["error"] == "Out of stock for this pricing option"


async def test_cancel_refund_is_credited_once(sandbox: Sandbox, client, clock) -> None:
    rental = await rent(client, 42)
    rid = rental["rental_id"]
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")
    cancel = body(await client.post(f"/rental/{rid}/cancel", headers=AUTH))
    assert cancel["amount"] == Decimal("450.00")
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00")
    again = await client.post(f"/rental/{rid}/cancel", headers=AUTH)
    assert again.status_code == 400
    # Passing the expiry time of a refunded rental refunds nothing more.
    clock.advance(3600)
    await client.get(f"/rental/{rid}", headers=AUTH)
    assert body(await client.get("/balance", headers=AUTH))["balance"] == Decimal("25000.00")
    assert sandbox.rentals_of(DEMO_API_KEY)[0].status == "refunded"


async def test_expiry_refund_is_credited_once(clock) -> None:
    import httpx

    from rentnumber_tui.sandbox import SandboxConfig

    sb = Sandbox(SandboxConfig(seed=7, no_sms_probability=1.0), clock=clock)
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/api/v1") as http:
        rental = await rent(http, 42)
        assert sb.balance_of(DEMO_API_KEY) == Decimal("24550.00")
        clock.advance(899)
        assert sb.balance_of(DEMO_API_KEY) == Decimal("24550.00")
        clock.advance(1)
        for _ in range(3):
            status = body(await http.get(f"/rental/{rental['rental_id']}", headers=AUTH))
            assert status["status"] == "expired"
            balance = body(await http.get("/balance", headers=AUTH))
            assert balance["balance"] == Decimal("25000.00")
        assert sb.rentals_of(DEMO_API_KEY)[0].refunded is True


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({}, 400, "pricing_id is required"),
        ({"data": {"pricing_id": ""}}, 400, "pricing_id is required"),
        ({"data": {"pricing_id": "abc"}}, 400, "pricing_id must be an integer"),
        ({"data": {"pricing_id": "4.2"}}, 400, "pricing_id must be an integer"),
        ({"json": {"pricing_id": True}}, 400, "pricing_id must be an integer"),
        ({"json": {"pricing_id": 42.0}}, 400, "pricing_id must be an integer"),
        ({"json": {}}, 400, "pricing_id is required"),
        ({"data": {"pricing_id": "999999"}}, 404, "Pricing option not found"),
        ({"json": {"pricing_id": -1}}, 404, "Pricing option not found"),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "Invalid JSON body",
        ),
    ],
)
async def test_rent_rejects_bad_pricing_ids(
    sandbox: Sandbox, client, kwargs, status, error
) -> None:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    response = await client.post("/rent", headers=headers, **kwargs)
    assert response.status_code == status
    assert body(response) == {"success": False, "error": error}
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00")


@pytest.mark.parametrize("payload", [{"json": {"pricing_id": 42}}, {"json": {"pricing_id": "42"}}])
async def test_rent_accepts_a_json_body(sandbox: Sandbox, client, payload) -> None:
    response = await client.post("/rent", headers=AUTH, **payload)
    assert response.status_code == 200
    assert body(response)["cost"] == Decimal("450.00")


async def test_accounts_are_separate_wallets(sandbox: Sandbox, client) -> None:
    sandbox.add_account("rn_test_other_account", Decimal("1000.00"))
    await rent(client, 42, key="rn_test_other_account")
    assert sandbox.balance_of("rn_test_other_account") == Decimal("550.00")
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00")
    with pytest.raises(ValueError):
        sandbox.add_account("rn_test_other_account", Decimal("1.00"))


async def test_concurrent_rents_never_oversell(sandbox: Sandbox, client) -> None:
    import asyncio

    sandbox.set_stock(42, 25)
    responses = await asyncio.gather(
        *(client.post("/rent", headers=AUTH, data={"pricing_id": 42}) for _ in range(30))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 25 + [400] * 5
    assert sandbox.stock_of(42) == 0
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00") - 25 * Decimal("450.00")
    assert len({r.rental_id for r in sandbox.rentals_of(DEMO_API_KEY)}) == 25
