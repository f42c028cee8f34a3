from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from rentnumber_tui import locations
from rentnumber_tui.config import (
    ConfigError,
    Settings,
    load_settings,
    merge_cli,
    resolve_base_url,
    save_theme,
)
from rentnumber_tui.transport import DEFAULT_BASE_URL, BaseUrlError

FULL = """\
base_url = "https://api.example.net/api/v1/"
theme = "nord"
poll_interval = 2
default_country = "ng"
clipboard = false
bell = false
notifications = false
auto_copy = true
desktop_notifications = "OSC777"
auto_replace = true
replace_after = 90
replace_attempts = 4
replace_max_price = "600.50"
allow_insecure_http = true
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "config.toml"


def test_no_file_gives_defaults_silently():
    settings, problems = load_settings()
    assert settings == Settings()
    assert problems == []
    assert settings.poll_interval == 5.0
    assert (settings.clipboard, settings.bell, settings.notifications) == (True, True, True)
    assert settings.allow_insecure_http is False
    assert settings.base_url is None and settings.effective_base_url == DEFAULT_BASE_URL


def test_every_key(cfg: Path):
    settings, problems = load_settings(write(cfg, FULL))
    assert problems == []
    assert settings == Settings(
        base_url="https://api.example.net/api/v1",
        theme="nord",
        poll_interval=2.0,
        default_country="NG",
        clipboard=False,
        bell=False,
        notifications=False,
        auto_copy=True,
        desktop_notifications="osc777",
        auto_replace=True,
        replace_after=90.0,
        replace_attempts=4,
        replace_max_price=Decimal("600.50"),
        allow_insecure_http=True,
    )
    assert isinstance(settings.poll_interval, float)


def test_default_location_is_read():
    write(locations.config_file(), 'theme = "gruvbox"\n')
    assert load_settings()[0].theme == "gruvbox"


def test_unknown_key_is_named_with_the_file_and_ignored(cfg: Path):
    settings, problems = load_settings(write(cfg, "pol_interval = 3\nbell = false\n"))
    assert settings == Settings(bell=False)
    assert problems == [
        f"{cfg}: unknown key 'pol_interval' — ignored (did you mean 'poll_interval'?)"
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('bell = "yes"', "'bell' must be true or false, not \"yes\" — using the default (true)"),
        ("clipboard = 1", "'clipboard' must be true or false, not 1"),
        ("poll_interval = 0.5", "must be a number of seconds from 1 to 60, not 0.5"),
        ("poll_interval = true", "'poll_interval' must be a number of seconds from 1 to 60"),
        ('poll_interval = "5"', "'poll_interval' must be a number of seconds"),
        ("poll_interval = 3600", "not 3600 — using the default (5.0)"),
        ('default_country = "Nigeria"', "'default_country' must be a two-letter ISO country"),
        ('base_url = "ftp://example.com"', "'base_url' must be an http:// or https:// URL"),
        ('base_url = "https://"', "'base_url' must be an http:// or https:// URL"),
        ("theme = 3", "'theme' must be a theme name"),
        ("theme = [1, 2]", "'theme' must be a theme name such as \"textual-dark\", not a list"),
        ("notifications = {}", "'notifications' must be true or false, not a table"),
        ('auto_copy = "on"', "'auto_copy' must be true or false, not \"on\""),
        ("replace_after = 5", "'replace_after' must be a number of seconds from 30 to 3600"),
        ("replace_attempts = 0", "must be a whole number of rentals from 1 to 10"),
        ('replace_max_price = "lots"', "must be an amount such as 500"),
        ("replace_max_price = -3", "must be a positive amount"),
        ('desktop_notifications = "yes"', 'must be "auto", "osc9", "osc777" or "off"'),
    ],
)
def test_wrong_types_are_clear_messages_and_defaults(cfg: Path, line: str, expected: str):
    key = line.split(" ", 1)[0]
    other = "clipboard" if key == "bell" else "bell"
    settings, problems = load_settings(write(cfg, f"{line}\n{other} = false\n"))
    assert len(problems) == 1
    assert problems[0].startswith(f"{cfg}: '{key}' ")
    assert expected in problems[0]
    assert getattr(settings, key) == getattr(Settings(), key)
    assert getattr(settings, other) is False  # the rest of the file still applies


def test_invalid_toml_names_the_file_and_the_line(cfg: Path):
    settings, problems = load_settings(write(cfg, 'theme = "nord"\nbell = \n'))
    assert settings == Settings()
    assert len(problems) == 1
    assert str(cfg) in problems[0]
    assert "not valid TOML" in problems[0]
    assert "line 2" in problems[0]
    assert problems[0].endswith("using the defaults")


def test_not_utf8(cfg: Path):
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(b'theme = "\xff\xfe"\n')
    settings, problems = load_settings(cfg)
    assert settings == Settings()
    assert problems == [f"{cfg} is not UTF-8 text — using the defaults"]


def test_utf8_bom_is_accepted(cfg: Path):
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(b'\xef\xbb\xbftheme = "nord"\n')
    assert load_settings(cfg) == (Settings(theme="nord"), [])


def test_unreadable_file(cfg: Path):
    cfg.mkdir(parents=True)  # a directory where the file should be
    settings, problems = load_settings(cfg)
    assert settings == Settings()
    assert len(problems) == 1
    assert problems[0].startswith(f"cannot read {cfg} (")


def test_rentnumber_config_names_the_file(tmp_path: Path, monkeypatch):
    other = write(tmp_path / "other.toml", "bell = false\n")
    write(locations.config_dir() / "config.toml", "bell = true\nclipboard = false\n")
    monkeypatch.setenv("RENTNUMBER_CONFIG", str(other))
    assert load_settings() == (Settings(bell=False), [])


def test_rentnumber_config_naming_a_missing_file_is_reported(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("RENTNUMBER_CONFIG", str(tmp_path / "nope.toml"))
    settings, problems = load_settings()
    assert settings == Settings()
    assert problems == [
        f"RENTNUMBER_CONFIG names {tmp_path / 'nope.toml'}, which does not exist — "
        "using the defaults"
    ]


def test_api_key_in_the_file_is_not_read_and_not_echoed(cfg: Path):
    secret = "rn_in_the_config_file_0123456789abcd"
    settings, problems = load_settings(write(cfg, f'api_key = "{secret}"\n'))
    assert settings == Settings()
    assert len(problems) == 1
    assert "'api_key' is not read from the settings file" in problems[0]
    assert "rentnumber-tui login" in problems[0]
    assert secret not in problems[0]


PROFILES = """\
base_url = "https://main.example.com/api/v1"
default_country = "NG"

