"""The demo shows its service list in the first frame (issue 14: it waited ~200 ms for
the engine thread to import httpx and ask the sandbox), and it is the list the engine
then loads from the sandbox — which, the same, is not drawn again. That first frame is
the whole screen: Textual's start-up once threw it away and drew only what changed
after, so the filter box, the count and the balance came ~25 ms later."""

from __future__ import annotations

import re

from rentnumber_tui import launch
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.core import catalog
from rentnumber_tui.core.engine import Engine
from tests.core.waiting import wait_until
from tests.e2e.capture import capture
from tests.e2e.vt import Terminal

SIZE = (120, 40)
_CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")


def frames(chunks: list[str]) -> list[str]:
    """The frames among what the app wrote (each one write; the rest set modes)."""
    return [chunk for chunk in chunks if _CURSOR_MOVE.search(chunk)]


async def test_the_demo_lists_the_services_before_its_engine_has_started(monkeypatch):
    starts: list[Engine] = []
    start = Engine.start
    shows: list[object] = []
    applied: list[object] = []
    show_entries, apply = ServicesScreen.show_entries, FilterList._apply

    def counted_show(self, services):
        shows.append(services)
        show_entries(self, services)

    def counted_apply(self, keep):
        applied.append(keep)
        apply(self, keep)

    monkeypatch.setattr(ServicesScreen, "show_entries", counted_show)
    monkeypatch.setattr(FilterList, "_apply", counted_apply)
    monkeypatch.setattr(Engine, "start", lambda self, *, wait=True: starts.append(self))
    engine, options = launch.demo_app_parts(seed=1)
    app = RentNumberApp(engine, options)
    try:
        async with app.run_test(size=SIZE):
            await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
            listing = app.screen.query_one(FilterList)
            await wait_until(lambda: starts, what="the engine asked to start")
            assert not engine.ready
            shown = [str(item.prompt) for item in listing._items]
            assert len(shown) == 50 and "WhatsApp" in shown[0]
            cached = catalog.cached_services(engine.store)
            assert cached is not None
            # Started now, the engine loads the same list from the sandbox: shown again,
            # it changes nothing (no filtering and drawing of the same list again).
            before = (len(shows), len(applied))
            start(engine, wait=True)
            loaded = await engine.services()
            assert loaded == cached[0]
            await wait_until(lambda: len(shows) > before[0], what="the answer shown")
            assert len(applied) == before[1]
            assert [str(item.prompt) for item in listing._items] == shown
    finally:
        engine.stop()
        engine.store.close()


async def test_the_first_frame_written_is_the_whole_service_list():
    engine, options = launch.demo_app_parts(seed=1)
    app = RentNumberApp(engine, options)
    record = capture(app, SIZE)
    try:
        async with app.run_test(headless=False, size=SIZE):
            await wait_until(lambda: frames(record.chunks), what="a first frame")
            first = Terminal(*SIZE)
            first.feed(frames(record.chunks)[0])
            text = first.text()
            assert "WhatsApp" in text and "50 of 50" in text, text
            assert "Type to filter" in text, text  # the filter box
            assert "DEMO" in text and "no API key" in text, text  # the whole top bar
    finally:
        engine.stop()
        engine.store.close()


async def test_with_nothing_cached_the_engine_starts_before_the_first_frame(make_app, monkeypatch):
    """A first start has no list to show until the engine answers: the engine starts
    as the App mounts, not once the (empty) first frame is out."""
    order: list[str] = []
    start, after_first_frame = Engine.start, RentNumberApp._after_first_frame

    def counted_start(self, *, wait=True):
        order.append("engine started")
        start(self, wait=wait)

    def counted_after(self):
        order.append("first frame")
        after_first_frame(self)

    monkeypatch.setattr(Engine, "start", counted_start)
    monkeypatch.setattr(RentNumberApp, "_after_first_frame", counted_after)
    app = make_app()
    assert app.engine.services_known is None
    async with app.run_test(size=SIZE):
        await wait_until(lambda: "first frame" in order, what="the first frame")
        await wait_until(lambda: app.engine.ready, what="the engine")
    assert order[:2] == ["engine started", "first frame"]
