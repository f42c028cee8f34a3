"""The command line against a server that is not the sandbox (issue 11): numbers no
amount can be and rows that cannot be read, through `HostileProxy` over loopback. One
sentence naming the field, a non-zero status, never a traceback; a list with a bad row
is used without it and the script is told on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox
from tests.e2e.hostile_proxy import HostileProxy, Rule, fields
from tests.e2e.pty import program_env

ROOT = Path(__file__).resolve().parents[2]
HUGE = "1e999999999999"


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[HostileProxy]:
    from rentnumber_tui.sandbox.server import running_server

    with running_server(sandbox) as url, HostileProxy(url) as proxy:
        yield proxy


def cli(proxy: HostileProxy, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rentnumber_tui", "--base-url", proxy.base_url, *args],
        env=program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("number", [HUGE, "9" * 5000, "0." + "0" * 40 + "1"])
def test_an_unusable_balance_is_one_sentence_naming_the_field(proxy, tmp_path, number):
    proxy.add(Rule("GET", "/balance", fields((("balance",), "replace", number))))
    done = cli(proxy, tmp_path, "balance")
    assert done.returncode == 1, done.stderr
    assert "'balance' as a number that is not a usable amount" in done.stderr
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr.split(":", 1)[0]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""


def test_a_bad_offer_row_is_left_out_and_said(proxy, tmp_path, sandbox):
    proxy.add(
        Rule(
            "GET", r"/services/[^/]+/prices", fields((("data", 0, "final_price"), "replace", HUGE))
        )
    )
    done = cli(proxy, tmp_path, "prices", "whatsapp", "--json")
    assert done.returncode == 0, done.stderr
    offers = json.loads(done.stdout)["offers"]
    every = [o for o in sandbox.catalog.offers if o.service_id == 1]
    assert len(offers) == len(every) - 1
    assert "warning: 1 row of the server's answer could not be read" in done.stderr
    assert "'data[0].final_price'" in done.stderr


def test_a_bad_service_row_is_left_out_and_said(proxy, tmp_path, sandbox):
    proxy.add(Rule("GET", "/services", fields((("data", 2, "id"), "replace", "9" * 5000))))
    done = cli(proxy, tmp_path, "services", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["services"]) == len(sandbox.catalog.services) - 1
    assert "'data[2].id' as a number that is not a usable amount" in done.stderr
