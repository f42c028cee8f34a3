"""Apps wired to the test's sandbox (manual clock), with deterministic time on screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rentnumber_tui.api.clock import ServerClock
from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.store import Store
from rentnumber_tui.launch import DEMO_KEY, sandbox_client_factory
from rentnumber_tui.sandbox import ManualClock, Sandbox
from tests.timings import FAST_ENGINE, FAST_POLLING


@pytest.fixture
def make_app(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path
) -> Iterator[Callable[..., RentNumberApp]]:
    """Build an app on the sandbox. Its idea of the server's time follows the manual
    clock exactly, so countdowns on screen only move when the test moves the clock.
    `api_key`: the demo account's by default; None starts without a key."""
    backends: list[Engine] = []

    def make(
        *,
        options: AppOptions | None = None,
        store_path: Path | str | None = None,
        timeout: float = 15.0,
        frozen_budget: bool = False,
        api_key: str | None = DEMO_KEY,
        store: Store | None = None,
    ) -> RentNumberApp:
        factory = sandbox_client_factory(
            sandbox,
            api_key=api_key,
            scheduler=RequestScheduler(max_requests=50, per=1.0),
            server_clock=ServerClock(time_func=lambda: clock.now().timestamp()),
            timeout=timeout,
        )
        if store is None:
            store = Store(store_path or tmp_path / "store.sqlite3", "test")
        engine = Engine(factory, store, poll_settings=FAST_POLLING, **FAST_ENGINE)
        if frozen_budget:
            # The request budget on the top bar moves with real time: fixed for snapshots.
            engine.request_stats = lambda: (0, 0, 2.0)  # type: ignore[method-assign]
        backends.append(engine)
        return RentNumberApp(engine, options or AppOptions(demo=True))

    yield make
    for engine in backends:
        engine.stop()
        engine.store.close()
