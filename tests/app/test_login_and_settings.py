"""Settings as the running app honours them: bell, clipboard, notifications, default
country, and the theme picked in the app being remembered in config.toml."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from tests.app.helpers import open_prices, rent_cursor_offer
from tests.core.waiting import wait_until


async def rent_and_receive(app, pilot, sandbox, code: str = "482913") -> int:
    await open_prices(app, pilot)
    rental_id = await rent_cursor_offer(app, pilot)
    sandbox.deliver_sms(rental_id, code=code)
    await wait_until(lambda: app.engine.rental(rental_id).code == code, what="the code")
    return rental_id


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.parametrize("bell", [True, False])
async def test_bell_setting(make_app, sandbox, monkeypatch, bell):
    app = make_app(options=AppOptions(demo=True, bell=bell))
    rings: list[bool] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(True))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await rent_and_receive(app, pilot, sandbox)
        await pilot.pause()
        assert rings == ([True] if bell else [])


@pytest.mark.parametrize("notifications", [True, False])
async def test_notifications_setting(make_app, sandbox, notifications):
    app = make_app(options=AppOptions(demo=True, notifications=notifications))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await rent_and_receive(app, pilot, sandbox, code="771204")
        await pilot.pause()
        assert any("771204" in text for text in toasts(app)) is notifications


async def test_clipboard_off_says_so_and_copies_nothing(make_app, sandbox):
    app = make_app(options=AppOptions(demo=True, clipboard=False))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await rent_and_receive(app, pilot, sandbox, code="305117")
        await pilot.press("c")
        await wait_until(lambda: any("turned off" in t for t in toasts(app)), what="the note")
        assert app.clipboard == ""
        assert any("305117" in t and "turned off" in t for t in toasts(app))


async def test_clipboard_on_copies(make_app, sandbox):
    app = make_app(options=AppOptions(demo=True, clipboard=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await rent_and_receive(app, pilot, sandbox, code="640022")
        await pilot.press("c")
        await wait_until(lambda: app.clipboard == "640022", what="the copy")


async def test_default_country_is_preselected(make_app):
    app = make_app(options=AppOptions(demo=True, default_country="ke"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        services = app.screen.query_one(FilterList)
        await wait_until(lambda: services.shown, what="services")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, CountriesScreen) and app.screen.is_mounted)
        countries = app.screen.query_one(FilterList)
        await wait_until(lambda: countries.shown, what="countries")
        by_id = {item.id: item for item in countries.shown}
        assert "KE" in by_id[countries.highlighted_id].keys


# ------------------------------------------------------------------------------- theme


def launch_options(base_url: str = "http://127.0.0.1:9/api/v1") -> AppOptions:
    from rentnumber_tui.launch import _real_engine

    built = _real_engine(
        argparse.Namespace(profile="default", base_url=base_url, allow_insecure_http=False)
    )
    assert not isinstance(built, str), built
    backend, options = built
    backend.store.close()  # only the options are wanted; the backend never starts
    assert isinstance(options, AppOptions)
    return options


async def test_the_theme_picked_in_the_app_is_remembered(make_app, tmp_path, monkeypatch):
    config = tmp_path / "elsewhere" / "config.toml"
    config.parent.mkdir()
    config.write_text("# my settings\nbell = false\n")
    monkeypatch.setenv("RENTNUMBER_CONFIG", str(config))

    first = launch_options()
    assert first.theme is None and first.bell is False
    app = make_app(options=first)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert app.theme != "nord"
        app.theme = "nord"  # what the palette's "Change theme" does
        await wait_until(lambda: 'theme = "nord"' in config.read_text(), what="saved")
        await pilot.pause()
    assert config.read_text() == '# my settings\nbell = false\ntheme = "nord"\n'

    second = launch_options()
    assert second.theme == "nord"
    app = make_app(options=second)
    async with app.run_test(size=(100, 30)):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert app.theme == "nord"


async def test_a_theme_that_cannot_be_saved_is_reported(make_app, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("this is = = not toml\n")
    monkeypatch.setenv("RENTNUMBER_CONFIG", str(config))
    options = launch_options()
    app = make_app(options=options)
    async with app.run_test(size=(100, 30), notifications=True):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        app.theme = "nord"
        await wait_until(
            lambda: any("not valid TOML" in t for t in toasts(app)), what="the message"
        )
    assert config.read_text() == "this is = = not toml\n"


async def test_an_unknown_theme_in_the_settings_falls_back_to_the_default(make_app, tmp_path: Path):
    app: RentNumberApp = make_app(options=AppOptions(demo=True, theme="no-such-theme"))
    async with app.run_test(size=(100, 30), notifications=True):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert app.theme == "textual-dark"
        assert any("no-such-theme" in t for t in toasts(app))
