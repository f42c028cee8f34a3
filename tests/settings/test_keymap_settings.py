"""`[keymap]` in config.toml: read into `Settings.keymap` in Textual's key names, each
bad entry named (never echoing a long string: it could be a pasted key), and the ids
checked against the app's own bindings by the launcher before the app gets them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rentnumber_tui import launch, locations
from rentnumber_tui.app.keymap import binding_ids, check_keymap
from rentnumber_tui.config import load_settings, read_settings
from tests.settings.conftest import GOOD_KEY


def write(text: str) -> Path:
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_keymap_entries_are_normalised():
    write('[keymap]\nhelp = "F9"\nrentals = " f2 , Ctrl+R "\nback = "?"\nhistory = "A"\n')
    settings, problems = load_settings()
    assert problems == []
    assert settings.keymap == (
        ("help", "f9"),
        ("rentals", "f2,ctrl+r"),
        ("back", "?"),
        ("history", "A"),  # a lone character keeps its case: shift+a
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("rentals = 5", "not 5"),
        ("rentals = true", "not true"),
        ('rentals = ["f2"]', "not a list"),
        ('rentals = ""', 'not ""'),
        ('rentals = "ctrl+"', 'not "ctrl+"'),
        ('rentals = "hyperspace+r"', 'not "hyperspace+r"'),
        ('rentals = "f2,,f3"', 'not "f2,,f3"'),
    ],
)
def test_a_value_that_is_not_keys_is_named_and_ignored(line: str, shown: str):
    path = write(f'[keymap]\n{line}\nhelp = "f9"\n')
    settings, problems = load_settings()
    assert settings.keymap == (("help", "f9"),)  # the rest still applies
    assert problems == [
        f'{path}: \'keymap.rentals\' must be keys such as "f9" or "f2,ctrl+r", {shown} — '
        "ignored (its default keys stay)"
    ]


def test_a_long_string_or_a_key_named_like_a_secret_is_never_echoed():
    write(f'[keymap]\nlogin = "{GOOD_KEY}"\napi_key = "{GOOD_KEY}"\n')
    settings, problems = load_settings()
    assert settings.keymap == ()
    assert len(problems) == 2
    assert "'keymap.login'" in problems[0] and "a text of 40 characters" in problems[0]
    assert "'keymap.api_key'" in problems[1] and "rentnumber-tui login" in problems[1]
    assert GOOD_KEY not in "".join(problems)


def test_keymap_that_is_not_a_table():
    path = write('keymap = "f9"\n')
    settings, problems = load_settings()
    assert settings.keymap == ()
    assert problems == [
        f"{path}: 'keymap' must be a table ([keymap] with lines such as help = \"f9\"), "
        'not "f9" — ignored'
    ]


def test_read_settings_says_what_came_from_the_file_and_the_profile():
    write('bell = false\n[keymap]\nhelp = "f9"\n[profiles.work]\ndefault_country = "ke"\n')
    loaded = read_settings(profile="work")
    assert loaded.exists and loaded.file == locations.config_file()
    assert loaded.sources == {
        "bell": "file",
        "keymap": "file",
        "default_country": "[profiles.work]",
    }
    assert read_settings().sources == {"bell": "file", "keymap": "file"}
    locations.config_file().unlink()
    assert not read_settings().exists


def test_unknown_ids_are_named_with_the_nearest_one():
    keymap, problems = check_keymap([("hepl", "f9"), ("history", "f7"), ("nothing\x1b", "x")])
    assert keymap == {"history": "f7"}
    assert problems == [
        "'keymap.hepl' is not a key binding of rentnumber-tui — ignored (did you mean "
        "'help'?); the ids are listed in the help (F1) and the README",
        "'keymap.nothing?' is not a key binding of rentnumber-tui — ignored; the ids are "
        "listed in the help (F1) and the README",
    ]


def test_an_id_shared_by_screens_is_one_entry_with_its_keys():
    ids = binding_ids()
    assert ids["help"] == ["f1", "question_mark"]
    assert ids["refresh"] == ["r", "f5"]  # Price table, Live rentals and History
    assert ids["offer_table.choose"] == ["enter"]


def test_the_launcher_gives_the_app_the_known_entries_and_warns_about_the_rest():
    path = write('[keymap]\nhepl = "f9"\nrentals = 2\nhistory = "f7"\n')
    built = launch._real_engine(
        argparse.Namespace(profile="default", base_url=None, allow_insecure_http=False)
    )
    assert not isinstance(built, str)
    engine, options = built
    engine.store.close()
    assert options.keymap == (("history", "f7"),)
    assert any(
        w.startswith(f"{path}: 'keymap.hepl' is not a key binding") for w in options.warnings
    )
    assert any(w.startswith(f"{path}: 'keymap.rentals' must be keys") for w in options.warnings)


def test_without_a_keymap_the_launcher_imports_no_screen():
    import subprocess
    import sys

    code = (
        "import sys; from rentnumber_tui import launch; from rentnumber_tui.config import "
        "Settings; assert launch.checked_keymap(Settings()) == ({}, []); "
        "print(sorted(m for m in sys.modules if m.startswith('rentnumber_tui.app.screens')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_demo_uses_the_keymap_and_signals_but_no_server_setting():
    write(
        'bell = false\nbase_url = "https://elsewhere.example/api/v1"\n\n'
        '[keymap]\nhelp = "f9"\nbogus = "f7"\n'
    )
    options = launch._demo_options()
    assert options.demo and dict(options.keymap) == {"help": "f9"}
    assert options.bell is False
    assert any("'keymap.bogus'" in warning for warning in options.warnings)
    assert options.key_storage is None and options.save_theme is None  # nothing stored
