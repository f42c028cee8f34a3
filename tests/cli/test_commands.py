"""The command line, as a script runs it: `python -m rentnumber_tui --base-url URL COMMAND`
in a subprocess (its own engine, store and budget in a temporary home) against the
sandbox over loopback HTTP. Output parsed (`--json`), text checked, every exit status
provoked, Ctrl-C while waiting and while a rent is in flight."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox
from tests.e2e.pty import program_env

ROOT = Path(__file__).resolve().parents[2]
START = Decimal("25000.00")
MONEY = r"^-?\d+\.\d\d$"


@pytest.fixture
def base_url(sandbox: Sandbox) -> Iterator[str]:
    from rentnumber_tui.sandbox.server import running_server

    with running_server(sandbox) as url:
        yield url


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.out)


@pytest.fixture
def cli(base_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "user"

    def run(*args: str, key: str | None = DEMO_API_KEY, timeout: float = 60) -> Run:
        env = program_env(home, **({"RENTNUMBER_API_KEY": key} if key else {}))
        done = subprocess.run(
            [sys.executable, "-m", "rentnumber_tui", "--base-url", base_url, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    run.home = home  # type: ignore[attr-defined]
    return run


def test_balance_services_countries_prices(cli, sandbox: Sandbox) -> None:
    balance = cli("balance", "--json")
    assert balance.code == 0, balance.err
    assert balance.json == {"balance": "25000.00", "currency": "NGN"}
    assert cli("balance").out.strip() == "₦25,000.00"

    services = cli("services", "whats", "--json").json["services"]
    assert services[0]["slug"] == "whatsapp"
    assert isinstance(services[0]["min_price"], str)
    text = cli("services", "tele").out.splitlines()
    assert text[0].split() == ["SLUG", "SERVICE", "FROM", "PROVIDERS"]
    assert text[1].startswith("telegram")

    countries = cli("countries", "ng", "--json").json["countries"]
    assert countries[0]["iso_code"] == "NG"

    prices = cli("prices", "whatsapp", "--country", "Nigeria", "--json")
    assert prices.code == 0, prices.err
    offers = prices.json["offers"]
    assert [o["iso_code"] for o in offers] == ["NG"] * len(offers)
    available = [Decimal(o["price"]) for o in offers if o["available"]]
    assert available == sorted(available)  # cheapest first
    assert all(isinstance(o["price"], str) and o["price"].count(".") == 1 for o in offers)
    assert any(o["pricing_id"] == 42 for o in offers)


def test_rent_wait_status_and_cancel(cli, sandbox: Sandbox) -> None:
    rented = cli("rent", "whatsapp", "--country", "ng", "--provider", "Alpha", "--json")
    assert rented.code == 0, rented.err
    rental = rented.json
    assert set(rental) >= {"rental_id", "phone", "cost", "status", "code", "sms"}
    assert rental["cost"] == "450.00" and rental["pricing_id"] == 42 and rental["code"] is None
    assert rental["expires_at"].endswith("Z")
    rental_id = rental["rental_id"]
    assert sandbox.balance_of(DEMO_API_KEY) == START - Decimal("450.00")

    quiet = cli("rent", "--pricing-id", "42", "-q")
    assert quiet.code == 0, quiet.err
    second_phone = quiet.out.strip()
    assert second_phone.startswith("+") and "\n" not in second_phone

    sandbox.deliver_sms(rental_id, code="123987")
    waited = cli("wait", str(rental_id), "-q", "--timeout", "30")
    assert (waited.code, waited.out) == (0, "123987\n"), waited.err
    status = cli("status", str(rental_id), "--json").json
    assert status["status"] == "received" and status["code"] == "123987" and status["sms"]
    assert "123987" in cli("status", str(rental_id)).out

    (_, second) = sandbox.rentals_of(DEMO_API_KEY)
    cancelled = cli("cancel", str(second.rental_id), "--json")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.json["refunded"] is True and cancelled.json["amount"] == "450.00"
    without = cli("cancel", str(rental_id))
    assert without.code == 0 and "without a refund" in without.out and "123987" in without.out


def test_rent_and_wait_in_one_command(cli, sandbox: Sandbox) -> None:
    import threading

    def deliver_when_rented() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not sandbox.rentals_of(DEMO_API_KEY):
            time.sleep(0.05)  # polling a condition with a deadline
        (rental,) = sandbox.rentals_of(DEMO_API_KEY)
        sandbox.deliver_sms(rental.rental_id, code="445566")

    helper = threading.Thread(target=deliver_when_rented)
    helper.start()
    done = cli("rent", "whatsapp", "--country", "NG", "--wait", "--timeout", "60", "--json")
    helper.join()
    assert done.code == 0, done.err
    assert done.json["code"] == "445566" and "445566" in done.json["sms"]


def test_rentals_and_history(cli, sandbox: Sandbox) -> None:
    first = cli("rent", "--pricing-id", "42", "--json").json
    elsewhere = sandbox.state.rent(DEMO_API_KEY, 42)  # the website
    listed = cli("rentals", "--json")
    assert listed.code == 0, listed.err
    by_id = {r["rental_id"]: r for r in listed.json["rentals"]}
    assert by_id[first["rental_id"]]["origin"] == "here"
    assert by_id[elsewhere.rental_id]["origin"] == "elsewhere"
    table = cli("rentals").out.splitlines()
    assert table[0].split()[:3] == ["ID", "SERVICE", "NUMBER"]

    history = cli("history", "--json").json["rentals"]
    assert [r["rental_id"] for r in history][:2] == [elsewhere.rental_id, first["rental_id"]]
    assert cli("history", "--limit", "1", "--json").json["rentals"][0]["rental_id"] == (
        elsewhere.rental_id
    )
    rows = cli("history", "--csv").out.splitlines()
    assert rows[0].startswith("created,id,service,country,provider,number,status,cost,code")
    assert len(rows) == 3


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("usage", 2),
        ("bad-base-url", 2),
        ("no-key", 3),
        ("refused-key", 3),
        ("balance", 4),
        ("no-such-service", 5),
        ("sold-out", 5),
        ("above-max-price", 5),
        ("dearer-than-listed", 5),
        ("no-sms", 6),
        ("unknown-outcome", 7),
        ("server-error", 1),
    ],
)
def test_every_exit_status(cli, sandbox: Sandbox, base_url: str, case: str, code: int) -> None:
    if case == "usage":
        run = cli("rent")
    elif case == "bad-base-url":
        env = program_env(cli.home)
        done = subprocess.run(
            [sys.executable, "-m", "rentnumber_tui", "--base-url", "", "balance"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        run = Run(done.returncode, done.stdout, done.stderr)
        assert "--base-url is empty" in run.err
    elif case == "no-key":
        run = cli("balance", key=None)
        assert "No API key" in run.err
    elif case == "refused-key":
        run = cli("balance", key="rn_not_the_right_key_000")
    elif case == "balance":
        sandbox.set_balance(DEMO_API_KEY, Decimal("10.00"))
        run = cli("rent", "--pricing-id", "42")
        assert "balance" in run.err.lower()
    elif case == "no-such-service":
        run = cli("prices", "nosuchthingatallzz")
    elif case == "sold-out":
        for offer in sandbox.catalog.offers:
            sandbox.set_stock(offer.id, 0)
        run = cli("rent", "whatsapp", "--country", "NG")
        assert "No offer in stock" in run.err
    elif case == "above-max-price":
        run = cli("rent", "whatsapp", "--country", "NG", "--max-price", "100")
        assert "above --max-price" in run.err and "nothing was rented" in run.err
        assert sandbox.rentals_of(DEMO_API_KEY) == []
    elif case == "dearer-than-listed":
        sandbox.misreport(42, price=Decimal("300.00"))  # listed at 300, costs 450
        run = cli("rent", "--pricing-id", "42", "--max-price", "350", "--json")
        assert run.json["cancelled"] is True and run.json["refunded"] is True
        assert sandbox.balance_of(DEMO_API_KEY) == START  # refunded at once
        (rental,) = sandbox.rentals_of(DEMO_API_KEY)
        assert rental.status == "refunded"
    elif case == "no-sms":
        rented = cli("rent", "--pricing-id", "42", "--json").json
        run = cli("wait", str(rented["rental_id"]), "--timeout", "1")
        assert f"Rental {rented['rental_id']}" in run.err and "still active" in run.err
    elif case == "unknown-outcome":
        sandbox.faults.inject("502_html", "/rent", method="POST")
        run = cli("rent", "--pricing-id", "42")
        assert "journal keeps this rent" in run.err
    else:
        sandbox.faults.inject("500", "/balance", count=10)
        run = cli("balance")
    assert run.code == code, (run.out, run.err)
    assert "Traceback" not in run.err
    assert len([line for line in run.err.splitlines() if line.startswith("rentnumber-tui:")]) <= 1


def started(sandbox: Sandbox, method: str, path: str, timeout: float = 30) -> None:
    """Wait until the sandbox has at least begun a request (its fault was taken)."""
    deadline = time.monotonic() + timeout
    while not any(r.method == method and r.path == path for r in sandbox.request_log):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {method} {path} reached the sandbox")
        time.sleep(0.05)  # polling a condition with a deadline


def interrupt_wait(cli, sandbox: Sandbox, base_url: str, rental_id: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """`wait ID` in its own process, Ctrl-C once its first request reached the server:
    (exit status, stderr)."""
    sandbox.clear_request_log()
    waiting = spawn(cli, base_url, "wait", str(rental_id))
    started(sandbox, "GET", f"/api/v1/rental/{rental_id}")
    waiting.send_signal(signal.SIGINT)
    _, err = waiting.communicate(timeout=30)
    return waiting.returncode, err


def spawn(cli, base_url: str, *args: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    env = program_env(cli.home, RENTNUMBER_API_KEY=DEMO_API_KEY)
    return subprocess.Popen(
        [sys.executable, "-m", "rentnumber_tui", "--base-url", base_url, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_while_waiting_leaves_the_rental_active(cli, sandbox, base_url) -> None:
    rental_id = cli("rent", "--pricing-id", "42", "--json").json["rental_id"]
    code, err = interrupt_wait(cli, sandbox, base_url, rental_id)
    assert code == 130
    assert f"Rental {rental_id}" in err and "still active" in err
    assert sandbox.rentals_of(DEMO_API_KEY)[0].status == "waiting"


def test_ctrl_c_while_the_rental_is_looked_up_names_it_too(cli, sandbox, base_url) -> None:
    """Ctrl-C before `wait` has the rental's first answer (the server is slow): the words
    still name the rental left active (they said only "Interrupted." before)."""
    rental_id = cli("rent", "--pricing-id", "42", "--json").json["rental_id"]
    sandbox.faults.hang_seconds = 30.0
    sandbox.faults.inject("hang", f"/rental/{rental_id}", method="GET", count=5)
    code, err = interrupt_wait(cli, sandbox, base_url, rental_id)
    assert code == 130
    assert f"Rental {rental_id} is still active" in err, err


def test_ctrl_c_while_a_rent_is_in_flight_leaves_it_in_the_journal(cli, sandbox, base_url):
    sandbox.faults.hang_seconds = 30.0
    sandbox.faults.inject("hang", "/rent", method="POST")
    renting = spawn(cli, base_url, "rent", "--pricing-id", "42")
    deadline = time.monotonic() + 30
    while sandbox.faults.pending() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a condition with a deadline: the rent reached it
    renting.send_signal(signal.SIGINT)
    _, err = renting.communicate(timeout=30)
    assert renting.returncode == 130
    assert "in the journal" in err
    with sqlite3.connect(cli.home / "data" / "rentnumber-tui" / "rentnumber.sqlite3") as db:
        states = [row[0] for row in db.execute("SELECT state FROM purchases")]
    assert states == ["sending"] or states == ["unknown"]
    sandbox.faults.clear()


def test_the_cli_does_not_load_the_screen(cli) -> None:
    code = (
        "import sys; from rentnumber_tui.__main__ import main; "
        "main(['--demo', 'balance']); "
        "assert 'textual' not in sys.modules, 'textual loaded'"
    )
    env = program_env(cli.home)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert os.environ.get("RENTNUMBER_API_KEY") is None
