"""The README documents every setting config.py reads (with its default) and every key
binding id the app has: a new one without its line in the README fails here, and so
does a line left behind by one removed."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from rentnumber_tui import config
from rentnumber_tui.config import Settings
from rentnumber_tui.transport import DEFAULT_BASE_URL
from tests.source_bindings import binding_ids_in_source

README = Path(__file__).resolve().parents[1] / "README.md"


def table_after(heading: str) -> list[list[str]]:
    """The cells of the first table after `heading` (a whole line of the README)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # past the header and the |---| line


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def settings_table() -> dict[str, list[str]]:
    rows = table_after("### Settings")
    return {name: row for row in rows for name in names(row[0])}


def test_every_binding_id_is_in_the_readme_and_no_other():
    documented = [name for row in table_after("### Keys of your own") for name in names(row[0])]
    in_source = binding_ids_in_source()
    missing = sorted(set(in_source) - set(documented))
    assert not missing, f"binding ids without a line in the README's keymap table: {missing}"
    stale = sorted(set(documented) - set(in_source))
    assert not stale, f"the README lists binding ids the app no longer has: {stale}"
    assert len(documented) == len(set(documented)), "an id is listed twice"


def test_every_setting_key_is_in_the_readme():
    table = settings_table()
    documented = {name.strip("[]").split(".")[0] for name in table}
    fields = {field.name for field in dataclasses.fields(Settings)}
    accepted = set(config.FILE_KEYS) | fields
    missing = sorted(accepted - documented)
    assert not missing, f"settings without a line in the README's settings table: {missing}"
    assert documented <= accepted, sorted(documented - accepted)


def _as_toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


@pytest.mark.parametrize(
    "field", [f.name for f in dataclasses.fields(Settings) if f.name != "keymap"]
)
def test_the_readme_gives_each_settings_default(field: str):
    default_cell = settings_table()[field][1]
    value = getattr(Settings(), field)
    if value is None:
        expected = DEFAULT_BASE_URL if field == "base_url" else "unset"
        assert expected in default_cell, (field, default_cell)
    else:
        assert names(default_cell)[0] == _as_toml(value), (field, default_cell)
