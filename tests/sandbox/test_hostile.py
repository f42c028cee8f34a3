"""The sandbox's knobs for hostile and absurd data: hostile mode, misreported listings,
queued phone numbers, synthetic services, restored keys, the 401 fault, Retry-After."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from rentnumber_tui.sandbox.hostile import (
    HOSTILE_ERROR_SUFFIX,
    HOSTILE_LIST,
    HOSTILE_PHONE_SUFFIX,
    LONG_LENGTH,
)
from tests.sandbox.conftest import AUTH, BASE_URL, body, rent


@pytest.fixture
def hostile(clock: ManualClock) -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, sms_delay=(5, 20), hostile=True), clock=clock)


async def client_for(sandbox: Sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE_URL)


async def test_hostile_mode_puts_hostile_text_in_every_string(hostile: Sandbox, clock):
    async with await client_for(hostile) as http:
        services = body(await http.get("/services"))["data"]
        countries = body(await http.get("/countries"))["data"]
        prices = body(await http.get("/services/whatsapp/prices"))
        assert services[0]["name"].startswith("WhatsApp ")
        assert services[0]["slug"] == "whatsapp"  # slugs stay usable in URLs
        every_name = [s["name"] for s in services] + [c["name"] for c in countries]
        for text in HOSTILE_LIST:  # every class of hostile text occurs
            assert any(text in name for name in every_name)
        assert any(len(name) > LONG_LENGTH for name in every_name)
        assert any(c["flag"].startswith("\x1b]52") for c in countries)
        assert all(" " in o["provider_name"] for o in prices["data"])
        assert prices["service"]["name"] == services[0]["name"]

        offer = next(o for o in prices["data"] if o["stock"] > 0)
        rented = await rent(http, offer["id"])
        assert rented["phone"].endswith(HOSTILE_PHONE_SUFFIX)
        clock.advance(25)
        state = body(await http.get(f"/rental/{rented['rental_id']}", headers=AUTH))
        assert state["code"] and state["code"] in state["sms"]
        assert any(text in state["sms"] for text in HOSTILE_LIST)

        refused = await http.get("/balance", headers={"X-API-KEY": "rn_wrong"})
        assert body(refused)["error"].endswith(HOSTILE_ERROR_SUFFIX)


async def test_misreported_listing_changes_only_what_is_listed(client, sandbox: Sandbox):
    offer = sandbox.pick_offer("whatsapp", "NG")
    sandbox.misreport(offer.id, price=Decimal("-5.00"), stock=-3)
    data = body(await client.get("/services/whatsapp/prices"))["data"]
    listed = next(o for o in data if o["id"] == offer.id)
    assert (listed["final_price"], listed["stock"]) == (Decimal("-5.00"), -3)
    rented = await rent(client, offer.id)  # the truth still holds for renting
    assert rented["cost"] == offer.final_price
    with pytest.raises(KeyError):
        sandbox.misreport(999_999, price=Decimal(0))


async def test_queued_phone_numbers_go_to_the_next_rentals(client, sandbox: Sandbox):
    long_phone = "+234" + "9" * 196
    sandbox.queue_phones(long_phone)
    offer = sandbox.pick_offer("whatsapp", "NG")
    first = await rent(client, offer.id)
    second = await rent(client, offer.id)
    assert first["phone"] == long_phone and len(first["phone"]) == 200
    assert second["phone"] != long_phone


async def test_extra_services_make_a_huge_list(clock):
    sandbox = Sandbox(SandboxConfig(seed=7, extra_services=2950), clock=clock)
    async with await client_for(sandbox) as http:
        services = body(await http.get("/services"))["data"]
        assert len(services) == 3000
        assert services[-1]["slug"] == "service-2950"
        prices = body(await http.get("/services/service-2950/prices"))["data"]
        assert len(prices) == 1 and prices[0]["stock"] > 0


async def test_restored_key_works_again(client, sandbox: Sandbox):
    sandbox.revoke_key(DEMO_API_KEY)
    assert (await client.get("/balance", headers=AUTH)).status_code == 401
    sandbox.restore_key(DEMO_API_KEY)
    assert (await client.get("/balance", headers=AUTH)).status_code == 200


async def test_401_fault_refuses_one_request_without_executing_it(client, sandbox: Sandbox):
    offer = sandbox.pick_offer("whatsapp", "NG")
    sandbox.faults.inject("401", "/rent", method="POST")
    refused = await client.post("/rent", headers=AUTH, data={"pricing_id": offer.id})
    assert refused.status_code == 401 and body(refused)["success"] is False
    assert sandbox.rentals_of(DEMO_API_KEY) == []
    await rent(client, offer.id)  # the key itself still works


async def test_retry_after_of_the_429_fault_is_adjustable(client, sandbox: Sandbox):
    sandbox.faults.retry_after = "1"
    sandbox.faults.inject("429", "/services")
    answer = await client.get("/services")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "1"
