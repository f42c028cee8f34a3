"""`rentnumber-tui config`: which settings file is read, and every setting in effect.

Each value is shown as config.toml would hold it, with where it came from: the default,
the file, a ``[profiles.NAME]`` section, the environment or a flag (the same precedence
the app and the commands use). Then the keymap. A problem in the file goes to stderr,
one line each, and the exit status is 2, as for every command ("usage or settings").
The API key is never read here, so it cannot be shown.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from decimal import Decimal
from typing import Any, TextIO

from rentnumber_tui.cli_args import ExitCode
from rentnumber_tui.config import LoadedSettings, read_settings, resolve_base_url
from rentnumber_tui.launch import checked_keymap
from rentnumber_tui.locations import CONFIG_ENV, InvalidProfile
from rentnumber_tui.transport import BASE_URL_ENV, BaseUrlError

#: What an unset value means, where it means more than "nothing".
UNSET = {
    "theme": "unset (the app's default theme)",
    "default_country": "unset (no country preselected)",
    "replace_max_price": "unset (half as much again as the first rental)",
}


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    value: Any
    source: str


def config_main(
    options: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Print the settings file's path and every effective setting; 0, or 2 when the
    file (or a flag, or the environment) has a problem."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        loaded = read_settings(profile=options.profile)
    except InvalidProfile as error:
        print(f"rentnumber-tui config: {error.message}", file=err)
        return ExitCode.USAGE
    problems = list(loaded.problems)
    rows = _rows(loaded, options, problems)
    keymap, keymap_problems = checked_keymap(loaded.settings)
    problems.extend(keymap_problems)
    if getattr(options, "json", False):
        _print_json(out, loaded, options.profile, rows, keymap, problems)
    else:
        _print_text(out, loaded, options.profile, rows, keymap)
    for problem in problems:
        print(f"rentnumber-tui config: {problem}", file=err)
    return ExitCode.USAGE if problems else ExitCode.DONE


def _rows(loaded: LoadedSettings, options: argparse.Namespace, problems: list[str]) -> list[Row]:
    """One row per setting but the keymap, with the base URL and the transport override
    as the program would resolve them (flag, environment, file, default)."""
    settings = loaded.settings
    rows: list[Row] = []
    for field in dataclasses.fields(settings):
        if field.name == "keymap":
            continue
        value = getattr(settings, field.name)
        rows.append(Row(field.name, value, loaded.sources.get(field.name, "default")))
    by_name = {row.name: i for i, row in enumerate(rows)}
    flag = getattr(options, "base_url", None)
    try:
        base_url = resolve_base_url(settings, flag)
    except BaseUrlError as error:
        problems.append(error.message)
        base_url = settings.effective_base_url
    if flag is not None:
        source = "--base-url"
    elif os.environ.get(BASE_URL_ENV, "").strip():
        source = f"${BASE_URL_ENV}"
    else:
        source = loaded.sources.get("base_url", "default")
    rows[by_name["base_url"]] = Row("base_url", base_url, source)
    if getattr(options, "allow_insecure_http", False):
        rows[by_name["allow_insecure_http"]] = Row(
            "allow_insecure_http", True, "--allow-insecure-http"
        )
    return rows


def _toml(name: str, value: Any) -> str:
    """`value` as config.toml would hold it."""
    if value is None:
        return UNSET.get(name, "unset")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _file_line(loaded: LoadedSettings) -> str:
    notes = [f"named by ${CONFIG_ENV}"] if os.environ.get(CONFIG_ENV, "").strip() else []
    notes.append("exists" if loaded.exists else "does not exist: every setting has its default")
    return f"Settings file: {loaded.file} ({'; '.join(notes)})"


def _print_text(
    out: TextIO,
    loaded: LoadedSettings,
    profile: str,
    rows: list[Row],
    keymap: dict[str, str],
) -> None:
    shown = [(row.name, _toml(row.name, row.value), row.source) for row in rows]
    width = max(len(value) for _name, value, _source in shown)
    print(_file_line(loaded), file=out)
    print(f"Profile:       {profile}", file=out)
    print(file=out)
    for name, value, source in shown:
        print(f"{name:<22} {value:<{width}}  {source}", file=out)
    print(file=out)
    if not keymap:
        print("Keymap: none (every key as the help, F1, shows it)", file=out)
        return
    print("Keymap (from the file; the rest of the keys as the help, F1, shows them):", file=out)
    for binding_id, keys in keymap.items():
        print(f"  {binding_id:<20} {json.dumps(keys)}", file=out)


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _print_json(
    out: TextIO,
    loaded: LoadedSettings,
    profile: str,
    rows: list[Row],
    keymap: dict[str, str],
    problems: list[str],
) -> None:
    data = {
        "file": str(loaded.file),
        "exists": loaded.exists,
        "profile": profile,
        "settings": {
            row.name: {"value": _json_value(row.value), "source": row.source} for row in rows
        },
        "keymap": keymap,
        "problems": problems,
    }
    out.write(json.dumps(data, ensure_ascii=False) + "\n")
