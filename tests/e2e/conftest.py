"""End-to-end fixtures: the real App on the sandbox, in-process or over real HTTP, with
a loopback server that can be stopped and started again on the same port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rentnumber_tui.api.clock import ServerClock
from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.store import Store
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox
from tests.timings import FAST_ENGINE, FAST_POLLING


class LoopbackServer:
    """The sandbox over real HTTP on 127.0.0.1; `stop()` and `start()` again keep the
    port, as a server that goes away and comes back does."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.port = 0
        self.base_url = ""
        self._stack: contextlib.ExitStack | None = None

    def start(self) -> str:
        from rentnumber_tui.sandbox.server import running_server

        stack = contextlib.ExitStack()
        self.base_url = stack.enter_context(running_server(self.sandbox, port=self.port))
        self.port = int(self.base_url.split(":")[2].split("/")[0])
        self._stack = stack
        return self.base_url

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    @property
    def running(self) -> bool:
        return self._stack is not None


@pytest.fixture(autouse=True)
def no_program_left_running() -> Iterator[None]:
    """A failing test must not leave a program spinning on a dead pty for the rest of
    the run (it would slow every later test)."""
    from tests.e2e.pty import kill_leftovers

    yield
    kill_leftovers()


@pytest.fixture
def loopback(sandbox: Sandbox) -> Iterator[LoopbackServer]:
    server = LoopbackServer(sandbox)
    server.start()
    yield server
    server.stop()


@dataclass
class Harness:
    """An app running under Pilot, what it told the person, and the server behind it."""

    app: RentNumberApp
    sandbox: Sandbox
    clock: ManualClock
    pilot: Any = None
    server: LoopbackServer | None = None
    #: Every notification's text, in order.
    notes: list[str] = field(default_factory=list)
    #: Every text any Static was given while the app ran (status lines, dialogs), so a
    #: message is seen even if the next attempt replaced it a moment later.
    shown: list[str] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.app.engine


def client_factory(
    sandbox: Sandbox, clock: ManualClock, base_url: str | None, timeout: float
) -> Callable[[], Any]:
    """Clients on the sandbox: in-process (ASGI) without `base_url`, else over HTTP.
    Retries back off fast and without jitter, so a failure shows within a second."""

    def factory() -> Any:
        import httpx

        from rentnumber_tui.api.client import RentNumberClient

        options: dict[str, Any] = {
            "api_key": DEMO_API_KEY,
            "scheduler": RequestScheduler(max_requests=50, per=1.0),
            "server_clock": ServerClock(time_func=lambda: clock.now().timestamp()),
            "timeout": timeout,
            "backoff": 0.01,
            "random": lambda: 0.5,
        }
        if base_url is None:
            transport = httpx.ASGITransport(app=sandbox)  # type: ignore[arg-type]
            return RentNumberClient(
                base_url="http://127.0.0.1/api/v1", transport=transport, **options
            )
        return RentNumberClient(base_url=base_url, **options)

    return factory


async def settled(app: RentNumberApp) -> None:
    """Wait until the current screen has mounted all its widgets: quitting while a
    just-pushed screen is still mounting prunes it half-built, and a widget whose
    on_mount looks up its own children then raises."""
    from tests.core.waiting import wait_until

    def mounted() -> bool:
        screen = app.screen
        return screen.is_mounted and all(node.is_mounted for node in screen.walk_children())

    await wait_until(mounted, what="the screen mounted")


def told(h: Harness) -> str:
    """Everything the person can read now: notifications, and the text of the screen's
    widgets (static text, list entries, table cells)."""
    parts = [*h.notes, *h.shown]
    screen = h.app.screen
    for widget in screen.query("Static"):
        parts.append(str(getattr(widget, "content", "")))
    from textual.widgets import DataTable, OptionList

    for listing in screen.query(OptionList):
        parts.extend(
            str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)
        )
    for table in screen.query(DataTable):
        parts.extend(" ".join(map(str, table.get_row_at(i))) for i in range(table.row_count))
    return "\n".join(parts)


@pytest.fixture
def harness(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., contextlib.AbstractAsyncContextManager[Harness]]:
    """`async with harness(server=...) as h:` runs the App under Pilot at 100×30 on the
    sandbox (over `server` when given), recording its notifications. Screens that
    retry by themselves do so after 0.2 s here."""
    monkeypatch.setattr("rentnumber_tui.app.app.CATALOG_RETRY", 0.2)
    monkeypatch.setattr("rentnumber_tui.app.screens.base.RETRY_FIRST", 0.2)

    @contextlib.asynccontextmanager
    async def run(
        *,
        server: LoopbackServer | None = None,
        base_url: str | None = None,
        timeout: float = 5.0,
        **timings: float,
    ) -> AsyncIterator[Harness]:
        """`base_url`: talk to this address instead (a proxy in front of `server`);
        `timings`: the engine's, over the fast test ones."""
        if base_url is None and server is not None:
            base_url = server.base_url
        factory = client_factory(sandbox, clock, base_url, timeout)
        store = Store(tmp_path / "store.sqlite3", "e2e")
        engine = Engine(factory, store, poll_settings=FAST_POLLING, **{**FAST_ENGINE, **timings})
        app = RentNumberApp(engine, AppOptions(demo=True, bell=False))
        h = Harness(app, sandbox, clock, server=server)
        real_notify = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            h.notes.append(message)
            real_notify(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        from textual.widgets import Static

        real_update = Static.update

        def update(widget: Static, content: Any = "", **kwargs: Any) -> None:
            if widget.app is app:
                h.shown.append(str(content))
            real_update(widget, content, **kwargs)

        monkeypatch.setattr(Static, "update", update)
        try:
            async with app.run_test(size=(100, 30), notifications=True) as pilot:
                h.pilot = pilot
                yield h
                await settled(app)
        finally:
            engine.stop()
            store.close()

    return run
