"""Backends wired to the in-process sandbox (manual clock) for core tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.core.backend import Backend
from rentnumber_tui.core.events import BackendEvent
from rentnumber_tui.core.poller import PollSettings
from rentnumber_tui.core.store import Store
from rentnumber_tui.launch import sandbox_client_factory
from rentnumber_tui.sandbox import Sandbox

#: Polls every 50 ms so tests wait on conditions, not on the real 1 s interval.
FAST_POLLING = PollSettings(rate=20.0, min_interval=0.05, slow_interval=0.2)


class Recorder:
    """Collects backend events (delivered on the backend thread)."""

    def __init__(self) -> None:
        self.events: list[BackendEvent] = []

    def __call__(self, event: BackendEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]


@pytest.fixture
def make_backend(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Backend]]:
    """Start backends on the test's sandbox; a store file in tmp_path unless told."""
    started: list[Backend] = []

    def make(*, store_path: Path | str | None = None, timeout: float = 15.0) -> Backend:
        store = Store(store_path or tmp_path / "store.sqlite3", "test")
        factory = sandbox_client_factory(
            sandbox, scheduler=RequestScheduler(max_requests=50, per=1.0), timeout=timeout
        )
        backend = Backend(
            factory, store, poll_settings=FAST_POLLING, reconcile_retry=0.1, balance_settle=0.05
        )
        backend.start()
        started.append(backend)
        return backend

    yield make
    for backend in started:
        backend.stop()
        backend.store.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
