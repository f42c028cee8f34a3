"""Engines wired to the in-process sandbox (manual clock) for core tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.events import EngineEvent
from rentnumber_tui.core.store import Store
from rentnumber_tui.launch import sandbox_client_factory
from rentnumber_tui.sandbox import Sandbox
from tests.timings import FAST_ENGINE, FAST_POLLING


class Recorder:
    """Collects engine events (delivered on the engine thread)."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]


@pytest.fixture
def make_engine(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """Start engines on the test's sandbox; a store file in tmp_path unless told.
    Several on one store file are processes of one account on one machine."""
    started: list[Engine] = []

    def make(
        *,
        store_path: Path | str | None = None,
        store: Store | None = None,
        timeout: float = 15.0,
        start: bool = True,
        **timings: float,
    ) -> Engine:
        if store is None:
            store = Store(store_path or tmp_path / "store.sqlite3", "test")
        factory = sandbox_client_factory(
            sandbox, scheduler=RequestScheduler(max_requests=50, per=1.0), timeout=timeout
        )
        engine = Engine(factory, store, poll_settings=FAST_POLLING, **{**FAST_ENGINE, **timings})
        if start:
            engine.start()
        started.append(engine)
        return engine

    yield make
    for engine in started:
        engine.stop()
        engine.store.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
