"""`rentnumber-tui config`: the settings file's path, every setting in effect and where
it came from, the keymap; each problem of the file on stderr with exit status 2; never
the API key, wherever it was put."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rentnumber_tui import locations
from rentnumber_tui.__main__ import main
from rentnumber_tui.config import Settings
from tests.e2e.pty import program_env

ROOT = Path(__file__).resolve().parents[2]
KEY = "rn_live_5d41402abc4b2a76b9719d911017c4f2"


def write(text: str | bytes) -> Path:
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def table(out: str) -> dict[str, tuple[str, str]]:
    """name → (value, source) from the aligned text."""
    rows: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        name, _, rest = line.partition(" ")
        if name in Settings.__dataclass_fields__:
            value, _, source = rest.strip().rpartition("  ")
            rows[name] = (value.strip(), source.strip())
    return rows


def test_without_a_file_every_setting_is_its_default(capsys):
    code, out, err = run(capsys, "config")
    assert (code, err) == (0, "")
    path = locations.config_file()
    assert out.splitlines()[0] == (
        f"Settings file: {path} (does not exist: every setting has its default)"
    )
    rows = table(out)
    assert set(rows) == set(Settings.__dataclass_fields__) - {"keymap"}
    assert {source for _value, source in rows.values()} == {"default"}
    assert rows["poll_interval"][0] == "5"
    assert rows["bell"][0] == "true"
    assert rows["desktop_notifications"][0] == '"auto"'
    assert rows["base_url"][0] == '"https://v2.rentnumber.net/api/v1"'
    assert rows["replace_max_price"][0] == "unset (half as much again as the first rental)"
    assert "Keymap: none" in out


def test_values_from_the_file_a_profile_the_environment_and_flags(capsys, monkeypatch):
    path = write(
        'bell = false\npoll_interval = 2.5\nreplace_max_price = "600.50"\n'
        'default_country = "ng"\n[keymap]\nhelp = "F9"\nrentals = "f2, ctrl+r"\n'
        '[profiles.work]\ndefault_country = "ke"\nbase_url = "https://work.example/api/v1"\n'
    )
    code, out, err = run(capsys, "--profile", "work", "config")
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [f"Settings file: {path} (exists)", "Profile:       work"]
    rows = table(out)
    assert rows["bell"] == ("false", "file")
    assert rows["poll_interval"] == ("2.5", "file")
    assert rows["replace_max_price"] == ('"600.50"', "file")
    assert rows["default_country"] == ('"KE"', "[profiles.work]")
    assert rows["base_url"] == ('"https://work.example/api/v1"', "[profiles.work]")
    assert rows["clipboard"] == ("true", "default")
    assert '  help                 "f9"' in out and '  rentals              "f2,ctrl+r"' in out

    monkeypatch.setenv("RENTNUMBER_BASE_URL", "https://env.example/api/v1")
    rows = table(run(capsys, "config")[1])
    assert rows["base_url"] == ('"https://env.example/api/v1"', "$RENTNUMBER_BASE_URL")
    code, out, _err = run(
        capsys, "--base-url", "http://127.0.0.1:8765/api/v1", "--allow-insecure-http", "config"
    )
    rows = table(out)
    assert rows["base_url"] == ('"http://127.0.0.1:8765/api/v1"', "--base-url")
    assert rows["allow_insecure_http"] == ("true", "--allow-insecure-http")


def test_json(capsys):
    write('rent_grace = 30\n[keymap]\nhelp = "f9"\n')
    code, out, err = run(capsys, "config", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["file"] == str(locations.config_file()) and data["exists"] is True
    assert data["settings"]["rent_grace"] == {"value": 30.0, "source": "file"}
    assert data["settings"]["replace_max_price"] == {"value": None, "source": "default"}
    assert data["keymap"] == {"help": "f9"}
    assert data["problems"] == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"bell = \n", "is not valid TOML"),
        (b"\xff\xfe bell = false\n", "is not UTF-8 text"),
        (b"bell = 3\n", "'bell' must be true or false, not 3"),
        (b"colour = 1\n", "unknown key 'colour'"),
        (b'[keymap]\nhepl = "f9"\n', "'keymap.hepl' is not a key binding"),
        (b"[keymap]\nrentals = 2\n", "'keymap.rentals' must be keys"),
    ],
)
def test_a_problem_in_the_file_is_said_on_stderr_with_status_2(capsys, content, problem):
    path = write(content)
    code, out, err = run(capsys, "config")
    assert code == 2
    assert out.startswith(f"Settings file: {path} (exists)")  # what is in effect, still
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rentnumber-tui config: {path}"), err
    assert problem in lines[0]


def test_an_unreadable_file(capsys):
    """A directory where the file should be: unreadable for everyone, root included."""
    path = locations.config_file()
    path.mkdir(parents=True)
    code, out, err = run(capsys, "config")
    assert code == 2
    assert (
        err == f"rentnumber-tui config: cannot read {path} (Is a directory) — using the defaults\n"
    )
    assert table(out)["bell"] == ("true", "default")


def test_a_bad_profile_or_base_url(capsys, monkeypatch):
    code, _out, err = run(capsys, "--profile", "../x", "config")
    assert code == 2 and err.startswith("rentnumber-tui config: ")
    monkeypatch.setenv("RENTNUMBER_BASE_URL", "ftp://example.com")
    code, _out, err = run(capsys, "config")
    assert code == 2 and "RENTNUMBER_BASE_URL" in err


def test_never_prints_the_api_key(tmp_path):
    """Wherever the key was put — the environment, the file, the keymap — the whole
    program, run as a script would, never shows it."""
    home = tmp_path / "user"
    path = home / "config" / "rentnumber-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f'api_key = "{KEY}"\ntoken = "{KEY}"\n[keymap]\nlogin = "{KEY}"\nsecret = "{KEY}"\n'
        f'[profiles.default]\napi_key = "{KEY}"\n',
        encoding="utf-8",
    )
    for extra in ([], ["--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "rentnumber_tui", "config", *extra],
            env=program_env(home, RENTNUMBER_API_KEY=KEY),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert str(path) in done.stdout
        assert KEY not in done.stdout + done.stderr
        assert KEY[-4:] not in done.stdout + done.stderr
        assert "rentnumber-tui login" in done.stderr
