"""Fixtures shared by every test package.

- `isolated_dirs` (autouse): HOME and the XDG directories point into `tmp_path` and
  every `RENTNUMBER_*` variable is unset, so no test reads or writes real user files.
- `utc_local_time` (autouse): the local time zone is UTC.
- `clock`: a `ManualClock` at 2026-04-12 14:00:00 UTC; move it with `.advance(s)`.
- `sandbox`: the simulated server on that clock (seed 7, SMS after 5-20 s).
- `loopback_server`: the same sandbox over real HTTP on 127.0.0.1; yields the base URL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rentnumber_tui.sandbox import ManualClock, Sandbox, SandboxConfig

START = datetime(2026, 4, 12, 14, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def utc_local_time() -> Iterator[None]:
    """Local time is UTC in every test (History shows local times with their zone):
    what a snapshot shows does not depend on the machine's time zone."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps under test see a terminal of 16 million colours, as the pty tests give
    theirs: otherwise one run by a runner without COLORTERM falls back to an ANSI theme
    (issue 13), whose dialogs hide the screen behind them."""
    monkeypatch.setenv("COLORTERM", "truecolor")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    dirs = {
        "HOME": tmp_path / "home",
        "XDG_CONFIG_HOME": tmp_path / "config",
        "XDG_DATA_HOME": tmp_path / "data",
        "XDG_CACHE_HOME": tmp_path / "cache",
        "XDG_STATE_HOME": tmp_path / "state",
    }
    for name, path in dirs.items():
        path.mkdir()
        monkeypatch.setenv(name, str(path))
    for name in list(os.environ):
        if name.startswith("RENTNUMBER_"):
            monkeypatch.delenv(name)
    return dirs


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    sandbox = Sandbox(SandboxConfig(seed=7, sms_delay=(5, 20)), clock=clock)
    # Built now, not inside the first request: over HTTP that stall delays the next
    # request's arrival, and the server's log would show two requests closer together
    # than they were sent (the rate-ceiling tests read that log).
    _ = sandbox.catalog
    return sandbox


@pytest.fixture
def loopback_server(sandbox: Sandbox) -> Iterator[str]:
    from rentnumber_tui.sandbox.server import running_server

    with running_server(sandbox) as base_url:
        yield base_url
