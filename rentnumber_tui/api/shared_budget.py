"""One request budget for every process of this program on the machine: a `Ledger`
kept in a small file that each process locks, reads, decides on and writes back.

Two TUIs, a CLI and a script on one account must together start at most 2 requests in
any second, and a person's request in any of them must go ahead of background polling
in all of them (DESIGN.md, "The account engine"). Each process keeps its own queue
(`RequestScheduler`); the head of each queue asks this ledger, under an exclusive
`fcntl.flock` on the file, whether it may start.

The file (JSON, a few hundred bytes) holds:
- `s`: recent starts — `[time, held, owner, ticket]`; a held start (still connecting,
  `Ticket.hold`) counts as *now*, for at most `PENDING_LIMIT` seconds, so a process that
  died while connecting cannot block everyone for ever;
- `w`: each process's head waiter — `owner: [priority, since, refreshed]`;
- `p`: the pause in force — `[deadline, set_at]`;
- `b`: the boot it was written in, and `v`, the format version.

The grant rule, under the lock: forget starts older than the window and registrations
not refreshed for `REGISTRATION_TTL` seconds (a dead process); the owner may start only
if fewer than `limit` starts remain in the window, no pause is in force and no *other*
live owner has a better registration (lower priority value, or the same priority and
an earlier `since`). Then its start is recorded and its registration replaced by its
next head (or removed). Otherwise it registers (or refreshes) and is told how long to
wait: the exact time until the next slot opens when that is the only obstacle, else a
short re-check (`RECHECK` while another owner is ahead), never more than `MAX_SLEEP`
(so registrations stay fresh; a better waiter elsewhere sees this one's registration
and goes first without this one having to look).

Times are `time.monotonic()`, one clock for every process on Linux and macOS. It
restarts with the machine, so the file records the boot (Linux `boot_id`) and any time
later than "now" (a record from before a reboot, where the boot is unknown) is dropped.

The lock is held for tens of microseconds per operation (a read, a JSON decode and
encode, a write; `benchmarks/bench_budget.py`) with no `await` inside, so a blocking
`flock` costs the event loop nothing noticeable. A process *stopped* (SIGSTOP) inside
that section would hold the others until it resumes.

Windows has no `fcntl`: `FileLedger` raises `SharedBudgetUnavailable` (an `OSError`)
there, and the caller falls back to the process's own scheduler (`default_scheduler`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .scheduler import Head, LocalLedger, RequestScheduler

if sys.platform != "win32":
    import fcntl

__all__ = [
    "MAX_PAUSE",
    "MAX_SLEEP",
    "PENDING_LIMIT",
    "RECHECK",
    "REGISTRATION_TTL",
    "FileLedger",
    "ResilientLedger",
    "SharedBudgetUnavailable",
    "shared_scheduler",
]

#: A held start counts as "now" for at most this long: twice the client's default
#: request timeout (15 s), after which its slot ends and it is marked sent anyway. Only a
#: process that died while connecting leaves one held longer.
PENDING_LIMIT = 30.0

#: A head waiter's registration not refreshed for this long belongs to a dead (or
#: frozen) process and is ignored. Three times `MAX_SLEEP`: a busy event loop that is
#: late by a second still keeps its place.
REGISTRATION_TTL = 1.5

#: The longest a registered waiter sleeps before checking again, whatever it waits for:
#: keeps its registration fresh. (A better waiter elsewhere needs no looking out for: it
#: sees this one's registration and takes the slot first; one ahead that is gone is
#: looked for every `RECHECK`.) Half a 2-per-second window: a poller that always has the
#: next request queued asks the file three or four times a second, not six.
MAX_SLEEP = 0.5

#: How soon to look again while another process's waiter is ahead: it takes its slot
#: within moments of being able to, and then this one may be next (a slot of a 2-per-
#: second budget is 500 ms; 20 ms loses little of it).
RECHECK = 0.02

#: A pause in the file never lasts longer than this after it was set (the client asks
#: for at most 60 s), so a stale one cannot hold everyone for long.
MAX_PAUSE = 600.0

#: A record dated more than this after "now" comes from an earlier boot.
_FUTURE_SLACK = 1.0

_VERSION = 1
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_READ_CHUNK = 1 << 16

#: One start: (time, held, owner, ticket).
_Rec = tuple[float, bool, str, int]
#: One registration: (priority, since, refreshed).
_Reg = tuple[int, float, float]

_T = TypeVar("_T")


class SharedBudgetUnavailable(OSError):
    """This platform cannot share a request budget between processes (no `fcntl`):
    use the process's own scheduler instead."""


