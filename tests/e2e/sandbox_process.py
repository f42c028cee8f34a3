"""`rentnumber-tui sandbox` as a real process, for tests that run several programs.

When two TUIs and a CLI share one account, the server has to live outside all of them:
`SandboxProcess` starts it on a free loopback port and talks to its admin API
(`/_sandbox/...`) to read the request log and to act as the provider's website.

    with SandboxProcess("--seed", "1", "--sms-delay", "600") as server:
        ...  # point clients at server.base_url
        assert max_starts_in_any_window(server.requests()) <= 2
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import IO, Any, Protocol

import httpx

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
_BANNER = "RentNumber sandbox: "


class SandboxStartError(RuntimeError):
    """The sandbox process did not print its base URL in time (stderr included)."""


class SandboxAdminError(RuntimeError):
    """The admin API refused a call; `status` and the server's `error` text."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"sandbox admin API: {status} {error}")
        self.status = status
        self.error = error


class _Timed(Protocol):
    monotonic: float


def max_starts_in_any_window(
    records: Iterable[Mapping[str, Any] | _Timed], window: float = 1.0
) -> int:
    """The most request arrivals (`monotonic`) inside any half-open `[t, t + window)`.

    Takes the dicts of `SandboxProcess.requests()` or in-process `RequestRecord`s. A
    busiest window can always be slid to start at an arrival, so only those are tried.
    """
    times = sorted(
        float(r["monotonic"]) if isinstance(r, Mapping) else float(r.monotonic) for r in records
    )
    best = 0
    end = 0
    for start, t in enumerate(times):
        end = max(end, start)
        while end < len(times) and times[end] < t + window:
            end += 1
        best = max(best, end - start)
    return best


class SandboxProcess:
    """`python -m rentnumber_tui sandbox --port 0 ARGS...` in its own process group.

    `start()` (or `with`) returns once the server printed its base URL, so it is
    accepting connections. stdout is drained by a thread (uvicorn's access log goes
    there, and a full pipe would stall the server); stderr goes to a temporary file
    that start-up errors quote.
    """

    def __init__(self, *args: str, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.base_url = ""
        #: Every stdout line so far (the banner, then uvicorn's access log).
        self.stdout_lines: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._stderr_after_stop: str | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._admin: httpx.Client | None = None

    # -- life cycle ---------------------------------------------------------------------

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "rentnumber_tui", "sandbox", "--port", "0", *self.args]

    def start(self) -> SandboxProcess:
        if self._process is not None:
            raise RuntimeError("already started")
        # Outlives this call (closed by stop()), so no `with`.
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # its own process group: stop() signals only it
        )
        self._reader = threading.Thread(
            target=self._drain, name="sandbox-stdout", args=(self._process.stdout,), daemon=True
        )
        self._reader.start()
        try:
            self.base_url = self._await_banner()
        except BaseException:
            self.stop()
            raise
        origin = self.base_url.split("/api/v1")[0]
        # trust_env=False: never through a proxy from the environment.
        self._admin = httpx.Client(base_url=f"{origin}/_sandbox", timeout=10.0, trust_env=False)
        return self

    def _drain(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            line = line.rstrip("\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _await_banner(self) -> str:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxStartError(self._failure("did not print its base URL in time"))
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise SandboxStartError(self._failure("exited before printing its base URL"))
            if line.startswith(_BANNER):
                return line[len(_BANNER) :].strip()
            raise SandboxStartError(self._failure(f"printed {line!r} first"))

    def _failure(self, what: str) -> str:
        code = self._process.poll() if self._process is not None else None
        return (
            f"the sandbox ({' '.join(self.command)}) {what}"
            f"{'' if code is None else f' (exit status {code})'}; stderr:\n{self.stderr_text()}"
        )

    def stderr_text(self) -> str:
        """What the process wrote to stderr so far (uvicorn's start-up and errors)."""
        if self._stderr is None:
            return self._stderr_after_stop or ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def stop(self) -> int | None:
        """SIGTERM to the process group, SIGKILL after 5 s; returns the exit status."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()
        if self._stderr is not None:
            # Still readable after stop: a failing test may quote it.
            self._stderr_after_stop = self.stderr_text()
            self._stderr.close()
            self._stderr = None
        return process.returncode

    def _signal(self, sig: signal.Signals) -> None:
        assert self._process is not None
        # The group is the one `start_new_session` made for this process alone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, sig)

    def __enter__(self) -> SandboxProcess:
        return self if self._process is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the admin API ------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if self._admin is None:
            raise RuntimeError("the sandbox process is not running")
        response = self._admin.request(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            raise SandboxAdminError(response.status_code, response.text) from None
        if response.status_code != 200 or not data.get("success"):
            raise SandboxAdminError(response.status_code, str(data.get("error")))
        return dict(data)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The API requests the server finished, in arrival order, with seq > `since`:
        dicts with seq, monotonic, time, method, path, status. A request shows up just
        after its answer was sent, so wait with `wait_for_requests` after a call."""
        return list(self._call("GET", "/requests", params={"since": since})["data"])

    def wait_for_requests(
        self,
        count: int,
        *,
        since: int = 0,
        timeout: float = 5.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """`requests(since)` once at least `count` of them (matching `where`) are logged."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(since)
            matching = [r for r in found if where is None or where(r)]
            if len(matching) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(matching)} of {count} requests logged: {found}")
            time.sleep(0.02)  # polling a condition with a deadline

    def create_rental(self, key: str, pricing_id: int) -> dict[str, Any]:
        """A rental made on the provider's website: rental_id, phone, status, created_at,
        expires_at and `cost` (a Decimal here)."""
        data = self._call("POST", "/rentals", data={"key": key, "pricing_id": pricing_id})
        data.pop("success", None)
        data["cost"] = Decimal(data["cost"])
        return data

    def deliver_sms(self, rental_id: int, code: str | None = None, text: str | None = None) -> None:
        """An SMS reaches the rental now (`text` alone: its code is found in the text)."""
        form: dict[str, Any] = {"rental_id": rental_id}
        if code is not None:
            form["code"] = code
        if text is not None:
            form["text"] = text
        self._call("POST", "/sms", data=form)

    def balance(self, key: str) -> Decimal:
        return Decimal(self._call("GET", "/balance", params={"key": key})["balance"])
