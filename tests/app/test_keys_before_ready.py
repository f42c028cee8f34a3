"""A key that needs the engine, pressed while it starts (the list can show before it is
ready: from the cache, or from the first look on a first start), is carried out once it
is ready — on the screen it was pressed on — instead of being refused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from textual.widgets import Static

from rentnumber_tui.app import app as app_module
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.screens.help import HelpScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.login import LoginScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from tests.core.waiting import wait_until

SIZE = (100, 30)


@pytest.fixture
def held(make_app) -> Iterator[Callable[..., tuple[RentNumberApp, threading.Event]]]:
    """`held(api_key=...)`: an app whose engine is not ready until the event is set
    (its client is being made)."""
    releases: list[threading.Event] = []

    def make(**options: object) -> tuple[RentNumberApp, threading.Event]:
        app = make_app(**options)
        release = threading.Event()
        releases.append(release)
        factory = app.engine._client_factory

        def slow_client():  # type: ignore[no-untyped-def]
            release.wait(30)
            return factory()

        app.engine._client_factory = slow_client
        return app, release

    yield make
    for release in releases:
        release.set()


def notices(app: RentNumberApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_f4_pressed_while_starting_opens_the_login_once_ready(held) -> None:
    app, release = held(api_key=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="the list")
        await pilot.press("f4")
        await pilot.pause()
        assert not app.engine.ready and not isinstance(app.screen, LoginScreen)
        assert not any("try again" in text for text in notices(app))
        release.set()
        await wait_until(lambda: isinstance(app.screen, LoginScreen), what="the login screen")


async def test_a_long_start_says_what_is_waiting(held, monkeypatch) -> None:
    monkeypatch.setattr(app_module, "READY_PATIENCE", 0.05)
    app, release = held(api_key=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="the list")
        await pilot.press("f4")
        said = "Still connecting: ready to see the balance as soon as it is."
        await wait_until(lambda: said in notices(app), what="the note")
        release.set()
        await wait_until(lambda: isinstance(app.screen, LoginScreen), what="the login screen")


async def test_an_action_waits_only_while_its_screen_is_shown(held) -> None:
    app, release = held(api_key=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="the list")
        await pilot.press("f4")  # on the list…
        await pilot.press("f1")  # …then help, before the engine was ready
        await wait_until(lambda: isinstance(app.screen, HelpScreen), what="help")
        release.set()
        await wait_until(lambda: app.engine.ready, what="the engine")
        await pilot.pause()
        assert not any(isinstance(screen, LoginScreen) for screen in app.screen_stack)
        assert isinstance(app.screen, HelpScreen)


async def test_the_history_says_connecting_then_loads(held, sandbox) -> None:
    app, release = held()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="the list")
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="the history")

        def status() -> str:
            return str(app.screen.query_one("#history-status", Static).content)

        await wait_until(lambda: status() == "Connecting…", what="connecting")
        release.set()
        await wait_until(lambda: status().startswith("0 rentals · "), what="the history loaded")
