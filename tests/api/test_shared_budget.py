"""One request budget for several processes: `FileLedger` and `shared_scheduler`.

Two schedulers on one ledger file in this process behave as one scheduler (the ceiling,
USER before BACKGROUND across them, pauses, dead registrations, a corrupt file); then
three real processes against one loopback sandbox, checked on the server's own log.

Gating is done with held tickets and pauses, never with sleeps: each test waits on a
condition (with a deadline) and asserts on what the ledger guarantees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rentnumber_tui.api import Priority, RentNumberClient, RequestScheduler
from rentnumber_tui.api.scheduler import Head, LocalLedger
from rentnumber_tui.api.shared_budget import (
    MAX_PAUSE,
    MAX_SLEEP,
    PENDING_LIMIT,
    RECHECK,
    REGISTRATION_TTL,
    FileLedger,
    ResilientLedger,
    SharedBudgetUnavailable,
    shared_scheduler,
)
from rentnumber_tui.sandbox import DEMO_API_KEY

from .conftest import settled_log

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("budget_worker.py")
USER, BACKGROUND = int(Priority.USER), int(Priority.BACKGROUND)


async def until(condition: Callable[[], bool], limit: float = 10.0, what: str = "") -> None:
    """Wait (yielding to other tasks) until `condition()` holds, at most `limit` s."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.002)


def max_in_any_window(starts: list[float], per: float) -> int:
    starts = sorted(starts)
    return max(sum(1 for t in starts[i:] if t < start + per) for i, start in enumerate(starts))


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "budget" / "ledger.json"


def pair(path: Path, **options) -> tuple[RequestScheduler, RequestScheduler]:
    """Two schedulers on one file, each with its own open file (as two processes)."""
    return (
        RequestScheduler(ledger=FileLedger(path), **options),
        RequestScheduler(ledger=FileLedger(path), **options),
    )


def priorities(ledger: FileLedger, *schedulers: RequestScheduler) -> list[int | None]:
    """Each scheduler's registered head priority in the file (None: not waiting)."""
    live = ledger.registrations(time.monotonic())
    return [live[s.owner].priority if s.owner in live else None for s in schedulers]


# -- two schedulers, one file, one process --------------------------------------------