[profiles.work]
base_url = "https://work.example.com/api/v1"
default_country = "gh"

[profiles.odd]
theme = "nord"
base_ulr = "https://x.example.com"
"""


def test_profile_sections(cfg: Path):
    write(cfg, PROFILES)
    default, problems = load_settings(cfg)
    assert problems == []
    assert default.base_url == "https://main.example.com/api/v1"
    assert default.default_country == "NG"
    work, problems = load_settings(cfg, profile="work")
    assert problems == []
    assert work.base_url == "https://work.example.com/api/v1"
    assert work.default_country == "GH"
    other, problems = load_settings(cfg, profile="other")  # no section: top level only
    assert other == default and problems == []


def test_profile_section_problems(cfg: Path):
    settings, problems = load_settings(write(cfg, PROFILES), profile="odd")
    assert settings.theme is None
    assert settings.base_url == "https://main.example.com/api/v1"
    assert problems == [
        f"{cfg}: 'profiles.odd.theme' cannot be set per profile (only base_url, "
        "default_country) — ignored",
        f"{cfg}: unknown key 'profiles.odd.base_ulr' — ignored "
        "(did you mean 'profiles.odd.base_url'?)",
    ]


def test_profiles_not_a_table(cfg: Path):
    settings, problems = load_settings(write(cfg, 'profiles = "work"\nbell = false\n'))
    assert settings == Settings(bell=False)
    assert problems == [
        f"{cfg}: 'profiles' must be a table ([profiles.NAME] sections), not \"work\" — ignored"
    ]


def test_flags_win_over_the_file_and_none_means_not_given(cfg: Path):
    settings, _ = load_settings(write(cfg, FULL))
    merged = merge_cli(
        settings, base_url="http://127.0.0.1:8080/api/v1/", theme=None, bell=True, poll_interval=3
    )
    assert merged.base_url == "http://127.0.0.1:8080/api/v1"
    assert merged.theme == "nord"  # not given: the file's
    assert merged.bell is True
    assert merged.poll_interval == 3.0
    assert merged.clipboard is False  # untouched


def test_bad_flag_values_name_the_flag():
    with pytest.raises(ConfigError, match=r"^--poll-interval must be a number of seconds"):
        merge_cli(Settings(), poll_interval=0)
    with pytest.raises(ConfigError, match=r"^--default-country must be a two-letter"):
        merge_cli(Settings(), default_country="Ghana")
    with pytest.raises(TypeError):
        merge_cli(Settings(), polling=3)


def test_base_url_precedence(cfg: Path, monkeypatch):
    settings, _ = load_settings(write(cfg, 'base_url = "https://file.example.com/v1"\n'))
    assert resolve_base_url(Settings()) == DEFAULT_BASE_URL
    assert resolve_base_url(settings) == "https://file.example.com/v1"
    monkeypatch.setenv("RENTNUMBER_BASE_URL", "https://env.example.com/v1/")
    assert resolve_base_url(settings) == "https://env.example.com/v1"
    assert resolve_base_url(settings, "https://flag.example.com/v1") == (
        "https://flag.example.com/v1"
    )
    # An empty flag is a mistake, never a silent fall-back to the production address.
    with pytest.raises(BaseUrlError, match=r"^--base-url is empty"):
        resolve_base_url(settings, "  ")
    monkeypatch.setenv("RENTNUMBER_BASE_URL", "")  # an empty variable counts as unset
    assert resolve_base_url(settings) == "https://file.example.com/v1"
    monkeypatch.setenv("RENTNUMBER_BASE_URL", "https://env.example.com/v1#frag")
    with pytest.raises(BaseUrlError, match=r"^RENTNUMBER_BASE_URL must be .* without a query"):
        resolve_base_url(settings)


# --------------------------------------------------------------------------- save_theme


def test_save_theme_creates_the_file_and_directory():
    path = save_theme("nord")
    assert path == locations.config_file()
    assert path.read_text() == 'theme = "nord"\n'
    assert load_settings() == (Settings(theme="nord"), [])


COMMENTED = """\
# My settings.
base_url = "https://v2.rentnumber.net/api/v1"   # the real one
theme = "textual-dark"  # picked in the palette
bell = false

