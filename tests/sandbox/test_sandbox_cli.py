"""`rentnumber-tui sandbox`: its help shows each option's default (read from
`SandboxConfig`, so they cannot drift), and `--balance` sets the demo account's wallet,
refusing what is not an amount of naira."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, SandboxConfig
from rentnumber_tui.sandbox.server import (
    config_from_args,
    parse_args,
    running_server,
    sandbox_from_args,
)

ROOT = Path(__file__).resolve().parents[2]


def help_text(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--help"])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_shows_every_default(capsys):
    text = help_text(capsys)
    for shown in (
        "--host HOST address to listen on (default: 127.0.0.1)",
        "--port PORT port, 0: any free (default: 8765)",
        "--seed SEED catalog/SMS seed (default: 1)",
        "(default: 5-20 s)",
        "--balance NAIRA the demo account's starting balance (default: 25000.00)",
        "second (default: off)",
    ):
        assert shown in text, shown


def test_help_defaults_follow_the_sandbox_config(capsys, monkeypatch):
    from rentnumber_tui.sandbox import server

    class Richer(SandboxConfig):
        def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(**{"starting_balance": Decimal("99.50"), **kwargs})

    monkeypatch.setattr(server, "SandboxConfig", Richer)
    assert "(default: 99.50)" in help_text(capsys)


@pytest.mark.parametrize(
    ("given", "balance"),
    [("100", "100.00"), ("1500.5", "1500.50"), (" 0 ", "0.00"), ("1_000", "1000.00")],
)
def test_balance_sets_the_demo_wallet(given: str, balance: str):
    sandbox = sandbox_from_args(parse_args(["--balance", given]))
    assert sandbox.config.starting_balance == Decimal(balance)
    assert sandbox.balance_of(DEMO_API_KEY) == Decimal(balance)
    assert str(sandbox.balance_of(DEMO_API_KEY)) == balance


def test_without_balance_the_config_is_the_default():
    assert config_from_args(parse_args([])) == SandboxConfig()
    assert config_from_args(parse_args(["--seed", "3"])).starting_balance == Decimal("25000.00")


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("abc", "must be an amount from 0 to 1,000,000,000 such as 25000 or 1500.50, not 'abc'"),
        ("-1", "not '-1'"),
        ("nan", "not 'nan'"),
        ("Infinity", "not 'Infinity'"),
        ("2000000000", "not '2000000000'"),
        ("", "not ''"),
        ("10.001", "must have at most 2 decimals (kobo), not '10.001'"),
    ],
)
def test_a_bad_balance_is_a_clear_usage_error(capsys, given: str, why: str):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--balance", given])
    assert exit_.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("rentnumber-tui sandbox: error: argument --balance: must ")
    assert last.endswith(why)


def test_the_config_refuses_a_negative_balance():
    with pytest.raises(ValueError, match="starting_balance"):
        SandboxConfig(starting_balance=Decimal("-0.01"))


def test_the_balance_is_served_over_http():
    sandbox = sandbox_from_args(parse_args(["--balance", "321.09"]))
    with running_server(sandbox) as base_url, httpx.Client(base_url=base_url, timeout=5) as http:
        answer = http.get("/balance", headers={"X-API-KEY": DEMO_API_KEY})
    assert answer.text == '{"success":true,"balance":321.09,"currency":"NGN"}'


def test_the_program_rejects_a_bad_balance_before_listening():
    done = subprocess.run(
        [sys.executable, "-m", "rentnumber_tui", "sandbox", "--balance", "lots", "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "argument --balance: must be an amount" in done.stderr
    assert done.stdout == ""
