"""`DelayingProxy`: requests pass through unchanged, except a `POST /rent`, which the
upstream performs only after the client has given up (a timeout that still bought)."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox, SandboxConfig

from .delaying_proxy import DelayingProxy
from .sandbox_process import SandboxProcess

AUTH = {"X-API-KEY": DEMO_API_KEY}
DELAY = 2.0


def test_a_rent_that_timed_out_happens_later_on_the_account() -> None:
    offer = Sandbox(SandboxConfig(seed=1)).pick_offer("whatsapp")
    with (
        SandboxProcess("--seed", "1", "--sms-delay", "600") as server,
        DelayingProxy(server.base_url, delay=DELAY) as proxy,
        httpx.Client(base_url=proxy.base_url, timeout=0.5, trust_env=False) as http,
    ):
        with pytest.raises(httpx.TimeoutException):
            http.post("/rent", headers=AUTH, data={"pricing_id": offer.id})
        gave_up_wall = time.time()
        rents = server.wait_for_requests(1, where=lambda r: r["method"] == "POST", timeout=20)
        # The rent reached the sandbox only `DELAY` after the client gave up, and was done.
        [late] = [r for r in rents if r["method"] == "POST"]
        assert (late["path"], late["status"]) == ("/api/v1/rent", 200)
        assert late["time"] >= gave_up_wall + DELAY - 0.5
        with httpx.Client(base_url=server.base_url, timeout=10, trust_env=False) as direct:
            history = direct.get("/rentals", headers=AUTH).json()["data"]
        assert [r["status"] for r in history] == ["waiting"]
        assert server.balance(DEMO_API_KEY) == Decimal("25000.00") - offer.final_price

        [record] = proxy.wait_for_late_rents(1)
        assert record.status == 200
        assert record.forwarded - record.gave_up >= DELAY
        assert proxy.held == 0


def test_other_requests_pass_through_unchanged(sandbox: Sandbox, loopback_server: str) -> None:
    with (
        DelayingProxy(loopback_server) as proxy,
        httpx.Client(base_url=proxy.base_url, timeout=5, trust_env=False) as via,
        httpx.Client(base_url=loopback_server, timeout=5, trust_env=False) as direct,
    ):
        assert proxy.base_url.startswith("http://127.0.0.1:")
        assert proxy.base_url.endswith("/api/v1")
        for path in ("/services", "/countries", "/balance", "/nowhere", "/rental/5"):
            a, b = via.get(path, headers=AUTH), direct.get(path, headers=AUTH)
            assert (a.status_code, a.text) == (b.status_code, b.text)
            assert a.headers["date"] == b.headers["date"]  # the sandbox's clock shows through
            assert a.headers["content-type"] == b.headers["content-type"]
        # A POST other than /rent, with its body, goes through at once.
        rental = sandbox.state.rent(DEMO_API_KEY, sandbox.pick_offer("whatsapp").id)
        cancelled = via.post(f"/rental/{rental.rental_id}/cancel", headers=AUTH)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "refunded"
        answer = via.post("/rental/5/cancel", headers=AUTH, content=b"x" * 10_000)
        assert answer.status_code == 404
        assert proxy.late_rents == [] and proxy.held == 0


def test_the_upstream_must_be_loopback() -> None:
    # Refused before anything is opened: no socket, no lookup.
    for url in ("http://example.com/api/v1", "https://127.0.0.1/api/v1", "http://10.0.0.1/x"):
        with pytest.raises(ValueError, match="loopback"):
            DelayingProxy(url)


def test_close_drops_a_rent_still_held(sandbox: Sandbox, loopback_server: str) -> None:
    proxy = DelayingProxy(loopback_server, delay=3600)
    with (
        httpx.Client(base_url=proxy.base_url, timeout=0.2, trust_env=False) as http,
        pytest.raises(httpx.TimeoutException),
    ):
        http.post("/rent", headers=AUTH, data={"pricing_id": 42})
    deadline = time.monotonic() + 5
    while proxy.held != 1:  # the proxy may read the request just after the timeout
        assert time.monotonic() < deadline, "the rent was never held"
        time.sleep(0.01)
    proxy.close()
    assert proxy.late_rents == [] and proxy.held == 0
    assert sandbox.rentals_of(DEMO_API_KEY) == []