# Work account
[profiles.work]
base_url = "https://work.example.com/api/v1"
"""


def test_save_theme_changes_only_the_theme_value(cfg: Path):
    write(cfg, COMMENTED)
    save_theme("gruvbox", cfg)
    assert cfg.read_text() == COMMENTED.replace(
        'theme = "textual-dark"  # picked', 'theme = "gruvbox"  # picked'
    )
    assert load_settings(cfg)[0].theme == "gruvbox"


def test_save_theme_inserts_above_the_first_table_and_its_comments(cfg: Path):
    original = COMMENTED.replace('theme = "textual-dark"  # picked in the palette\n', "")
    write(cfg, original)
    save_theme("nord", cfg)
    text = cfg.read_text()
    assert text == original.replace(
        "bell = false\n\n# Work account", 'bell = false\ntheme = "nord"\n\n# Work account'
    )
    settings, problems = load_settings(cfg)
    assert problems == [] and settings.theme == "nord" and settings.bell is False


def test_save_theme_leaves_a_theme_inside_a_table_alone(cfg: Path):
    original = '[profiles.work]\ntheme = "old"\n'
    write(cfg, original)
    save_theme("nord", cfg)
    assert cfg.read_text() == 'theme = "nord"\n\n' + original


def test_save_theme_appends_when_there_is_no_table(cfg: Path):
    write(cfg, "bell = false")  # no final newline
    save_theme("nord", cfg)
    assert cfg.read_text() == 'bell = false\ntheme = "nord"\n'


def test_save_theme_keeps_crlf_and_the_file_mode(cfg: Path):
    cfg.parent.mkdir(parents=True)
    cfg.write_bytes(b'theme = "a"\r\nbell = false\r\n')
    os.chmod(cfg, 0o640)
    save_theme("b", cfg)
    assert cfg.read_bytes() == b'theme = "b"\r\nbell = false\r\n'
    assert cfg.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in cfg.parent.iterdir()] == ["config.toml"]  # no temp file left


def test_save_theme_escapes_the_name(cfg: Path):
    save_theme('we"ird\\name', cfg)
    assert load_settings(cfg)[0].theme == 'we"ird\\name'


def test_save_theme_follows_a_symlink(tmp_path: Path):
    real = write(tmp_path / "dotfiles" / "config.toml", "bell = false\n")
    link = tmp_path / "cfg" / "config.toml"
    link.parent.mkdir()
    link.symlink_to(real)
    save_theme("nord", link)
    assert link.is_symlink()
    assert real.read_text() == 'bell = false\ntheme = "nord"\n'


def test_save_theme_refuses_to_touch_invalid_toml(cfg: Path):
    write(cfg, "bell = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_theme("nord", cfg)
    assert cfg.read_text() == "bell = \n"


def test_save_theme_refuses_what_it_cannot_edit_safely(cfg: Path):
    original = 'theme = """\nmulti\n"""\n'
    write(cfg, original)
    with pytest.raises(ConfigError, match="by hand"):
        save_theme("nord", cfg)
    assert cfg.read_text() == original


def test_save_theme_rejects_a_bad_name(cfg: Path):
    with pytest.raises(ConfigError):
        save_theme("  ", cfg)
    with pytest.raises(ConfigError):
        save_theme("a\nb", cfg)
    assert not cfg.exists()


def test_save_theme_writes_the_file_rentnumber_config_names(tmp_path: Path, monkeypatch):
    other = write(tmp_path / "other.toml", "bell = false\n")
    monkeypatch.setenv("RENTNUMBER_CONFIG", str(other))
    assert save_theme("nord") == other
    assert other.read_text() == 'bell = false\ntheme = "nord"\n'
    assert not locations.config_dir().exists()