def _boot_id() -> str:
    """This boot's identity where the system gives one (Linux), else ""."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


_BOOT = _boot_id()


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _effective(rec: _Rec, now: float) -> float:
    """When a start counts as having happened: now while it is held (for at most
    `PENDING_LIMIT` after its grant), else when it was sent."""
    return min(now, rec[0] + PENDING_LIMIT) if rec[1] else rec[0]


class _State:
    """The decoded file: what every process's decision needs."""

    __slots__ = ("pause", "starts", "waiters")

    def __init__(self) -> None:
        self.starts: list[_Rec] = []
        self.waiters: dict[str, _Reg] = {}
        self.pause: tuple[float, float] | None = None

    @classmethod
    def decode(cls, raw: bytes) -> _State:
        """The state in `raw`; raises ValueError/TypeError/... when it is not one."""
        state = cls()
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError("unknown format")
        if _text(data["b"]) != _BOOT:
            return state  # written before this boot: its times mean nothing now
        state.starts = [
            (_number(t), bool(_integer(h)), _text(o), _integer(k)) for t, h, o, k in data["s"]
        ]
        state.waiters = {
            _text(o): (_integer(p), _number(s), _number(r)) for o, (p, s, r) in data["w"].items()
        }
        pause = data.get("p")
        if pause is not None:
            deadline, set_at = pause
            state.pause = (_number(deadline), _number(set_at))
        return state

    def copy(self) -> _State:
        """A copy a decision may change (records are tuples: shared)."""
        state = _State()
        state.starts = list(self.starts)
        state.waiters = dict(self.waiters)
        state.pause = self.pause
        return state

    def encode(self) -> bytes:
        data: dict[str, Any] = {
            "v": _VERSION,
            "b": _BOOT,
            "s": [[t, int(h), o, k] for t, h, o, k in self.starts],
            "w": {o: list(reg) for o, reg in self.waiters.items()},
        }
        if self.pause is not None:
            data["p"] = list(self.pause)
        return _ENCODER.encode(data).encode()

    def paused_until(self, now: float) -> float:
        if self.pause is None:
            return float("-inf")
        deadline, set_at = self.pause
        if set_at > now + _FUTURE_SLACK:
            return float("-inf")  # set before a reboot
        return min(deadline, set_at + MAX_PAUSE)

    def prune(self, now: float, window: float) -> None:
        """Forget what can no longer matter: old starts, dead registrations, a pause
        over, and anything dated in the future (an earlier boot)."""
        horizon = now - window
        future = now + _FUTURE_SLACK
        self.starts = [r for r in self.starts if r[0] <= future and _effective(r, now) > horizon]
        oldest = now - REGISTRATION_TTL
        self.waiters = {o: w for o, w in self.waiters.items() if oldest <= w[2] <= future}
        if self.paused_until(now) <= now:
            self.pause = None

    def live_waiters(self, now: float) -> dict[str, _Reg]:
        oldest, future = now - REGISTRATION_TTL, now + _FUTURE_SLACK
        return {o: w for o, w in self.waiters.items() if oldest <= w[2] <= future}

    def try_start(
        self,
        owner: str,
        ticket: int,
        head: Head,
        now: float,
        limit: int,
        window: float,
        then: Head | None,
    ) -> float:
        self.prune(now, window)
        wait = self.paused_until(now) - now
        if len(self.starts) >= limit:
            times = sorted(_effective(r, now) for r in self.starts)
            wait = max(wait, times[-limit] + window - now)
        mine = (head.priority, head.since, owner)
        ahead = any((p, s, o) < mine for o, (p, s, _) in self.waiters.items() if o != owner)
        if wait <= 0 and not ahead:
            self.starts.append((now, False, owner, ticket))
            if then is None:
                self.waiters.pop(owner, None)
            else:
                self.waiters[owner] = (then.priority, then.since, now)
            return 0.0
        self.waiters[owner] = (head.priority, head.since, now)
        if ahead:
            wait = max(wait, RECHECK)
        return min(wait, MAX_SLEEP)

    def mark(self, owner: str, ticket: int, held: bool, now: float | None) -> None:
        """Hold a start (`held`), or record it as sent at `now`."""
        for i, (t, h, o, k) in enumerate(self.starts):
            if k == ticket and o == owner:
                if held:
                    self.starts[i] = (t, True, o, k)
                elif h and now is not None:
                    self.starts[i] = (max(t, now), False, o, k)
                return


