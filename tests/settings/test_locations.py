from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rentnumber_tui import locations
from rentnumber_tui.locations import InvalidProfile, validate_profile


def test_directories_follow_xdg(tmp_path: Path):
    assert locations.config_dir() == tmp_path / "settings-xdg_config_home" / "rentnumber-tui"
    assert locations.data_dir() == tmp_path / "settings-xdg_data_home" / "rentnumber-tui"
    assert locations.state_dir() == tmp_path / "settings-xdg_state_home" / "rentnumber-tui"
    assert locations.config_file() == locations.config_dir() / "config.toml"
    assert locations.store_file() == locations.data_dir() / "rentnumber.sqlite3"
    assert locations.key_file() == locations.config_dir() / "keys" / "default.key"
    assert locations.key_file("work") == locations.config_dir() / "keys" / "work.key"
    assert not locations.config_file_from_env()


def test_rentnumber_config_names_another_file(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("RENTNUMBER_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert locations.config_file() == tmp_path / "elsewhere.toml"
    assert locations.config_file_from_env()


@pytest.mark.parametrize("name", ["default", "work", "acct-2", "a.b_c", "X"])
def test_valid_profiles(name):
    assert validate_profile(name) == name


@pytest.mark.parametrize("name", ["", "../etc", "a/b", ".hidden", "a..b", "x" * 65, "sp ace"])
def test_invalid_profiles_are_refused(name):
    with pytest.raises(InvalidProfile, match="invalid profile name"):
        locations.key_file(name)


def test_settings_modules_import_nothing_heavy():
    """config/credentials/locations/masking: stdlib at import time; keyring and
    platformdirs only when used; never textual or httpx (DESIGN.md, layers)."""
    code = (
        "import sys\n"
        "import rentnumber_tui.config, rentnumber_tui.credentials\n"
        "import rentnumber_tui.locations, rentnumber_tui.masking\n"
        "heavy = {'textual', 'httpx', 'keyring', 'platformdirs', 'rich'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith('rentnumber_tui.api') or m.startswith('rentnumber_tui.app')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_auth_cli_never_imports_textual():
    code = (
        "import sys\n"
        "import rentnumber_tui.auth_cli\n"
        "print(any(m.split('.')[0] == 'textual' for m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
