"""One account, several real processes of this program on one machine, against
`rentnumber-tui sandbox` running as its own process over loopback HTTP.

Two TUIs run in ptys and a third process (the same engine without a screen, as a script
would) rents in a burst; the sandbox's own request log — not any client's idea of its
rate — shows whether the account ever saw more than 2 requests in a second. Rentals
made on the "website" (the sandbox's admin API) appear in a running TUI marked
`elsewhere`; killing the process that polls a rental leaves another one to show its code.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.e2e.pty import ESCAPE, F2, Pty, program_env
from tests.e2e.sandbox_process import SandboxProcess, max_starts_in_any_window
from tests.e2e.tui import confirm_rent, open_whatsapp_nigeria, start, store_path

WIDE = (120, 40)
#: WhatsApp / Nigeria / Alpha at ₦450.00 (the documentation's own example offer).
PRICING_ID = 42

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys and fcntl locks")


@pytest.fixture
def server() -> Iterator[SandboxProcess]:
    # SMS arrive only when a test delivers one.
    with SandboxProcess("--seed", "1", "--sms-delay", "600") as sandbox:
        yield sandbox


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "user"


def pump_until(apps: list[Pty], condition: Callable[[], object], what: str, timeout=60) -> None:
    """Keep every program's output read (a full pty would stall it) until `condition`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            screens = "\n\n".join(app.screen() for app in apps)
            raise AssertionError(f"timed out waiting for {what}; screens:\n{screens}")
        for app in apps:
            app.pump(0.02)


def busiest(log: list[dict[str, object]]) -> str:
    """The requests around the busiest second, for a failure message."""
    rows = sorted(log, key=lambda r: float(r["monotonic"]))  # type: ignore[arg-type]
    t0 = float(rows[0]["monotonic"])  # type: ignore[arg-type]
    return "\n".join(
        f"{float(r['monotonic']) - t0:9.3f} {r['method']} {r['path']} {r['status']}"  # type: ignore[arg-type]
        for r in rows
    )


def rentals_in_store(home: Path) -> dict[int, str]:
    """rental id → phone, as the processes recorded them (read like a bystander)."""
    with sqlite3.connect(store_path(home)) as db:
        return dict(db.execute("SELECT rental_id, phone FROM rentals"))


def back_to_services(app: Pty) -> None:
    # Wait after Esc: an Esc followed at once by a letter reads as Alt+letter.
    app.send(ESCAPE)
    app.wait_for(app.shows("RentNumber › Services"), "the services list")


def rent_in(app: Pty) -> None:
    """From the services list: WhatsApp, Nigeria, the first offer, rented."""
    open_whatsapp_nigeria(app)
    confirm_rent(app)
    app.wait_for(app.shows("Live rentals"), "the rental on screen")


def test_two_tuis_and_a_burst_keep_the_account_within_2_requests_a_second(
    server: SandboxProcess, home: Path
) -> None:
    env = program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY)
    first = start(server.base_url, home, WIDE)
    second = start(server.base_url, home, WIDE)
    apps = [first, second]
    try:
        rent_in(first)
        second.send(F2)
        burst = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.e2e.burst_worker",
                server.base_url,
                "4",
                "whatsapp",
                str(PRICING_ID),
            ],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        pump_until(apps, lambda: burst.poll() is not None, "the burst to finish", timeout=90)
        out, err = burst.communicate()
        assert burst.returncode == 0, err
        burst_ids = json.loads(out.strip().splitlines()[-1])["rentals"]
        assert len(burst_ids) == 4
        rent_in_second = lambda: len(rentals_in_store(home)) == 6  # noqa: E731
        back_to_services(second)
        rent_in(second)
        pump_until(apps, rent_in_second, "six rentals recorded")

        # Every rental reaches both screens (the live rentals list of each).
        phones = rentals_in_store(home).values()
        first.send(F2)
        for app in apps:
            pump_until(
                apps,
                lambda a=app: all(phone in a.screen() for phone in phones),
                "every rental on both screens",
            )
        # The account never saw more than 2 request starts in any 1-second window,
        # counted on the server's own clock, over everything the three processes did.
        log = server.requests()
        assert len(log) > 20
        assert max_starts_in_any_window(log) <= 2, busiest(log)
    finally:
        for app in apps:
            app.kill()