class FileLedger:
    """A `Ledger` in a file shared by every process that opens the same path.

    Each operation takes an exclusive `flock` on the file (kept open), reads it, decides,
    writes it back if it changed and unlocks. A file that is empty or not a ledger (a
    crash mid-write, a stray edit) is started afresh. Safe to share between threads and
    schedulers of one process, and in a forked child (it reopens the file there).

    Every scheduler on one file must use `time.monotonic` (the default clock) and the
    same ceiling (`shared_scheduler` sees to both). A pause lasts `MAX_PAUSE` at most.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if sys.platform == "win32":
            raise SharedBudgetUnavailable(
                errno.ENOSYS,
                "sharing the request budget between processes needs fcntl (not on Windows)",
                os.fspath(path),
            )
        self.path = Path(path)
        #: How many times an unreadable file was started afresh (diagnostics, tests).
        self.recovered = 0
        self._fd = -1
        self._pid = -1
        self._lock = threading.Lock()
        #: The file's bytes as last read or written, and their state (`_state_of`).
        self._known: tuple[bytes, _State] | None = None
        self._open()

    # -- the Ledger protocol -----------------------------------------------------------

    def try_start(
        self,
        owner: str,
        ticket: int,
        head: Head,
        now: float,
        limit: int,
        window: float,
        then: Head | None,
    ) -> float:
        return self._transact(
            lambda state: state.try_start(owner, ticket, head, now, limit, window, then)
        )

    def hold(self, owner: str, ticket: int) -> None:
        self._transact(lambda state: state.mark(owner, ticket, True, None))

    def sent(self, owner: str, ticket: int, now: float) -> None:
        self._transact(lambda state: state.mark(owner, ticket, False, now))

    def withdraw(self, owner: str) -> None:
        self._transact(lambda state: state.waiters.pop(owner, None))

    def pause_until(self, deadline: float, now: float) -> bool:
        def extend(state: _State) -> bool:
            if deadline <= state.paused_until(now) or deadline <= now:
                return False
            state.pause = (deadline, now)
            return True

        return self._transact(extend)

    def paused_until(self, now: float) -> float:
        return self._peek(lambda state: state.paused_until(now))

    def in_window(self, now: float, span: float) -> int:
        def count(state: _State) -> int:
            future = now + _FUTURE_SLACK
            return sum(
                1 for r in state.starts if r[0] <= future and _effective(r, now) > now - span
            )

        return self._peek(count)

    # -- introspection -----------------------------------------------------------------

    def registrations(self, now: float) -> dict[str, Head]:
        """The live head waiter of every owner (process and scheduler) that waits."""
        waiters = self._peek(lambda state: state.live_waiters(now))
        return {owner: Head(p, since) for owner, (p, since, _) in waiters.items()}

    def close(self) -> None:
        """Close the file (the next operation reopens it)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
            self._fd = -1

    def __repr__(self) -> str:
        return f"FileLedger({str(self.path)!r})"

    # -- internals ---------------------------------------------------------------------

    def _open(self) -> None:
        """Open (creating) the file: its directory 0700 if we make it, the file 0600."""
        parent = self.path.parent
        if not parent.is_dir():
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(parent, 0o700)
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", os.fspath(self.path))
            if info.st_mode & 0o077 and info.st_uid == os.getuid():
                os.fchmod(fd, 0o600)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._pid = os.getpid()

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[tuple[int, bytes]]:
        """The file under `flock` (`mode`: exclusive to decide, shared to look), and
        its bytes."""
        if self._pid != os.getpid():  # a forked child: its own lock, its own descriptor
            self._lock = threading.Lock()
            if self._fd >= 0:
                os.close(self._fd)  # the parent's open file: flock would not exclude it
            self._fd = -1
        with self._lock:
            if self._fd < 0:
                self._open()
            fd = self._fd
            fcntl.flock(fd, mode)
            try:
                yield fd, self._read(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _state_of(self, raw: bytes) -> _State:
        """The state in `raw` — the one remembered when the file is as this process
        last saw it (most of the time: a copy costs far less than decoding and checking
        every record). Not to be changed: `_transact` changes a copy."""
        known = self._known
        if known is not None and known[0] == raw:
            return known[1]
        state = self._decode(raw)
        self._known = (raw, state)
        return state

    def _transact(self, decide: Callable[[_State], _T]) -> _T:
        """Lock, read, `decide`, write back if changed, unlock."""
        with self._locked(fcntl.LOCK_EX) as (fd, raw):
            state = self._state_of(raw).copy()
            result = decide(state)
            data = state.encode()
            if data != raw:
                os.pwrite(fd, data, 0)
                if len(data) < len(raw):
                    os.ftruncate(fd, len(data))
            self._known = (data, state)
            return result

    def _peek(self, look: Callable[[_State], _T]) -> _T:
        """`_transact` for a question that changes nothing (`look` must not change the
        state): under a shared lock, without writing — a status bar asks once a
        second."""
        with self._locked(fcntl.LOCK_SH) as (_, raw):
            return look(self._state_of(raw))

    @staticmethod
    def _read(fd: int) -> bytes:
        chunks = []
        offset = 0
        while True:
            chunk = os.pread(fd, _READ_CHUNK, offset)
            chunks.append(chunk)
            offset += len(chunk)
            if len(chunk) < _READ_CHUNK:
                return b"".join(chunks)

    def _decode(self, raw: bytes) -> _State:
        if not raw:
            return _State()
        try:
            return _State.decode(raw)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            self.recovered += 1
            return _State()


class ResilientLedger:
    """A `FileLedger` that a broken file (a full disk, a read-only directory) cannot
    stop: the failing operation, and every one after it for `RETRY_AFTER` seconds, goes
    to this process's own `LocalLedger` instead, and `problem` says why — the budget is
    then no longer shared with the other windows, which a front end must say."""

    #: Seconds before the shared file is tried again after it failed.
    RETRY_AFTER = 30.0

    def __init__(self, shared: FileLedger, clock: Callable[[], float] = time.monotonic) -> None:
        self.shared = shared
        self.local = LocalLedger()
        self.problem: str | None = None
        self._clock = clock
        self._failed_at = -math.inf

    def _use(self, operation: Callable[[Any], _T]) -> _T:
        if self.problem is None or self._clock() - self._failed_at >= self.RETRY_AFTER:
            try:
                result = operation(self.shared)
            except OSError as error:
                self._failed_at = self._clock()
                reason = error.strerror or type(error).__name__
                self.problem = (
                    f"The request budget shared with other windows cannot be kept in "
                    f"{self.shared.path} ({reason}); this window keeps its own 2 requests "
                    "a second, so with other windows open on this account it may be "
                    "throttled."
                )
            else:
                self.problem = None
                return result
        return operation(self.local)

    def try_start(
        self,
        owner: str,
        ticket: int,
        head: Head,
        now: float,
        limit: int,
        window: float,
        then: Head | None,
    ) -> float:
        return float(
            self._use(
                lambda ledger: ledger.try_start(owner, ticket, head, now, limit, window, then)
            )
        )

    def hold(self, owner: str, ticket: int) -> None:
        self._use(lambda ledger: ledger.hold(owner, ticket))

    def sent(self, owner: str, ticket: int, now: float) -> None:
        self._use(lambda ledger: ledger.sent(owner, ticket, now))

    def withdraw(self, owner: str) -> None:
        self._use(lambda ledger: ledger.withdraw(owner))

    def pause_until(self, deadline: float, now: float) -> bool:
        return bool(self._use(lambda ledger: ledger.pause_until(deadline, now)))

    def paused_until(self, now: float) -> float:
        return float(self._use(lambda ledger: ledger.paused_until(now)))

    def in_window(self, now: float, span: float) -> int:
        return int(self._use(lambda ledger: ledger.in_window(now, span)))


_shared: dict[str, RequestScheduler] = {}
_shared_lock = threading.Lock()


def shared_scheduler(path: str | os.PathLike[str]) -> RequestScheduler:
    """The scheduler of this process for the budget kept at `path` (one per path,
    created on first use): the production ceiling, on a `FileLedger`. Every process
    that uses the same path (one per account) shares the budget.

    Raises `SharedBudgetUnavailable` where processes cannot share one (Windows), or
    another `OSError` when the file cannot be opened: fall back to `default_scheduler`.
    """
    key = os.path.abspath(os.fspath(path))
    with _shared_lock:
        scheduler = _shared.get(key)
        if scheduler is None:
            scheduler = RequestScheduler(ledger=ResilientLedger(FileLedger(key)))
            _shared[key] = scheduler
        return scheduler


def companion_scheduler(path: str | os.PathLike[str]) -> RequestScheduler:
    """Another scheduler of this process on the budget at `path`, for requests made on
    a thread and event loop of their own (a scheduler's queue belongs to one loop): it
    shares `shared_scheduler(path)`'s ledger, so their requests count as this process's
    in every other process's eyes. Raises as `shared_scheduler` does."""
    return RequestScheduler(ledger=shared_scheduler(path).ledger)
