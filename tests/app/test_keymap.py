"""A keymap in config.toml changes the app's keys (through the launcher, as a person's
file would), a bad entry is said in a toast at start while the rest applies, and the
help lists every binding id with the keys in effect."""

from __future__ import annotations

import argparse

from rentnumber_tui import launch, locations
from rentnumber_tui.app.keymap import binding_ids
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.help import HelpScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from tests.app.helpers import record_notes, still_cursors
from tests.core.waiting import wait_until
from tests.source_bindings import binding_ids_in_source


def options_from(config_toml: str) -> AppOptions:
    """The keymap and warnings the launcher makes of this config.toml, on the demo."""
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_toml, encoding="utf-8")
    built = launch._real_engine(
        argparse.Namespace(profile="default", base_url=None, allow_insecure_http=False)
    )
    assert not isinstance(built, str), built
    engine, options = built
    engine.store.close()  # never started: only its options are used
    return AppOptions(demo=True, keymap=options.keymap, warnings=options.warnings)


def help_line(app, binding_id: str) -> str:
    return next(str(line) for line in app.screen._lines if f" {binding_id} " in str(line))


async def test_a_keymap_in_config_toml_rebinds_a_key(make_app):
    app = make_app(options=options_from('[keymap]\nhelp = "f9"\n'))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        await pilot.press("f1")  # its default key no longer opens it
        await pilot.pause()
        assert isinstance(app.screen, ServicesScreen)
        await pilot.press("f9")
        await wait_until(lambda: isinstance(app.screen, HelpScreen), what="help on F9")
        line = help_line(app, "help")
        assert line.split()[0] == "f9" and "f1" not in line, line
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))


async def test_a_bad_keymap_entry_warns_and_the_rest_applies(make_app, monkeypatch):
    app = make_app(
        options=options_from('[keymap]\nhepl = "f9"\nrentals = 2\nhistory = "f7,ctrl+r"\n')
    )
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert any("'keymap.hepl' is not a key binding" in n and "'help'?" in n for n in notes)
        assert any("'keymap.rentals' must be keys" in n and "not 2" in n for n in notes)
        await pilot.press("ctrl+r")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        await pilot.press("f2")  # the bad entry left its default keys alone
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rentals")


def test_every_binding_id_in_the_source_can_be_remapped():
    assert set(binding_ids()) == set(binding_ids_in_source())


async def test_the_help_lists_every_binding_id(make_app):
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        await pilot.press("f1")
        await wait_until(lambda: isinstance(app.screen, HelpScreen))
        text = "\n".join(str(line) for line in app.screen._lines)
        missing = [i for i in binding_ids_in_source() if f" {i} " not in text]
        assert not missing, f"ids missing from the help: {missing}"


def test_help_with_a_keymap(snap_compare, make_app):
    """80×24: the id column, and F9 shown for help in place of F1 / ?."""
    app = make_app(
        options=AppOptions(demo=True, keymap=(("help", "f9"), ("rentals", "f2,ctrl+r"))),
        frozen_budget=True,
    )

    async def before(pilot) -> None:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        await wait_until(lambda: app.engine.status().balance)
        await pilot.press("f9")
        await wait_until(lambda: isinstance(app.screen, HelpScreen))
        still_cursors(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_a_long_description_wraps_under_itself_or_under_its_keys():
    from textual.content import Content

    from rentnumber_tui.app.screens.help import HelpLine, wrap_lines

    lead = Content("  f2                 rentals  ")
    line = HelpLine(lead + "Live rentals: codes, copy, cancel", lead.cell_length)
    assert wrap_lines([line], 80) == [line.content]
    hanging = [str(part).rstrip() for part in wrap_lines([line], 60)]
    assert hanging == [
        "  f2                 rentals  Live rentals: codes, copy,",
        " " * lead.cell_length + "cancel",
    ]
    narrow = [str(part).rstrip() for part in wrap_lines([line], 40)]  # less than half left
    assert narrow == ["  f2                 rentals", "      Live rentals: codes, copy, cancel"]