def test_rentals_made_on_the_website_appear_marked_elsewhere(
    server: SandboxProcess, home: Path
) -> None:
    before = server.create_rental(DEMO_API_KEY, PRICING_ID)  # rented before the app starts
    app = start(server.base_url, home, WIDE)
    try:
        app.send(F2)
        # (The rentals bar shows it on every screen: wait for the rentals screen itself.)
        app.wait_for(app.shows("RentNumber › Live rentals"), "the live rentals")
        app.wait_for(app.shows(before["phone"], "elsewhere"), "the earlier website rental")
        back_to_services(app)
        # One made while it runs is found with the look that follows a rent.
        during = server.create_rental(DEMO_API_KEY, PRICING_ID)
        rent_in(app)
        app.wait_for(app.shows(during["phone"]), "the website rental made meanwhile")
        app.wait_for(
            lambda: any(
                "elsewhere" in line for line in app.screen().splitlines() if during["phone"] in line
            ),
            "the website rental marked elsewhere",
        )
        server.deliver_sms(during["rental_id"], code="313131")
        app.wait_for(app.shows("313131"), "its code, followed like our own")
    finally:
        app.kill()


def lease_holder(home: Path, rental_id: int) -> int | None:
    """The pid of the process polling `rental_id`, from the shared store."""
    with sqlite3.connect(store_path(home)) as db:
        row = db.execute(
            "SELECT p.pid FROM leases l JOIN processes p ON p.owner = l.owner"
            " WHERE l.rental_id = ?",
            (rental_id,),
        ).fetchone()
    return int(row[0]) if row else None


def test_killing_the_process_that_polls_a_rental_leaves_the_other_to_show_its_code(
    server: SandboxProcess, home: Path
) -> None:
    first = start(server.base_url, home, WIDE)
    second = start(server.base_url, home, WIDE)
    apps = [first, second]
    try:
        rent_in(first)
        pump_until(apps, lambda: len(rentals_in_store(home)) == 1, "the rental recorded")
        ((rental_id, phone),) = rentals_in_store(home).items()
        second.send(F2)
        pump_until(apps, second.shows(phone), "the rental in the second window")
        pump_until(apps, lambda: lease_holder(home, rental_id), "someone polling it")
        holder = lease_holder(home, rental_id)
        poller, survivor = (first, second) if holder == first.process.pid else (second, first)
        assert holder == poller.process.pid

        poller.kill()
        server.deliver_sms(rental_id, code="909090")

        survivor.wait_for(survivor.shows("909090"), "the code in the surviving window")
        assert lease_holder(home, rental_id) == survivor.process.pid
    finally:
        for app in apps:
            app.kill()


def test_a_command_line_loop_next_to_a_tui_shares_its_budget_and_journal(
    server: SandboxProcess, home: Path
) -> None:
    """A script rents and asks with the command line while a TUI is open on the same
    account: each rental shows up in the TUI within seconds, and the account never sees
    more than 2 requests in a second."""
    env = program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY)
    tui = start(server.base_url, home, WIDE)
    try:
        tui.send(F2)
        tui.wait_for(tui.shows("RentNumber › Live rentals"), "the live rentals")
        phones = []
        for _ in range(3):
            run = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rentnumber_tui",
                    "--base-url",
                    server.base_url,
                    "rent",
                    "--pricing-id",
                    str(PRICING_ID),
                    "--json",
                ],
                env=env,
                cwd=Path(__file__).resolve().parents[2],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            pump_until([tui], lambda run=run: run.poll() is not None, "the command")
            out, err = run.communicate()
            assert run.returncode == 0, err
            rental = json.loads(out)
            phones.append(rental["phone"])
            tui.wait_for(tui.shows(rental["phone"]), "the command's rental in the TUI")
        assert all(phone in tui.screen() for phone in phones)
        log = server.requests()
        assert max_starts_in_any_window(log) <= 2, busiest(log)
    finally:
        tui.kill()
