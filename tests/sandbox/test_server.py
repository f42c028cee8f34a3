"""The sandbox over real HTTP (uvicorn on 127.0.0.1), the documentation's own Python
example run against it, the CLI entry point, and import hygiene."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from decimal import Decimal

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox, SandboxConfig
from rentnumber_tui.sandbox.server import config_from_args, main, parse_args

AUTH = {"X-API-KEY": DEMO_API_KEY}


def test_real_http_round_trip(sandbox: Sandbox, loopback_server: str, clock) -> None:
    assert loopback_server.startswith("http://127.0.0.1:")
    assert loopback_server.endswith("/api/v1")
    with httpx.Client(base_url=loopback_server, timeout=5) as http:
        balance = http.get("/balance", headers=AUTH)
        assert balance.status_code == 200
        assert balance.text == '{"success":true,"balance":25000.00,"currency":"NGN"}'
        # Only the sandbox's own Date header (from the manual clock), no Server header.
        assert balance.headers.get_list("date") == ["Sun, 12 Apr 2026 14:00:00 GMT"]
        assert "server" not in balance.headers

        rented = http.post("/rent", headers=AUTH, data={"pricing_id": 42}).json()
        # State changed from this thread is what the server thread serves next.
        sandbox.deliver_sms(rented["rental_id"], code="314159")
        status = http.get(f"/rental/{rented['rental_id']}", headers=AUTH).json()
        assert (status["status"], status["code"]) == ("received", "314159")
        clock.advance(60)
        assert http.get("/countries").headers["date"] == "Sun, 12 Apr 2026 14:01:00 GMT"
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal("24550.00")


def test_drop_over_real_http_is_a_protocol_error(sandbox: Sandbox, loopback_server: str) -> None:
    sandbox.faults.inject("drop", "/rent")
    with httpx.Client(base_url=loopback_server, timeout=5) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/rent", headers=AUTH, data={"pricing_id": 42})
        balance = json.loads(http.get("/balance", headers=AUTH).text, parse_float=Decimal)
    assert balance["balance"] == Decimal("24550.00")
    assert len(sandbox.rentals_of(DEMO_API_KEY)) == 1


def test_hang_over_real_http_times_out_and_does_not_block_shutdown(
    sandbox: Sandbox, loopback_server: str
) -> None:
    sandbox.faults.inject("hang")
    with (
        httpx.Client(base_url=loopback_server, timeout=0.2) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.get("/services")
    with httpx.Client(base_url=loopback_server, timeout=5) as http:
        assert http.get("/services").status_code == 200


def test_cli_arguments() -> None:
    args = parse_args(["--host", "127.0.0.1", "--port", "8799", "--seed", "3", "--sms-delay", "10"])
    config = config_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 8799)
    assert (config.seed, config.sms_delay) == (3, (5.0, 15.0))
    assert config_from_args(parse_args(["--sms-delay", "0"])).sms_delay == (0.0, 0.0)
    assert config_from_args(parse_args([])) == SandboxConfig(seed=1)
    with pytest.raises(SystemExit):
        parse_args(["--sms-delay", "-1"])


def test_cli_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_importing_the_sandbox_is_cheap_and_independent() -> None:
    code = (
        "import json, sys\n"
        "import rentnumber_tui.sandbox as sb\n"
        "box = sb.Sandbox()\n"
        "built = box.state._catalog is not None\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'built': built}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(result.stdout)
    modules = set(report["modules"])
    assert "uvicorn" not in modules
    assert "httpx" not in modules and "textual" not in modules
    ours = {m for m in modules if m.startswith("rentnumber_tui.")}
    assert ours and all(m.startswith("rentnumber_tui.sandbox") for m in ours)
    assert "rentnumber_tui.sandbox.server" not in ours
    assert report["built"] is False  # the catalog is built on first use


def test_the_demo_key_does_not_look_like_a_leaked_key() -> None:
    import re

    assert not re.search(r"rn_[A-Za-z0-9]{20,}", DEMO_API_KEY)
    assert DEMO_API_KEY.startswith("rn_")
