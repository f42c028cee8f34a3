"""Fault knobs and the one-shot fault queue: what the client gets, and whether the
request was executed (which matters for the non-idempotent `POST /rent`)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig

from .conftest import AUTH, BASE_URL, body, rent

START = datetime(2026, 4, 12, 14, 0, tzinfo=UTC)


async def post_rent(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/rent", headers=AUTH, data={"pricing_id": 42})


def rented(sandbox: Sandbox) -> int:
    """How many rentals the demo account has (the server-side truth)."""
    return len(sandbox.rentals_of(DEMO_API_KEY))


async def test_502_html_is_not_executed(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("502_html", "/rent")
    response = await post_rent(client)
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    assert response.text.startswith("<html>") and "502 Bad Gateway" in response.text
    assert response.headers["date"] == "Sun, 12 Apr 2026 14:00:00 GMT"
    assert rented(sandbox) == 0 and sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00")
    assert (await post_rent(client)).status_code == 200  # one-shot


async def test_success_false_200_is_not_executed(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("success_false_200", "/rent")
    response = await post_rent(client)
    assert response.status_code == 200
    data = body(response)
    assert data["success"] is False and data["error"]
    assert rented(sandbox) == 0


async def test_injected_429_has_retry_after_2_and_is_not_executed(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("429")
    response = await post_rent(client)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert body(response)["success"] is False
    assert rented(sandbox) == 0


async def test_500_is_executed_then_fails(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("500", "/rent")
    response = await post_rent(client)
    assert response.status_code == 500
    assert body(response) == {"success": False, "error": "Internal server error"}
    assert rented(sandbox) == 1
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")


async def test_truncated_json_is_executed(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("truncated_json", "/rent")
    response = await post_rent(client)
    assert response.status_code == 200
    assert response.text.startswith('{"success":true')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert rented(sandbox) == 1


async def test_wrong_types(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("wrong_types", "/rent")
    data = body(await post_rent(client))
    assert data["success"] is True
    assert data["rental_id"] == "1001"
    assert data["cost"] == "450.00"
    assert isinstance(data["phone"], int) and isinstance(data["status"], int)
    assert rented(sandbox) == 1

    sandbox.faults.inject("wrong_types", "/services")
    item = body(await client.get("/services"))["data"][0]
    assert {k: type(v) for k, v in item.items()} == {
        "id": str,
        "slug": int,
        "name": int,
        "provider_count": str,
        "min_price": str,
    }


async def test_wrong_types_null_fields(sandbox: Sandbox, client) -> None:
    await rent(client, 42)
    sandbox.faults.inject("wrong_types", "/rental/")
    data = body(await client.get("/rental/1001", headers=AUTH))
    assert data["code"] is False and data["sms"] is False


async def test_missing_fields(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("missing_fields", "/rent")
    assert body(await post_rent(client)) == {"success": True}
    assert rented(sandbox) == 1

    sandbox.faults.inject("missing_fields", "/services", count=2)
    services = body(await client.get("/services"))
    assert set(services) == {"success", "data"}
    assert all(item == {"id": item["id"]} for item in services["data"])
    prices = body(await client.get("/services/whatsapp/prices"))
    assert "service" not in prices and prices["data"][0] == {"id": prices["data"][0]["id"]}


async def test_unknown_status(sandbox: Sandbox, client) -> None:
    await rent(client, 42)
    sandbox.faults.inject("unknown_status", count=3)
    assert body(await client.get("/rental/1001", headers=AUTH))["status"] == "on_hold"
    assert body(await client.get("/rentals", headers=AUTH))["data"][0]["status"] == "on_hold"
    assert body(await post_rent(client))["status"] == "on_hold"
    assert body(await client.get("/rental/1001", headers=AUTH))["status"] == "waiting"


async def test_hang_is_not_executed_and_outlasts_a_client_timeout(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("hang", "/rent")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(post_rent(client), timeout=0.05)
    assert rented(sandbox) == 0
    assert sandbox.request_log[-1].status == 0  # no response was sent
    assert (await post_rent(client)).status_code == 200


async def test_drop_is_executed_and_surfaces_as_a_protocol_error(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("drop", "/rent")
    with pytest.raises(httpx.RemoteProtocolError):
        await post_rent(client)
    assert rented(sandbox) == 1
    assert sandbox.request_log[-1].status == 0


async def test_rent_response_delay_commits_first(sandbox: Sandbox, client) -> None:
    sandbox.faults.rent_response_delay = 30.0
    assert (await client.get("/balance", headers=AUTH)).status_code == 200  # not delayed
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(post_rent(client), timeout=0.05)
    assert rented(sandbox) == 1
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")
    sandbox.set_stock(42, 0)
    # A refused rent is not delayed either.
    refused = await asyncio.wait_for(post_rent(client), timeout=5)
    assert refused.status_code == 400


async def test_latency_delays_every_answer(sandbox: Sandbox, client) -> None:
    sandbox.faults.latency = 30.0
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get("/services"), timeout=0.05)
    sandbox.faults.latency = 0.0
    assert (await asyncio.wait_for(client.get("/services"), timeout=5)).status_code == 200


async def test_injection_matches_path_segments_and_method(sandbox: Sandbox, client) -> None:
    await rent(client, 42)
    sandbox.faults.inject("500", "/rent")
    assert (await client.get("/rentals", headers=AUTH)).status_code == 200  # not /rent
    assert (await client.get("/rental/1001", headers=AUTH)).status_code == 200
    assert (await post_rent(client)).status_code == 500

    sandbox.faults.inject("500", "/api/v1/rental/", method="POST")
    assert (await client.get("/rental/1001", headers=AUTH)).status_code == 200
    assert (await client.post("/rental/1001/cancel", headers=AUTH)).status_code == 500
    assert sandbox.faults.pending() == []


async def test_injection_count_and_order(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("429", "/services", count=2)
    sandbox.faults.inject("502_html", "/services")
    statuses = [(await client.get("/services")).status_code for _ in range(4)]
    assert statuses == [429, 429, 502, 200]


def test_unknown_fault_kind_is_rejected(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.faults.inject("teapot")
    with pytest.raises(ValueError):
        sandbox.faults.inject("500", count=0)


async def test_probabilistic_502s(sandbox: Sandbox, client) -> None:
    sandbox.faults.error_502_probability = 1.0
    for _ in range(3):
        response = await post_rent(client)
        assert response.status_code == 502 and "<html>" in response.text
    assert rented(sandbox) == 0


async def test_probabilistic_malformed_json(sandbox: Sandbox, client) -> None:
    sandbox.faults.malformed_json_probability = 1.0
    response = await client.get("/countries")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def _fault_pattern(seed: int) -> list[int]:
    sb = Sandbox(SandboxConfig(seed=seed), clock=ManualClock(START))
    sb.faults.error_502_probability = 0.5

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=sb)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            return [(await http.get("/countries")).status_code for _ in range(40)]

    return asyncio.run(run())


def test_probabilistic_faults_are_seeded() -> None:
    first = _fault_pattern(7)
    assert first == _fault_pattern(7)
    assert 5 < first.count(502) < 35 and first.count(200) == 40 - first.count(502)
    assert first != _fault_pattern(8)


async def test_clear_turns_everything_off(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("500", count=5)
    sandbox.faults.error_502_probability = 1.0
    sandbox.faults.enforce_rate_limit = True
    sandbox.faults.clear()
    assert sandbox.faults.pending() == []
    assert (await client.get("/services")).status_code == 200


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_rate_limit_knob(clock) -> None:
    ticks = FakeMonotonic()
    sb = Sandbox(SandboxConfig(seed=7), clock=clock, monotonic=ticks)
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:

        async def at(t: float) -> httpx.Response:
            ticks.now = 100.0 + t
            return await http.get("/balance", headers=AUTH)

        # Off by default: a burst passes.
        assert [(await at(0.0)).status_code for _ in range(5)] == [200] * 5

        sb.faults.enforce_rate_limit = True
        # Exactly 2 per second is fine...
        assert [(await at(t)).status_code for t in (10.0, 10.5, 11.0, 11.5, 12.0)] == [200] * 5
        # ...a third within one second is refused, with Retry-After: 1.
        assert (await at(20.0)).status_code == 200
        assert (await at(20.3)).status_code == 200
        refused = await at(20.6)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert body(refused) == {"success": False, "error": "Too many requests. Please slow down."}
        # Refused arrivals count too: waiting the Retry-After clears the window.
        assert (await at(21.61)).status_code == 200

    log = sb.request_log
    assert [r.monotonic - 100.0 for r in log][-4:] == pytest.approx([20.0, 20.3, 20.6, 21.61])
    assert [r.status for r in log][-4:] == [200, 200, 429, 200]
    assert {(r.method, r.path) for r in log} == {("GET", "/api/v1/balance")}


async def test_rate_limited_requests_are_not_executed(clock) -> None:
    ticks = FakeMonotonic()
    sb = Sandbox(SandboxConfig(seed=7), clock=clock, monotonic=ticks)
    sb.faults.enforce_rate_limit = True
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        statuses = [(await post_rent(http)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert rented(sb) == 2


async def test_request_log_records_every_request(sandbox: Sandbox, client) -> None:
    await client.get("/services")
    await client.get("/balance")
    await client.post("/rent", headers=AUTH, data={"pricing_id": 42})
    await client.get("/elsewhere")
    log = sandbox.request_log
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/api/v1/services", 200),
        ("GET", "/api/v1/balance", 401),
        ("POST", "/api/v1/rent", 200),
        ("GET", "/api/v1/elsewhere", 404),
    ]
    assert [r.monotonic for r in log] == sorted(r.monotonic for r in log)


async def test_short_delays_still_answer(sandbox: Sandbox, client) -> None:
    sandbox.faults.latency = 0.01
    sandbox.faults.rent_response_delay = 0.01
    response = await asyncio.wait_for(post_rent(client), timeout=10)
    assert response.status_code == 200 and body(response)["rental_id"] == 1001
    assert sandbox.request_log[-1].status == 200


async def test_rate_limit_is_adjustable(clock) -> None:
    ticks = FakeMonotonic()
    sb = Sandbox(SandboxConfig(seed=7), clock=clock, monotonic=ticks)
    sb.faults.enforce_rate_limit = True
    sb.faults.rate_limit_requests = 1
    sb.faults.rate_limit_window = 0.5
    transport = httpx.ASGITransport(app=sb)
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        for t in (0.0, 0.4, 1.0, 1.5):
            ticks.now = 100.0 + t
            statuses.append((await http.get("/services")).status_code)
    assert statuses == [200, 429, 200, 200]
