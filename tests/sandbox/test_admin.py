"""The admin API under `/_sandbox/` (what end-to-end tests in other processes use to
see the request log and act as the provider's website), in-process on ASGITransport."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, RequestRecord, Sandbox, SandboxConfig
from rentnumber_tui.sandbox.server import ADMIN_EPILOG, parse_args, sandbox_from_args

from .conftest import AUTH, BASE_URL, body, rent

ADMIN = "http://sandbox/_sandbox"
START_POSIX = 1776002400.0  # 2026-04-12 14:00:00 UTC, the shared `clock` fixture's start


async def requests_log(http: httpx.AsyncClient, since: int | None = None) -> list[dict[str, Any]]:
    params = {} if since is None else {"since": since}
    response = await http.get(f"{ADMIN}/requests", params=params)
    assert response.status_code == 200, response.text
    data = response.json()  # no money here: `monotonic` and `time` are plain floats
    assert data["success"] is True
    return list(data["data"])


async def website_rent(http: httpx.AsyncClient, pricing_id: int, key: str = DEMO_API_KEY) -> Any:
    response = await http.post(f"{ADMIN}/rentals", data={"key": key, "pricing_id": pricing_id})
    assert response.status_code == 200, response.text
    return body(response)


async def test_requests_lists_api_requests_in_arrival_order(sandbox: Sandbox, client) -> None:
    await client.get("/services")
    await client.get("/balance", headers=AUTH)
    await client.get("/rental/999", headers=AUTH)
    log = await requests_log(client)
    assert log == [
        {
            "seq": 1,
            "monotonic": log[0]["monotonic"],
            "time": START_POSIX,
            "method": "GET",
            "path": "/api/v1/services",
            "status": 200,
        },
        {
            "seq": 2,
            "monotonic": log[1]["monotonic"],
            "time": START_POSIX,
            "method": "GET",
            "path": "/api/v1/balance",
            "status": 200,
        },
        {
            "seq": 3,
            "monotonic": log[2]["monotonic"],
            "time": START_POSIX,
            "method": "GET",
            "path": "/api/v1/rental/999",
            "status": 404,
        },
    ]
    assert [r["monotonic"] for r in log] == sorted(r["monotonic"] for r in log)
    assert all(isinstance(r["monotonic"], float) for r in log)
    # The same records as the in-process hook, seq and time included.
    assert [(r.seq, r.time, r.path) for r in sandbox.request_log] == [
        (r["seq"], r["time"], r["path"]) for r in log
    ]


async def test_time_is_the_sandbox_clock_at_arrival(sandbox: Sandbox, client, clock) -> None:
    await client.get("/countries")
    clock.advance(90)
    await client.get("/countries")
    assert [r["time"] for r in await requests_log(client)] == [START_POSIX, START_POSIX + 90]


async def test_since_returns_only_later_records(sandbox: Sandbox, client) -> None:
    for _ in range(3):
        await client.get("/services")
    assert [r["seq"] for r in await requests_log(client, since=0)] == [1, 2, 3]
    assert [r["seq"] for r in await requests_log(client, since=2)] == [3]
    assert await requests_log(client, since=3) == []
    # Clearing the log never reuses a number: a cursor taken before stays valid.
    sandbox.clear_request_log()
    await client.get("/countries")
    assert [(r["seq"], r["path"]) for r in await requests_log(client, since=3)] == [
        (4, "/api/v1/countries")
    ]
    response = await client.get(f"{ADMIN}/requests", params={"since": "x"})
    assert response.status_code == 400
    assert body(response) == {"success": False, "error": "since must be an integer"}


async def test_admin_requests_are_never_logged(sandbox: Sandbox, client) -> None:
    offer = sandbox.pick_offer("whatsapp")
    rental = await website_rent(client, offer.id)
    await client.post(f"{ADMIN}/sms", data={"rental_id": rental["rental_id"], "code": "1234"})
    await client.get(f"{ADMIN}/balance", params={"key": DEMO_API_KEY})
    await client.get(f"{ADMIN}/nowhere")
    await requests_log(client)
    assert sandbox.request_log == []
    assert await requests_log(client) == []


async def test_admin_requests_are_not_faulted(sandbox: Sandbox, client) -> None:
    sandbox.faults.inject("502_html")  # the next request of any path and method
    sandbox.faults.inject("hang", "/_sandbox/")
    sandbox.faults.error_502_probability = 1.0
    sandbox.faults.malformed_json_probability = 1.0
    offer = sandbox.pick_offer("whatsapp")
    rental = await website_rent(client, offer.id)
    sms = await client.post(f"{ADMIN}/sms", data={"rental_id": rental["rental_id"]})
    assert sms.status_code == 200
    balance = await client.get(f"{ADMIN}/balance", params={"key": DEMO_API_KEY})
    assert body(balance)["balance"] == str(Decimal("25000.00") - offer.final_price)
    assert await requests_log(client) == []
    # Not one injection was used up by the admin calls.
    assert sandbox.faults.pending() == [("502_html", None, 1), ("hang", "/_sandbox/", 1)]
    sandbox.faults.error_502_probability = 0.0
    sandbox.faults.malformed_json_probability = 0.0
    assert (await client.get("/services")).status_code == 502  # the API request gets it
    assert sandbox.faults.pending() == [("hang", "/_sandbox/", 1)]


async def test_admin_requests_are_not_rate_limited_or_counted(clock) -> None:
    # Every request arrives at the same instant, as far as the rate limit can tell.
    sb = Sandbox(SandboxConfig(seed=7), clock=clock, monotonic=lambda: 100.0)
    sb.faults.enforce_rate_limit = True
    sb.faults.latency = 30.0  # would make every API request wait; admin ones never do
    transport = httpx.ASGITransport(app=sb)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        for _ in range(10):
            response = await http.get(f"{ADMIN}/balance", params={"key": DEMO_API_KEY})
            assert response.status_code == 200
        sb.faults.latency = 0.0
        # The admin calls took none of the window: two API requests still go through.
        assert [(await http.get("/services")).status_code for _ in range(3)] == [200, 200, 429]


async def test_website_rental_debits_and_shows_in_the_account_history(
    sandbox: Sandbox, client
) -> None:
    offer = sandbox.pick_offer("whatsapp")
    stock = sandbox.stock_of(offer.id)
    rental = await website_rent(client, offer.id)
    assert set(rental) == {
        "success",
        "rental_id",
        "phone",
        "status",
        "cost",
        "created_at",
        "expires_at",
    }
    assert rental["success"] is True
    assert rental["status"] == "waiting"
    assert rental["cost"] == str(offer.final_price) and isinstance(rental["cost"], str)
    assert rental["created_at"] == "2026-04-12 14:00:00"
    assert rental["expires_at"] == "2026-04-12 14:15:00"
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("25000.00") - offer.final_price
    assert sandbox.stock_of(offer.id) == stock - 1

    history = body(await client.get("/rentals", headers=AUTH))["data"]
    assert [(r["rental_id"], r["phone"], r["cost"]) for r in history] == [
        (rental["rental_id"], rental["phone"], offer.final_price)
    ]
    # The API's own rentals and the website's share one id sequence and one wallet.
    api_rental = await rent(client, offer.id)
    assert api_rental["rental_id"] == rental["rental_id"] + 1
    history = body(await client.get("/rentals", headers=AUTH))["data"]
    assert [r["rental_id"] for r in history] == [api_rental["rental_id"], rental["rental_id"]]


async def test_website_rental_gets_its_sms_on_schedule(sandbox: Sandbox, client, clock) -> None:
    rental = await website_rent(client, sandbox.pick_offer("whatsapp").id)
    clock.advance(21)  # SMS within 5-20 s
    status = body(await client.get(f"/rental/{rental['rental_id']}", headers=AUTH))
    assert status["status"] == "received" and status["code"]


async def test_website_rental_accepts_json(sandbox: Sandbox, client) -> None:
    offer = sandbox.pick_offer("whatsapp")
    response = await client.post(
        f"{ADMIN}/rentals", json={"key": DEMO_API_KEY, "pricing_id": offer.id}
    )
    assert response.status_code == 200, response.text
    assert body(response)["rental_id"] == 1001


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"pricing_id": "42"}, 400, "key is required"),
        ({"key": DEMO_API_KEY}, 400, "pricing_id is required"),
        ({"key": DEMO_API_KEY, "pricing_id": "x"}, 400, "pricing_id must be an integer"),
        ({"key": DEMO_API_KEY, "pricing_id": "999999"}, 404, "Pricing option not found"),
        ({"key": "rn_nobody", "pricing_id": "42"}, 401, "Unauthorized: missing or invalid API key"),
    ],
)
async def test_website_rental_refusals(
    sandbox: Sandbox, client, params: dict[str, str], status: int, error: str
) -> None:
    response = await client.post(f"{ADMIN}/rentals", data=params)
    assert response.status_code == status
    assert body(response) == {"success": False, "error": error}
    assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_website_rental_follows_the_wallet_and_stock_rules(sandbox: Sandbox, client) -> None:
    offer = sandbox.pick_offer("whatsapp")
    sandbox.set_balance(DEMO_API_KEY, offer.final_price - Decimal("0.01"))
    response = await client.post(
        f"{ADMIN}/rentals", data={"key": DEMO_API_KEY, "pricing_id": offer.id}
    )
    assert response.status_code == 400
    assert body(response)["error"].startswith("Insufficient balance. Need ₦")
    sandbox.set_balance(DEMO_API_KEY, Decimal("25000.00"))
    sandbox.set_stock(offer.id, 0)
    response = await client.post(
        f"{ADMIN}/rentals", data={"key": DEMO_API_KEY, "pricing_id": offer.id}
    )
    assert response.status_code == 400
    assert body(response)["error"] == "Out of stock for this pricing option"


async def test_sms_is_delivered_now(sandbox: Sandbox, client) -> None:
    rental = await website_rent(client, sandbox.pick_offer("whatsapp").id)
    rid = rental["rental_id"]
    response = await client.post(f"{ADMIN}/sms", data={"rental_id": rid, "code": "424242"})
    assert response.status_code == 200
    assert body(response) == {"success": True, "rental_id": rid}
    status = body(await client.get(f"/rental/{rid}", headers=AUTH))
    assert (status["status"], status["code"]) == ("received", "424242")

    # Text only: the code is found in it. JSON works as well as a form.
    text = "Your code is 777111. Do not share it."
    response = await client.post(f"{ADMIN}/sms", json={"rental_id": rid, "text": text})
    assert response.status_code == 200
    status = body(await client.get(f"/rental/{rid}", headers=AUTH))
    assert (status["code"], status["sms"]) == ("777111", text)


async def test_sms_refusals(sandbox: Sandbox, client) -> None:
    response = await client.post(f"{ADMIN}/sms", data={"rental_id": "5"})
    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "Rental not found"}
    response = await client.post(f"{ADMIN}/sms", data={})
    assert (response.status_code, body(response)["error"]) == (400, "rental_id is required")

    rental = await website_rent(client, sandbox.pick_offer("whatsapp").id)
    await client.post(f"/rental/{rental['rental_id']}/cancel", headers=AUTH)
    response = await client.post(f"{ADMIN}/sms", data={"rental_id": rental["rental_id"]})
    assert response.status_code == 409
    assert "already refunded" in body(response)["error"]


async def test_balance(sandbox: Sandbox, client) -> None:
    sandbox.set_balance(DEMO_API_KEY, Decimal("1234.5"))
    response = await client.get(f"{ADMIN}/balance", params={"key": DEMO_API_KEY})
    assert response.status_code == 200
    assert response.text == '{"success":true,"balance":"1234.50","currency":"NGN"}'
    response = await client.get(f"{ADMIN}/balance", params={"key": "rn_nobody"})
    assert response.status_code == 404
    assert body(response) == {"success": False, "error": "No account with this key"}
    response = await client.get(f"{ADMIN}/balance")
    assert (response.status_code, body(response)["error"]) == (400, "key is required")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "", 404),
        ("GET", "/", 404),
        ("GET", "/unknown", 404),
        ("POST", "/requests", 405),
        ("GET", "/rentals", 405),
        ("DELETE", "/sms", 405),
    ],
)
async def test_unknown_admin_paths_and_methods(
    sandbox: Sandbox, client, method: str, path: str, status: int
) -> None:
    response = await client.request(method, f"{ADMIN}{path}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    data = body(response)
    assert data["success"] is False and data["error"]
    assert sandbox.request_log == []


async def test_invalid_json_body(client) -> None:
    response = await client.post(
        f"{ADMIN}/rentals", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert (response.status_code, body(response)["error"]) == (400, "Invalid JSON body")


def test_request_record_keeps_its_old_shape() -> None:
    record = RequestRecord(1.5, "GET", "/api/v1/services", 200)
    assert (record.seq, record.time) == (0, 0.0)
    assert record == RequestRecord(monotonic=1.5, method="GET", path="/api/v1/services", status=200)


def test_cli_enforce_rate_limit_and_help() -> None:
    assert sandbox_from_args(parse_args([])).faults.enforce_rate_limit is False
    sandbox = sandbox_from_args(parse_args(["--enforce-rate-limit", "--seed", "4"]))
    assert sandbox.faults.enforce_rate_limit is True
    assert sandbox.config.seed == 4
    assert "/_sandbox/requests" in ADMIN_EPILOG and "/_sandbox/rentals" in ADMIN_EPILOG


def test_help_documents_the_admin_api(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--enforce-rate-limit" in out
    assert "GET /_sandbox/requests[?since=SEQ]" in out
