"""Recovery of the real program: killed with SIGKILL mid-work, or cut off by SIGHUP.

The sandbox serves over real HTTP on 127.0.0.1; `rentnumber-tui --base-url …` runs in a
pty with its store in a temporary XDG_DATA_HOME and is driven by keystrokes, as a
person would. SMS arrive only when the test delivers them (the sandbox's clock stands
still), so every step is deterministic.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from tests.e2e.pty import ESCAPE, F2
from tests.e2e.tui import confirm_rent, open_store, open_whatsapp_nigeria, start, store_path

START = Decimal("25000.00")
#: A rental's row counts its time left by the minute (`row_countdown`): 15 minutes.
COUNTDOWN = re.compile(r"\b1[0-4] min\b")


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    """SMS only when the test delivers one (the manual clock never reaches the delay)."""
    sandbox = Sandbox(SandboxConfig(seed=7, sms_delay=(600, 600)), clock=clock)
    _ = sandbox.catalog  # built now, not inside the first request (see tests/conftest.py)
    return sandbox


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[str]:
    from rentnumber_tui.sandbox.server import running_server

    with running_server(sandbox) as base_url:
        yield base_url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "user"


def test_sigkill_with_rentals_active_and_a_rent_in_flight(sandbox, server, home):
    app = start(server, home)
    open_whatsapp_nigeria(app)

    # A: rented, and its code arrives (on screen before the kill).
    confirm_rent(app)
    app.wait_for(app.shows("Live rentals"), "the first rental")
    (a,) = sandbox.rentals_of(DEMO_API_KEY)
    sandbox.deliver_sms(a.rental_id, code="246810")
    app.wait_for(app.shows("246810"), "the first code on screen")

    # B: rented, still waiting for its SMS.
    app.send(ESCAPE)
    app.wait_for(app.shows("Stock ▼"), "back at the prices")
    confirm_rent(app)
    app.wait_for(lambda: len(sandbox.rentals_of(DEMO_API_KEY)) == 2, "the second rental")
    app.wait_for(app.shows("Live rentals", sandbox.rentals_of(DEMO_API_KEY)[1].phone), "B shown")
    b = sandbox.rentals_of(DEMO_API_KEY)[1]

    # C: the server rents it, but its answer is 30 s late; the kill lands meanwhile.
    app.send(ESCAPE)
    app.wait_for(app.shows("Stock ▼"), "back at the prices")
    sandbox.faults.rent_response_delay = 30.0
    confirm_rent(app)
    app.wait_for(lambda: len(sandbox.rentals_of(DEMO_API_KEY)) == 3, "C rented server-side")
    app.wait_for(app.shows("Renting…"), "the dialog waiting for the answer")
    app.kill()
    sandbox.faults.rent_response_delay = 0.0
    c = sandbox.rentals_of(DEMO_API_KEY)[2]

    # What the crash left on disk: A (with its code) and B, and C's purchase unresolved.
    with sqlite3.connect(store_path(home)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = open_store(home, server)
    assert {r.rental_id for r in store.load_rentals()} == {a.rental_id, b.rental_id}
    assert [code for code, _, _ in store.codes_of(a.rental_id)] == ["246810"]
    (pending,) = store.unresolved_purchases()
    assert pending.state == "sending" and pending.rental_id is None
    store.close()

    # Start again: every rental is back, with its countdown; C is found and shown.
    app = start(server, home)
    try:
        app.wait_for(app.shows("did go through"), "the in-flight rent reconciled")
        app.send(F2)
        app.wait_for(app.shows("Live rentals", a.phone, b.phone, c.phone), "all three rentals")

        def counting_down() -> bool:
            """Each rental's line shows its time left (15 minutes, counting down)."""
            lines = app.screen().splitlines()
            return all(
                any(r.phone in line and COUNTDOWN.search(line) for line in lines) for r in (a, b, c)
            )

        app.wait_for(counting_down, "a countdown for each rental")
        assert "code 246810" in app.screen()  # the code received before the crash

        # B is polled again: its code arrives after the restart.
        sandbox.deliver_sms(b.rental_id, code="135791")
        app.wait_for(app.shows("code 135791"), "B's code after the restart")
        assert "code 246810" in app.screen()
        app.quit()
        assert app.finish() == 0
    finally:
        if app.process.poll() is None:
            app.kill()
    # Quitting checkpointed and closed the store: everything is in the file itself.
    wal = Path(str(store_path(home)) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0

    # Exactly three rentals on the account, each paid once; the journal is settled.
    rentals = sandbox.rentals_of(DEMO_API_KEY)
    assert [r.rental_id for r in rentals] == [a.rental_id, b.rental_id, c.rental_id]
    assert sandbox.balance_of(DEMO_API_KEY) == START - a.cost - b.cost - c.cost
    store = open_store(home, server)
    try:
        assert store.unresolved_purchases() == []
        stored = {r.rental_id: r for r in store.load_rentals()}
        assert set(stored) == {a.rental_id, b.rental_id, c.rental_id}
        assert stored[b.rental_id].code == "135791"
        assert stored[c.rental_id].labels.service == "WhatsApp"  # the journal's labels
    finally:
        store.close()


def test_sighup_leaves_the_journal_consistent(sandbox, server, home):
    app = start(server, home)
    open_whatsapp_nigeria(app)
    confirm_rent(app)
    app.wait_for(app.shows("Live rentals"), "the first rental")
    (first,) = sandbox.rentals_of(DEMO_API_KEY)

    # The terminal goes away while a second rent waits for its (late) answer.
    app.send(ESCAPE)
    app.wait_for(app.shows("Stock ▼"), "back at the prices")
    sandbox.faults.rent_response_delay = 30.0
    confirm_rent(app)
    app.wait_for(lambda: len(sandbox.rentals_of(DEMO_API_KEY)) == 2, "rented server-side")
    app.hang_up()
    sandbox.faults.rent_response_delay = 0.0
    second = sandbox.rentals_of(DEMO_API_KEY)[1]

    with sqlite3.connect(store_path(home)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        purchases = db.execute("SELECT state, rental_id FROM purchases ORDER BY id").fetchall()
    # Both purchases are in the journal: the first settled, the second never lost.
    assert purchases[0] == ("done", first.rental_id)
    assert len(purchases) == 2 and purchases[1][0] in ("sending", "unknown", "done")

    # The next start settles it: the second rental is found, nothing is bought again.
    app = start(server, home)
    try:
        app.send(F2)
        app.wait_for(app.shows(first.phone, second.phone), "both rentals after the hang-up")
        app.quit()
        assert app.finish() == 0
    finally:
        if app.process.poll() is None:
            app.kill()
    store = open_store(home, server)
    try:
        assert store.unresolved_purchases() == []
        assert {r.rental_id for r in store.load_rentals()} == {first.rental_id, second.rental_id}
    finally:
        store.close()
    assert len(sandbox.rentals_of(DEMO_API_KEY)) == 2
    assert sandbox.balance_of(DEMO_API_KEY) == START - first.cost - second.cost


def test_a_terminal_that_vanishes_without_a_hang_up_ends_the_program(server, home) -> None:
    """The pty closes but no SIGHUP comes (the program is not its session's leader):
    Textual's input thread would spin on end-of-file for ever (it did, at 90 % CPU).
    The program notices and leaves as a hang-up would, its store closed."""
    app = start(server, home)
    app.close_terminal()
    deadline = time.monotonic() + 30
    while app.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # polling a condition with a deadline
    assert app.process.poll() is not None, "still running with no terminal"
    with sqlite3.connect(store_path(home)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
