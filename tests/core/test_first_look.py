"""The engine's first look at the services on a first start: shown and cached before
the engine is ready, standing for the front end's first ask; anything it cannot get is
asked by the client as on any start."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rentnumber_tui.api.first_look import first_services
from rentnumber_tui.api.models import Rows, Service
from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.core import catalog
from rentnumber_tui.core import engine as engine_module
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.events import CatalogUpdated, EngineReady
from rentnumber_tui.core.store import Store
from rentnumber_tui.launch import sandbox_client_factory
from rentnumber_tui.sandbox import Sandbox
from tests.timings import FAST_ENGINE, FAST_POLLING

from .conftest import Recorder
from .waiting import wait_until


@pytest.fixture
def start(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """`start(first_look, recorder)`: an engine on the sandbox with that first look,
    started as the TUI's launcher starts it (`look_early`, then `start`); `start=False`:
    neither."""
    engines: list[Engine] = []

    def make(
        first_look: Callable[..., object],
        recorder: Recorder,
        store: Store | None = None,
        *,
        start: bool = True,
    ) -> Engine:
        factory = sandbox_client_factory(
            sandbox, scheduler=RequestScheduler(max_requests=50, per=1.0)
        )
        engine = Engine(
            factory,
            store or Store(tmp_path / "store.sqlite3", "test"),
            poll_settings=FAST_POLLING,
            first_look=first_look,  # type: ignore[arg-type]
            **FAST_ENGINE,
        )
        engine.subscribe(recorder)
        engines.append(engine)
        if start:
            engine.look_early()
            engine.start()
        return engine

    yield make
    for engine in engines:
        engine.stop()
        engine.store.close()


def asked(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.request_log if r.path.endswith("/services"))


async def test_the_first_look_is_shown_and_cached_before_ready_and_answers_the_first_ask(
    start, sandbox: Sandbox, loopback_server: str, recorder: Recorder
) -> None:
    engine = start(lambda: first_services(loopback_server, RequestScheduler()), recorder)
    updated = recorder.of(CatalogUpdated)
    assert len(updated) == 1 and updated[0].services is not None
    kinds = [type(event) for event in recorder.events]
    assert kinds.index(CatalogUpdated) < kinds.index(EngineReady)
    assert engine.services_known == updated[0].services
    cached = catalog.cached_services(engine.store)
    assert cached is not None and cached[0] == updated[0].services

    await wait_until(lambda: asked(sandbox) == 1, what="the first look in the server's log")
    assert await engine.services() == updated[0].services  # the front end's first ask
    assert asked(sandbox) == 1
    assert len(recorder.of(CatalogUpdated)) == 1  # the list is not redrawn for it
    await engine.services()  # a later ask is a real one
    assert asked(sandbox) == 2


async def test_no_first_look_when_the_services_are_cached(
    start, sandbox: Sandbox, recorder: Recorder, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store.sqlite3", "test")
    services = (Service(id=1, slug="whatsapp", name="WhatsApp", provider_count=1, min_price=None),)
    store.put_catalog(catalog.SERVICES, catalog.dump_services(services))
    looks: list[int] = []

    def look() -> None:
        looks.append(1)

    engine = start(look, recorder, store)
    assert looks == [] and engine.services_known == services
    await engine.services()
    assert asked(sandbox) == 1  # the client refreshes the cached list, as on any start


async def test_no_first_look_unless_asked_early(
    start, sandbox: Sandbox, recorder: Recorder
) -> None:
    """A command line's engine: it may need no list at all, so none is asked for."""
    looks: list[int] = []

    def look() -> None:
        looks.append(1)

    engine = start(look, recorder, start=False)
    engine.start()
    assert looks == [] and recorder.of(CatalogUpdated) == []
    assert sandbox.request_log == []


def nothing() -> None:
    return None


def broken() -> None:
    raise RuntimeError("a bug in the shortcut")


def endless() -> None:
    threading.Event().wait(60)  # longer than the engine waits (a daemon thread)


@pytest.mark.parametrize("look", [nothing, broken, endless], ids=["none", "raises", "hangs"])
async def test_what_the_first_look_cannot_get_the_client_asks_for(
    start, sandbox: Sandbox, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, look
) -> None:
    monkeypatch.setattr(engine_module, "FIRST_LOOK_WAIT", 0.2)
    engine = start(look, recorder)
    assert engine.ready and recorder.of(CatalogUpdated) == []
    services = await engine.services()
    assert services[0].slug == "whatsapp"
    assert asked(sandbox) == 1
    assert len(recorder.of(CatalogUpdated)) == 1


async def test_a_first_answer_gone_stale_is_asked_again(
    start, sandbox: Sandbox, loopback_server: str, recorder: Recorder, monkeypatch
) -> None:
    monkeypatch.setattr(engine_module, "FIRST_ANSWER_FRESH", 0.0)
    engine = start(lambda: first_services(loopback_server, RequestScheduler()), recorder)
    await engine.services()
    await wait_until(lambda: asked(sandbox) == 2, what="the first look and the client's ask")


async def test_an_early_look_is_there_before_the_engine_starts(
    start, sandbox: Sandbox, loopback_server: str, recorder: Recorder
) -> None:
    """The launcher's order: the look starts, the front end loads (and reads
    `services_known` for its first frame), then the engine starts and says it."""
    engine = start(
        lambda: first_services(loopback_server, RequestScheduler()), recorder, start=False
    )
    engine.look_early()
    await wait_until(lambda: engine.services_known is not None, what="the early answer")
    assert engine.services_known is not None and engine.services_known[0].slug == "whatsapp"
    assert recorder.events == [] and engine.client is None
    engine.start()
    updated = recorder.of(CatalogUpdated)
    assert [event.services for event in updated] == [engine.services_known]
    cached = catalog.cached_services(engine.store)
    assert cached is not None and cached[0] == engine.services_known
    assert await engine.services() == engine.services_known
    assert asked(sandbox) == 1


async def test_the_engine_waits_for_an_early_look_under_way(
    start, loopback_server: str, recorder: Recorder
) -> None:
    released = threading.Event()
    threads: list[threading.Thread] = []

    def look() -> Rows[Service] | None:
        threads.append(threading.current_thread())
        released.wait(30)
        return first_services(loopback_server, RequestScheduler())

    engine = start(look, recorder, start=False)
    engine.look_early()
    await wait_until(lambda: threads, what="the look under way")
    assert engine.services_known is None  # not there yet: the list says it is loading
    engine.start(wait=False)
    released.set()
    await wait_until(lambda: engine.ready, what="the engine")
    kinds = [type(event) for event in recorder.events]
    assert kinds.index(CatalogUpdated) < kinds.index(EngineReady)
    assert engine.services_known is not None
    assert threads[0] is not engine._thread  # it ran on a thread of its own


async def test_an_early_look_given_up_on_ends_quietly(
    start, sandbox: Sandbox, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine went on without it (`FIRST_LOOK_WAIT`); its answer, when it comes,
    settles the look once, with nothing raised on its thread."""
    monkeypatch.setattr(engine_module, "FIRST_LOOK_WAIT", 0.1)
    failures: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    released = threading.Event()

    def look() -> None:
        released.wait(30)

    engine = start(look, recorder, start=False)
    engine.look_early()
    engine.start()
    assert engine.ready and recorder.of(CatalogUpdated) == []
    released.set()
    early = engine._early
    assert early is not None
    await wait_until(early.done, what="the look's end")
    assert early.exception() is None and failures == []
    await engine.services()
    assert asked(sandbox) == 1
