"""`SandboxProcess`: `rentnumber-tui sandbox` as a real process, steered through its
admin API, and `max_starts_in_any_window` over its request log."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, RequestRecord, Sandbox, SandboxConfig

from .sandbox_process import (
    SandboxAdminError,
    SandboxProcess,
    SandboxStartError,
    max_starts_in_any_window,
)

AUTH = {"X-API-KEY": DEMO_API_KEY}


def test_a_real_sandbox_process_logs_api_requests_and_acts_as_the_website() -> None:
    # The process builds the same catalog from the same seed: pick the offer here.
    offer = Sandbox(SandboxConfig(seed=1)).pick_offer("whatsapp")
    with SandboxProcess("--seed", "1", "--sms-delay", "600") as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/api/v1")
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            assert http.get("/services").status_code == 200
            balance = http.get("/balance", headers=AUTH)
            assert balance.status_code == 200
            assert balance.text == '{"success":true,"balance":25000.00,"currency":"NGN"}'

            log = server.wait_for_requests(2)
            assert [(r["seq"], r["method"], r["path"], r["status"]) for r in log] == [
                (1, "GET", "/api/v1/services", 200),
                (2, "GET", "/api/v1/balance", 200),
            ]
            assert all(abs(r["time"] - time.time()) < 60 for r in log)  # the real clock
            assert log[0]["monotonic"] <= log[1]["monotonic"]

            rental = server.create_rental(DEMO_API_KEY, offer.id)
            assert rental["status"] == "waiting" and rental["cost"] == offer.final_price
            assert server.balance(DEMO_API_KEY) == Decimal("25000.00") - offer.final_price
            server.deliver_sms(rental["rental_id"], code="424242")

            # The admin calls above were not logged: the cursor sees only the next request.
            status = http.get(f"/rental/{rental['rental_id']}", headers=AUTH).json()
            assert (status["status"], status["code"]) == ("received", "424242")
            assert status["phone"] == rental["phone"]
            later = server.wait_for_requests(1, since=2)
            assert [(r["seq"], r["path"]) for r in later] == [
                (3, f"/api/v1/rental/{rental['rental_id']}")
            ]
            history = http.get("/rentals", headers=AUTH).json()["data"]
            assert [r["rental_id"] for r in history] == [rental["rental_id"]]
        assert not [r for r in server.wait_for_requests(4) if "_sandbox" in r["path"]]
    assert server.returncode is not None  # stopped
    assert "Started server process" in server.stderr_text()


def test_admin_refusals_raise_with_the_servers_text() -> None:
    with SandboxProcess("--seed", "1") as server:
        with pytest.raises(SandboxAdminError) as refused:
            server.create_rental("rn_nobody", 1)
        assert refused.value.status == 401
        assert refused.value.error == "Unauthorized: missing or invalid API key"
        with pytest.raises(SandboxAdminError, match="Rental not found"):
            server.deliver_sms(5)


def test_enforce_rate_limit_answers_429_and_the_log_shows_why() -> None:
    with (
        SandboxProcess("--seed", "1", "--enforce-rate-limit") as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        # Back-to-back requests: on any machine a third lands within one second soon.
        statuses: list[int] = []
        deadline = time.monotonic() + 20
        while 429 not in statuses and time.monotonic() < deadline:
            statuses.append(http.get("/countries").status_code)
        assert 429 in statuses
        log = server.wait_for_requests(len(statuses))
        assert [r["status"] for r in log] == statuses
        answered = [r for r in log if r["status"] == 200]
        # The server let through at most 2 arrivals in any second, by its own clock.
        assert max_starts_in_any_window(answered) <= 2
        assert max_starts_in_any_window(log) >= 3
        # Admin calls are never throttled, however many.
        for _ in range(10):
            assert server.balance(DEMO_API_KEY) == Decimal("25000.00")


def test_a_sandbox_that_cannot_start_says_why() -> None:
    process = SandboxProcess("--sms-delay", "-1")
    with pytest.raises(SandboxStartError) as failed:
        process.start()
    message = str(failed.value)
    assert "exited before printing its base URL" in message
    assert "--sms-delay must be >= 0" in message  # stderr is quoted
    assert process.returncode == 2
    process.stop()  # harmless after a failed start


def test_stop_is_prompt_and_idempotent() -> None:
    server = SandboxProcess("--seed", "1").start()
    assert server.returncode is None
    assert server.stop() is not None
    assert server.stop() == server.returncode
    with pytest.raises(RuntimeError, match="not running"):
        server.requests()


def record(t: float) -> dict[str, float]:
    return {"monotonic": t}


@pytest.mark.parametrize(
    ("times", "window", "expected"),
    [
        ([], 1.0, 0),
        ([5.0], 1.0, 1),
        ([0.0, 0.5, 1.0, 1.5, 2.0], 1.0, 2),  # exactly 2 per second: [t, t+1) is half-open
        ([0.0, 0.3, 0.6, 5.0], 1.0, 3),
        ([0.6, 0.0, 5.0, 0.3], 1.0, 3),  # any order
        ([0.0, 0.99, 1.98, 2.97], 1.0, 2),
        ([0.0, 0.1, 0.2, 0.3], 0.25, 3),
        ([1.0, 1.0, 1.0], 1.0, 3),
    ],
)
def test_max_starts_in_any_window(times: list[float], window: float, expected: int) -> None:
    assert max_starts_in_any_window([record(t) for t in times], window) == expected


def test_max_starts_in_any_window_takes_request_records() -> None:
    records = [RequestRecord(t, "GET", "/api/v1/services", 200) for t in (10.0, 10.2, 10.4)]
    assert max_starts_in_any_window(records) == 3
    assert max_starts_in_any_window(records, window=0.3) == 2