@pytest.mark.parametrize("shared_object", [False, True], ids=["two-opens", "one-object"])
async def test_two_schedulers_keep_one_ceiling(ledger_path: Path, shared_object: bool) -> None:
    per = 0.2
    if shared_object:
        ledger = FileLedger(ledger_path)
        a = RequestScheduler(max_requests=2, per=per, margin=0.02, ledger=ledger)
        b = RequestScheduler(max_requests=2, per=per, margin=0.02, ledger=ledger)
    else:
        a, b = pair(ledger_path, max_requests=2, per=per, margin=0.02)
    starts: list[float] = []
    by: list[str] = []

    async def request(scheduler: RequestScheduler, priority: Priority) -> None:
        async with scheduler.slot(priority):
            starts.append(scheduler.clock())  # the ledger's clock: time.monotonic
            by.append("a" if scheduler is a else "b")

    await asyncio.gather(*(request(a if i % 2 else b, Priority(i // 2 % 2)) for i in range(10)))
    assert len(starts) == 10 and set(by) == {"a", "b"}
    assert max_in_any_window(starts, per) == 2
    now = time.monotonic()  # each sees the other's starts (the file keeps the last ones)
    assert a.ledger.in_window(now, 60.0) == b.ledger.in_window(now, 60.0) >= 1
    assert a.waiting() == b.waiting() == 0
    assert FileLedger(ledger_path).registrations(time.monotonic()) == {}


async def test_user_on_one_goes_before_background_queued_on_the_other(
    ledger_path: Path,
) -> None:
    a, b = pair(ledger_path, max_requests=1, per=0.1, margin=0.01)
    probe = FileLedger(ledger_path)
    order: list[str] = []

    async def request(scheduler: RequestScheduler, priority: Priority, tag: str) -> None:
        async with scheduler.slot(priority):
            order.append(tag)

    async with a.slot() as gate:
        gate.hold()  # counts as starting *now* until the block ends: nothing else can
        background = []
        for i in range(3):
            background.append(asyncio.create_task(request(a, Priority.BACKGROUND, f"bg{i}")))
            await until(lambda n=i + 1: a.waiting() == n)
        await until(lambda: priorities(probe, a, b) == [BACKGROUND, None], what="a registered")
        user = asyncio.create_task(request(b, Priority.USER, "user"))
        await until(lambda: priorities(probe, a, b) == [BACKGROUND, USER], what="b registered")
    await asyncio.gather(user, *background)
    assert order == ["user", "bg0", "bg1", "bg2"]


async def test_a_new_user_head_updates_the_registration_at_once(ledger_path: Path) -> None:
    a, b = pair(ledger_path, max_requests=1, per=0.1, margin=0.01)
    probe = FileLedger(ledger_path)
    order: list[str] = []

    async def request(scheduler: RequestScheduler, priority: Priority, tag: str) -> None:
        async with scheduler.slot(priority):
            order.append(tag)

    async with a.slot() as gate:
        gate.hold()
        b_bg = asyncio.create_task(request(b, Priority.BACKGROUND, "b-bg"))
        await until(lambda: priorities(probe, a, b) == [None, BACKGROUND])
        a_bg = asyncio.create_task(request(a, Priority.BACKGROUND, "a-bg"))
        await until(lambda: priorities(probe, a, b) == [BACKGROUND, BACKGROUND])
        # A person's request arrives behind a's background head: a's registration is
        # USER on its very next check, which the arrival itself makes.
        a_user = asyncio.create_task(request(a, Priority.USER, "a-user"))
        await asyncio.sleep(0)  # one step of that task, no timer
        assert priorities(probe, a, b) == [USER, BACKGROUND]
    await asyncio.gather(a_user, a_bg, b_bg)
    # USER first; then the older of the two background heads (b's waited longest).
    assert order == ["a-user", "b-bg", "a-bg"]


async def test_a_pause_set_through_one_holds_the_other(ledger_path: Path) -> None:
    a, b = pair(ledger_path, max_requests=100, per=1.0)
    deadline = a.clock() + 0.3
    a.pause_until(deadline)
    b.pause_until(deadline - 0.2)  # never shortens it, from any process
    assert 0 < b.paused_for() <= 0.3
    granted: list[float] = []

    async def request(scheduler: RequestScheduler, priority: Priority) -> None:
        async with scheduler.slot(priority):
            granted.append(scheduler.clock())

    await asyncio.gather(request(b, Priority.USER), request(b, Priority.BACKGROUND))
    assert len(granted) == 2 and min(granted) >= deadline
    assert a.paused_for() == b.paused_for() == 0.0
    assert a.in_window() == 2


async def test_a_cancelled_head_withdraws_its_registration(ledger_path: Path) -> None:
    a, b = pair(ledger_path, max_requests=1, per=0.1, margin=0.01)
    probe = FileLedger(ledger_path)
    async with a.slot() as gate:
        gate.hold()
        waiter = asyncio.create_task(_enter(b, Priority.USER))
        await until(lambda: priorities(probe, b) == [USER])
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert priorities(probe, b) == [None]
        assert b.waiting() == 0


async def _enter(scheduler: RequestScheduler, priority: Priority) -> None:
    async with scheduler.slot(priority):
        pass


async def test_a_process_that_stops_refreshing_is_forgotten(ledger_path: Path) -> None:
    """A USER head registered by a process that then died holds the others back for
    `REGISTRATION_TTL` at most."""
    ghost = FileLedger(ledger_path)
    registered = time.monotonic()
    ghost.pause_until(registered + 0.01, registered)  # so that the ghost must wait
    delay = ghost.try_start("ghost", 0, Head(USER, registered), registered, 2, 1.05, None)
    assert delay > 0  # it registered, and will never look again
    scheduler = RequestScheduler(ledger=FileLedger(ledger_path))
    async with scheduler.slot(Priority.BACKGROUND):
        granted = scheduler.clock()
    assert granted - registered >= REGISTRATION_TTL
    assert ghost.registrations(time.monotonic()) == {}


# -- the grant rule, on a hand-driven clock -------------------------------------------


def test_grant_rule_step_by_step(ledger_path: Path) -> None:
    ledger = FileLedger(ledger_path)
    window = 1.05

    def ask(owner: str, priority: int, since: float, now: float, then: Head | None = None):
        return ledger.try_start(owner, 0, Head(priority, since), now, 2, window, then)

    assert ask("a", BACKGROUND, 100.0, 100.0) == 0.0
    assert ask("a", BACKGROUND, 100.0, 100.1) == 0.0
    # Full: the exact time until the oldest start leaves the window (capped).
    assert ask("b", BACKGROUND, 100.2, 100.2) == MAX_SLEEP
    assert ask("b", BACKGROUND, 100.2, 100.9) == pytest.approx(0.15)
    # A USER head elsewhere is ahead of b even once the slot opens...
    assert ask("c", USER, 101.0, 101.0) == pytest.approx(0.05)
    assert ask("b", BACKGROUND, 100.2, 101.06) == RECHECK
    # ...and takes it; its next head (background) stays registered in its place.
    assert ask("c", USER, 101.0, 101.06, then=Head(BACKGROUND, 101.01)) == 0.0
    assert ledger.registrations(101.06) == {
        "b": Head(BACKGROUND, 100.2),
        "c": Head(BACKGROUND, 101.01),
    }
    # Same priority: the one waiting longer (b) goes first.
    assert ask("c", BACKGROUND, 101.01, 101.2) == RECHECK
    assert ask("b", BACKGROUND, 100.2, 101.2) == 0.0
    assert ledger.registrations(101.2) == {"c": Head(BACKGROUND, 101.01)}
    # c stops refreshing: after REGISTRATION_TTL it no longer holds anyone back.
    assert ask("d", BACKGROUND, 102.0, 101.2 + REGISTRATION_TTL + 1.0) == 0.0
    assert ledger.registrations(103.3) == {}


def test_what_another_writes_is_read_though_each_remembers_the_file(ledger_path: Path) -> None:
    # Each ledger keeps the file's bytes as it last saw them (to skip decoding them
    # again); a write by anyone else changes the bytes, and that is what it reads.
    a, b = FileLedger(ledger_path), FileLedger(ledger_path)
    assert a.try_start("a", 1, Head(USER, 10.0), 10.0, 3, 1.0, None) == 0.0
    assert b.in_window(10.1, 1.0) == 1
    assert b.try_start("b", 1, Head(USER, 10.1), 10.1, 3, 1.0, None) == 0.0
    assert a.in_window(10.2, 1.0) == 2
    # A decision refused leaves a registration; reading again does not lose it, nor
    # does the remembered state take the refused start.
    assert a.try_start("c", 1, Head(BACKGROUND, 10.2), 10.2, 2, 1.0, None) > 0
    assert a.in_window(10.3, 1.0) == 2
    assert set(b.registrations(10.3)) == {"c"}
    assert set(a.registrations(10.3)) == {"c"}
    # A question (how many in the window, a pause, who waits) writes nothing.
    written = ledger_path.read_bytes()
    assert a.in_window(99.0, 1.0) == 0 and a.paused_until(99.0) == float("-inf")
    assert a.registrations(99.0) == {}
    assert ledger_path.read_bytes() == written
    ledger_path.write_bytes(b"not a ledger")  # a stray edit
    assert a.in_window(10.4, 1.0) == 0
    assert a.recovered == 1


def test_a_held_start_counts_as_now_but_not_for_ever(ledger_path: Path) -> None:
    ledger = FileLedger(ledger_path)
    assert ledger.try_start("dead", 7, Head(USER, 10.0), 10.0, 1, 1.0, None) == 0.0
    ledger.hold("dead", 7)  # ...and the process died while connecting
    assert ledger.in_window(25.0, 1.0) == 1
    assert ledger.try_start("b", 0, Head(USER, 25.0), 25.0, 1, 1.0, None) > 0
    late = 10.0 + PENDING_LIMIT + 1.0 + 0.01
    assert ledger.in_window(late, 1.0) == 0
    assert ledger.try_start("b", 0, Head(USER, 25.0), late, 1, 1.0, None) == 0.0


def test_sent_moves_a_held_start_to_when_it_left(ledger_path: Path) -> None:
    ledger = FileLedger(ledger_path)
    assert ledger.try_start("a", 1, Head(USER, 10.0), 10.0, 1, 1.0, None) == 0.0
    ledger.hold("a", 1)
    ledger.sent("a", 1, 12.0)
    assert ledger.try_start("b", 0, Head(USER, 12.6), 12.6, 1, 1.0, None) == pytest.approx(0.4)
    assert ledger.try_start("b", 0, Head(USER, 12.6), 12.9, 1, 1.0, None) == pytest.approx(0.1)


def test_records_dated_after_now_are_from_an_earlier_boot(ledger_path: Path) -> None:
    """`time.monotonic` restarts with the machine: a file written before a reboot must
    not hold anyone (where the boot itself is unknown, its times give it away)."""
    ledger = FileLedger(ledger_path)
    assert ledger.try_start("old", 0, Head(USER, 5000.0), 5000.0, 1, 1.0, None) == 0.0
    assert ledger.pause_until(5060.0, 5000.0)
    assert ledger.try_start("old", 1, Head(USER, 5000.0), 5000.0, 1, 1.0, None) > 0
    assert ledger.in_window(20.0, 1.0) == 0
    assert ledger.paused_until(20.0) == float("-inf")
    assert ledger.registrations(20.0) == {}
    assert ledger.try_start("new", 0, Head(BACKGROUND, 20.0), 20.0, 1, 1.0, None) == 0.0
    # However long a pause someone asks for, a shared one ends within MAX_PAUSE.
    assert ledger.pause_until(1e9, 30.0)
    assert ledger.paused_until(30.0) == 30.0 + MAX_PAUSE


def test_another_boot_starts_afresh(ledger_path: Path) -> None:
    ledger = FileLedger(ledger_path)
    assert ledger.try_start("a", 0, Head(USER, 10.0), 10.0, 1, 1.0, None) == 0.0
    data = json.loads(ledger_path.read_bytes())
    data["b"] = "another-boot"
    ledger_path.write_text(json.dumps(data))
    assert ledger.in_window(10.0, 1.0) == 0
    assert ledger.recovered == 0  # not corrupt: simply out of date


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\x00\xff\xfe",
        b"[]",
        b'{"v": 1}',
        b'{"v": 99, "s": [], "w": {}}',
        b'{"v": 1, "b": "BOOT", "s": [[1.0, 0]], "w": {}}',
        b'{"v": 1, "b": "BOOT", "s": [], "w": {"x": [0, "soon", 1.0]}}',
        b'{"v": 1, "b": "BOOT", "s": [[NaN, 0, "x", 1]], "w": {}}',
        b"[" * 100_000,
    ],
    ids=lambda c: repr(c[:20]),
)
async def test_a_corrupt_file_is_started_afresh(ledger_path: Path, content: bytes) -> None:
    from rentnumber_tui.api import shared_budget

    ledger = FileLedger(ledger_path)
    ledger_path.write_bytes(content.replace(b"BOOT", shared_budget._BOOT.encode()))
    scheduler = RequestScheduler(ledger=ledger)
    async with scheduler.slot():
        pass
    assert scheduler.in_window() == 1
    data = json.loads(ledger_path.read_bytes())
    assert data["v"] == 1 and len(data["s"]) == 1
    assert ledger.recovered == (1 if content else 0)


def test_directory_and_file_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "ledger.json"
    FileLedger(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_bytes(b"")
    path.chmod(0o644)
    FileLedger(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_fcntl_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(SharedBudgetUnavailable) as caught:
        FileLedger(tmp_path / "ledger.json")
    assert isinstance(caught.value, OSError) and "fcntl" in str(caught.value)
    assert not (tmp_path / "ledger.json").exists()


def test_shared_scheduler_is_one_per_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = shared_scheduler(tmp_path / "a.json")
    assert shared_scheduler("a.json") is first
    assert shared_scheduler(tmp_path / "b.json") is not first
    assert isinstance(first.ledger, ResilientLedger)
    assert isinstance(first.ledger.shared, FileLedger)
    assert (first.max_requests, first.per) == (2, 1.0)
    assert RentNumberClient(scheduler=first).scheduler is first


def test_the_default_is_still_in_memory() -> None:
    assert isinstance(RequestScheduler().ledger, LocalLedger)


# -- three real processes, one sandbox ------------------------------------------------


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def spawn(path: Path, base_url: str, background: int, user: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    argv = [sys.executable, str(WORKER), str(path), base_url, DEMO_API_KEY]
    argv += ["--background", str(background)]
    proc = subprocess.Popen(
        [*argv, "--user"] if user else argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Three interpreters starting at once would starve tests running beside this one
    # (pytest -n auto); their start-up may be slow, their requests are timed by the
    # ledger and the server, not by the CPU they get.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, proc.pid, 10)
    return proc


async def test_three_processes_share_one_budget(
    ledger_path: Path, sandbox, arrivals, loopback_server: str
) -> None:
    sandbox.faults.enforce_rate_limit = True  # a third request in one second gets a 429
    # Build the catalog now: built by the first request, it would block the server's
    # loop for ~30 ms and so postpone the next request's arrival, measured on the server
    # (a cold-start artefact of the sandbox larger than the margin, not the budget's).
    assert sandbox.catalog.services
    background = 3
    control = FileLedger(ledger_path)

    lapses: list[float] = []

    def keep_everyone_waiting() -> None:
        """Extend a short pause: nothing starts until every process has queued. Two
        seconds each time: on a loaded machine this test's own loop may not come back
        within a shorter one, and a lapsed pause lets a background request through
        before the person has asked (the premise of the check below)."""
        now = time.monotonic()
        if control.paused_until(now) < now:
            lapses.append(now)
        control.pause_until(now + 2.0, now)

    keep_everyone_waiting()
    lapses.clear()  # the first call found no pause: it is the one that sets it
    procs = [spawn(ledger_path, loopback_server, background, user=i == 0) for i in range(3)]
    try:
        person = procs[0]

        def heads() -> dict[int, int]:
            live = control.registrations(time.monotonic())
            return {int(owner.split("-")[0]): head.priority for owner, head in live.items()}

        def ready(expected: dict[int, int]) -> bool:
            for proc in procs:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode() if proc.stderr else "died")
            keep_everyone_waiting()
            return heads() == expected

        everyone = {proc.pid: BACKGROUND for proc in procs}
        await until(lambda: ready(everyone), limit=15, what=f"background queued in {everyone}")
        assert person.stdin is not None
        person.stdin.write(b"go\n")  # a person asks for something in process 0
        person.stdin.flush()
        await until(lambda: ready({**everyone, person.pid: USER}), limit=5, what="user queued")
        assert not lapses, "the pause lapsed before the person asked"
        # No more extensions: the pause ends within 2 s and the queues drain.
        outputs = await asyncio.gather(
            *(asyncio.to_thread(proc.communicate, timeout=15) for proc in procs)
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    grants = [g for out, _ in outputs for g in json.loads(out)["grants"]]

    log = await settled_log(sandbox, arrivals)
    seen = [(round(r.monotonic - log[0].monotonic, 3), r.path, r.status) for r in log]
    assert len(log) == 3 * background + 1, seen
    assert all(r.status == 200 for r in log), seen
    assert most_in_one_second([r.monotonic for r in log]) == 2, seen
    # The person's request went first: granted before every queued background request,
    # and on the server in the first slots (only the request granted in the same
    # moment, for the second slot of that window, may reach the server just before it).
    user_grant = next(t for t, p in grants if p == USER)
    assert all(t > user_grant for t, p in grants if p == BACKGROUND)
    paths = [r.path for r in log]
    assert paths.index("/api/v1/services") <= 1, seen
    assert paths.count("/api/v1/balance") == 3 * background


def test_a_forked_child_is_another_owner_with_its_own_open_file(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flock does not exclude two holders of one open file: a child reopens it, and its
    scheduler gets a name of its own."""
    scheduler = RequestScheduler(ledger=FileLedger(ledger_path))
    ledger = scheduler.ledger
    assert isinstance(ledger, FileLedger)
    parent_owner = scheduler.owner
    real_pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real_pid + 1)  # as after a fork
    assert scheduler.owner != parent_owner and scheduler.owner.startswith(f"{real_pid + 1}-")
    assert ledger.in_window(time.monotonic(), 1.0) == 0
    assert ledger._pid == real_pid + 1  # reopened (the parent's descriptor closed)


async def test_a_budget_file_that_cannot_be_written_never_stops_requests(tmp_path) -> None:
    """A full disk or a read-only directory: requests go on within this process's own
    ceiling, `problem` says the budget is no longer shared, and the file is tried again
    later (and used again once it works)."""
    now = [1000.0]
    shared = FileLedger(tmp_path / "budget.json")
    ledger = ResilientLedger(shared, clock=lambda: now[0])
    broken = {"on": True}
    real_transact = shared._transact

    def transact(decide):  # type: ignore[no-untyped-def]
        if broken["on"]:
            raise OSError(28, "No space left on device")
        return real_transact(decide)

    shared._transact = transact  # type: ignore[method-assign]
    scheduler = RequestScheduler(ledger=ledger, clock=lambda: now[0])
    async with scheduler.slot() as ticket:
        ticket.hold()
        ticket.sent()
    assert ledger.problem is not None and "No space left on device" in ledger.problem
    assert scheduler.in_window() == 1  # counted by its own ledger meanwhile
    broken["on"] = False
    now[0] += ResilientLedger.RETRY_AFTER
    async with scheduler.slot():
        pass
    assert ledger.problem is None
    assert shared.in_window(now[0], 1.0) == 1
