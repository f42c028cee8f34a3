"""Settings: ``config.toml`` (every key optional), command-line overrides, saving the theme.

Stdlib only. The API key is never read from or written to this file; whether it may
travel to the configured address is `transport`'s rule, not this module's.

    settings, problems = load_settings(profile="work")   # problems: sentences to show
    loaded = read_settings(profile="work")   # the same, and where each value came from
    settings = merge_cli(settings, base_url=args.base_url, theme=args.theme)
    base_url = resolve_base_url(settings, args.base_url)  # flag, env, file, default
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import secrets as _secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from rentnumber_tui import transport
from rentnumber_tui.locations import (
    CONFIG_ENV,
    DEFAULT_PROFILE,
    config_file,
    config_file_from_env,
    validate_profile,
)
from rentnumber_tui.transport import BaseUrlError, parse_base_url
from rentnumber_tui.user_error import UserFacingError

MIN_POLL_INTERVAL = 1.0
MAX_POLL_INTERVAL = 60.0
MIN_RENT_GRACE = 5.0
MAX_RENT_GRACE = 600.0


class ConfigError(UserFacingError, ValueError):
    """A setting that cannot be used (a bad command-line value, a theme that cannot be
    saved). `message` is a sentence for the user."""


@dataclass(frozen=True)
class Settings:
    #: The API base URL; None means the public server (`DEFAULT_BASE_URL`).
    base_url: str | None = None
    #: A Textual theme name, remembered from the command palette; None: the app's default.
    theme: str | None = None
    #: Seconds between status polls of one rental, at the slowest (>= 1).
    poll_interval: float = 5.0
    #: ISO 3166 alpha-2 code ("NG") preselected in the country list.
    default_country: str | None = None
    #: Copy a received code to the clipboard.
    clipboard: bool = True
    #: Ring the terminal bell when a code arrives.
    bell: bool = True
    #: Show toast notifications.
    notifications: bool = True
    #: Copy a code to the clipboard the moment it arrives (OSC 52).
    auto_copy: bool = False
    #: Desktop notifications when a code arrives: "auto" (where the terminal is known to
    #: show them), "osc9", "osc777" or "off".
    desktop_notifications: str = "auto"
    #: Send the key over plain HTTP to a non-loopback host (shown as a warning).
    allow_insecure_http: bool = False
    #: After a rent's answer was lost, seconds to wait (a slow server may still perform
    #: it) before the account is checked again and "nothing was bought" can be said.
    rent_grace: float = 60.0
    #: Replace a rental with no SMS after `replace_after` seconds: cancel it (refunded)
    #: and rent the next best offer from another provider.
    auto_replace: bool = False
    replace_after: float = 120.0
    #: Rentals in one chain at the most, the first included.
    replace_attempts: int = 3
    #: The most a replacement may cost; None: half as much again as the first rental.
    replace_max_price: Decimal | None = None
    #: ``[keymap]``: (binding id, keys) pairs such as ("help", "f9"), keys comma-separated.
    #: Only their form is checked here; the launcher checks the ids against the app's.
    keymap: tuple[tuple[str, str], ...] = ()

    @property
    def effective_base_url(self) -> str:
        return self.base_url or transport.DEFAULT_BASE_URL


# ---------------------------------------------------------------------------- validation


class _Bad(Exception):
    """A value of the wrong type or range; `expectation` completes "'key' …"."""

    def __init__(self, expectation: str) -> None:
        super().__init__(expectation)
        self.expectation = expectation


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Bad("must be true or false")


def _desktop(value: Any) -> str:
    choices = ("auto", "osc9", "osc777", "off")
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    raise _Bad('must be "auto", "osc9", "osc777" or "off"')


def _base_url(value: Any) -> str:
    try:
        return parse_base_url(value)
    except BaseUrlError as error:
        raise _Bad(error.message) from None


def _theme(value: Any) -> str:
    expectation = 'must be a theme name such as "textual-dark"'
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise _Bad(expectation)
    if any(not ch.isprintable() for ch in value):
        raise _Bad(expectation)
    return value.strip()


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    """A number of seconds within [low, high]."""
    expectation = f"must be a number of seconds from {low:g} to {high:g}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(expectation)
        if not math.isfinite(value) or not low <= value <= high:
            raise _Bad(expectation)
        return float(value)

    return check


_poll_interval = _seconds(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL)
_rent_grace = _seconds(MIN_RENT_GRACE, MAX_RENT_GRACE)
_replace_after = _seconds(30, 3600)


def _replace_attempts(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise _Bad("must be a whole number of rentals from 1 to 10")
    return value


def _price_cap(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Bad('must be an amount such as 500 or "450.50"')
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise _Bad('must be an amount such as 500 or "450.50"') from None
    if not amount.is_finite() or not 0 < amount < 10**9:
        raise _Bad("must be a positive amount below 1,000,000,000")
    return amount


_COUNTRY_RE = re.compile(r"[A-Za-z]{2}")


def _country(value: Any) -> str:
    if isinstance(value, str) and _COUNTRY_RE.fullmatch(value.strip()):
        return value.strip().upper()
    raise _Bad('must be a two-letter ISO country code such as "NG"')


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "base_url": _base_url,
    "theme": _theme,
    "poll_interval": _poll_interval,
    "default_country": _country,
    "clipboard": _bool,
    "bell": _bool,
    "notifications": _bool,
    "auto_copy": _bool,
    "desktop_notifications": _desktop,
    "allow_insecure_http": _bool,
    "rent_grace": _rent_grace,
    "auto_replace": _bool,
    "replace_after": _replace_after,
    "replace_attempts": _replace_attempts,
    "replace_max_price": _price_cap,
}
_PROFILE_KEYS = ("base_url", "default_country")
#: Every key the top level of the file may hold (tables included).
FILE_KEYS = (*_VALIDATORS, "keymap", "profiles")
_DEFAULTS = Settings()

# Keys someone might use to put the API key in the file: never echo their value.
_SECRET_LOOKING = re.compile(r"(api[_-]?)?(key|token|secret|password)s?", re.IGNORECASE)


def _show(value: Any) -> str:
    """A value as it would be written in TOML, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        escaped = shown.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + "".join(ch if ch.isprintable() else "?" for ch in escaped) + '"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _show_default(key: str) -> str:
    value = getattr(_DEFAULTS, key)
    if value is None:
        return "unset"
    return _show(value)


def _check_table(
    table: dict[str, Any],
    allowed: tuple[str, ...],
    *,
    path: Path,
    prefix: str,
    problems: list[str],
    skip: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Validate the keys of one table; return the good values, report the rest."""
    good: dict[str, Any] = {}
    for key, value in table.items():
        if key in skip:
            continue
        name = prefix + key
        if key not in allowed:
            if prefix and key in _VALIDATORS:
                problems.append(
                    f"{path}: '{name}' cannot be set per profile (only "
                    f"{', '.join(allowed)}) — ignored"
                )
                continue
            if _SECRET_LOOKING.fullmatch(key):
                problems.append(
                    f"{path}: '{name}' is not read from the settings file — the API key "
                    "belongs in the keyring: run `rentnumber-tui login` or set "
                    "RENTNUMBER_API_KEY (and remove it from this file)"
                )
                continue
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f" (did you mean '{prefix}{hint[0]}'?)" if hint else ""
            problems.append(f"{path}: unknown key '{name}' — ignored{suggestion}")
            continue
        try:
            good[key] = _VALIDATORS[key](value)
        except _Bad as bad:
            problems.append(
                f"{path}: '{name}' {bad.expectation}, not {_show(value)} — "
                f"using the default ({_show_default(key)})"
            )
    return good


# ---------------------------------------------------------------------------- [keymap]

_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
#: A Textual key name ("f9", "ctrl+r", "question_mark") or one printable character.
_KEY_NAME_RE = re.compile(r"[a-z0-9_]{2,32}|[^\s,]")
_KEYMAP_EXPECTATION = 'must be keys such as "f9" or "f2,ctrl+r"'


def _keys(value: Any) -> str:
    """A keymap value in Textual's form: comma-separated, no spaces, lower case (a lone
    character keeps its case: "A" is shift+a)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _Bad(_KEYMAP_EXPECTATION)
    keys: list[str] = []
    for key in value.split(","):
        *modifiers, name = (part.strip() for part in key.split("+"))
        modifiers = [modifier.lower() for modifier in modifiers]
        name = name if len(name) == 1 and not modifiers else name.lower()
        if any(m not in _MODIFIERS for m in modifiers) or not _KEY_NAME_RE.fullmatch(name):
            raise _Bad(_KEYMAP_EXPECTATION)
        keys.append("+".join([*modifiers, name]))
    return ",".join(keys)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:40])


def _check_keymap(table: Any, *, path: Path, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """The usable entries of ``[keymap]``; each bad one is named in `problems`."""
    if not isinstance(table, dict):
        problems.append(
            f"{path}: 'keymap' must be a table ([keymap] with lines such as help = \"f9\"), "
            f"not {_show(table)} — ignored"
        )
        return ()
    good: list[tuple[str, str]] = []
    for binding_id, value in table.items():
        name = f"keymap.{_printable(binding_id)}"
        if _SECRET_LOOKING.fullmatch(binding_id):
            problems.append(
                f"{path}: '{name}' is not a key binding, and the API key is never read from "
                "this file: run `rentnumber-tui login` (and remove it from this file)"
            )
            continue
        try:
            good.append((binding_id, _keys(value)))
        except _Bad as bad:
            # A long string is not echoed: a pasted API key stays off the screen.
            long = isinstance(value, str) and len(value) > 16
            shown = f"a text of {len(value)} characters" if long else _show(value)
            problems.append(
                f"{path}: '{name}' {bad.expectation}, not {shown} — ignored (its default keys stay)"
            )
    return tuple(good)


@dataclass(frozen=True)
class LoadedSettings:
    """What `read_settings` found: the settings, and where each came from."""

    settings: Settings
    #: Sentences naming the file and the key, as `load_settings` returns them.
    problems: list[str]
    file: Path
    exists: bool
    #: Setting name → "file" or "[profiles.NAME]", for the values the file gave.
    sources: dict[str, str]


def load_settings(
    path: str | os.PathLike[str] | None = None, profile: str = DEFAULT_PROFILE
) -> tuple[Settings, list[str]]:
    """Read the settings file for `profile`.

    `path` defaults to `config_file()` ($RENTNUMBER_CONFIG or config.toml in the config
    dir). A missing file is normal and gives the defaults. Never raises for the file's
    content: each problem is returned as a sentence naming the file and the key, and the
    affected setting keeps its default (an unreadable or invalid file: all defaults).
    Raises `InvalidProfile` (a ValueError) for an unusable profile name.
    """
    loaded = read_settings(path, profile)
    return loaded.settings, loaded.problems


def read_settings(
    path: str | os.PathLike[str] | None = None, profile: str = DEFAULT_PROFILE
) -> LoadedSettings:
    """`load_settings`, also saying which values came from the file (`rentnumber-tui
    config` shows it)."""
    validate_profile(profile)
    problems: list[str] = []
    named_by_env = path is None and config_file_from_env()
    file = Path(path) if path is not None else config_file()

    def defaults(exists: bool = True) -> LoadedSettings:
        return LoadedSettings(Settings(), problems, file, exists, {})

    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        if named_by_env:
            problems.append(f"{CONFIG_ENV} names {file}, which does not exist — using the defaults")
        return defaults(exists=False)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problems.append(f"cannot read {file} ({reason}) — using the defaults")
        return defaults()
    import tomllib  # only when there is a file: it costs a few ms of start-up

    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        problems.append(f"{file} is not UTF-8 text — using the defaults")
        return defaults()
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{file} is not valid TOML: {exc} — using the defaults")
        return defaults()

    values = _check_table(
        data,
        tuple(_VALIDATORS),
        path=file,
        prefix="",
        problems=problems,
        skip=("profiles", "keymap"),
    )
    sources = dict.fromkeys(values, "file")
    if "keymap" in data:
        values["keymap"] = _check_keymap(data["keymap"], path=file, problems=problems)
        sources["keymap"] = "file"
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        problems.append(
            f"{file}: 'profiles' must be a table ([profiles.NAME] sections), "
            f"not {_show(profiles)} — ignored"
        )
        profiles = {}
    section = profiles.get(profile)
    if section is not None:
        if isinstance(section, dict):
            overrides = _check_table(
                section,
                _PROFILE_KEYS,
                path=file,
                prefix=f"profiles.{profile}.",
                problems=problems,
            )
            values.update(overrides)
            sources.update(dict.fromkeys(overrides, f"[profiles.{profile}]"))
        else:
            problems.append(
                f"{file}: 'profiles.{profile}' must be a table ([profiles.{profile}]), "
                f"not {_show(section)} — ignored"
            )
    return LoadedSettings(Settings(**values), problems, file, True, sources)


def merge_cli(settings: Settings, **flags: Any) -> Settings:
    """Apply command-line values over `settings` (flags win). A flag of None was not
    given. Flag names are `Settings` field names. Raises `ConfigError` naming the flag
    (``--poll-interval``) for a bad value, TypeError for an unknown field."""
    changes: dict[str, Any] = {}
    for name, value in flags.items():
        if name not in _VALIDATORS:
            raise TypeError(f"merge_cli() got an unknown setting {name!r}")
        if value is None:
            continue
        try:
            changes[name] = _VALIDATORS[name](value)
        except _Bad as bad:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} {bad.expectation}, not {_show(value)}") from None
    return dataclasses.replace(settings, **changes)


def resolve_base_url(settings: Settings, flag: str | None = None) -> str:
    """The base URL to use: the flag, else ``$RENTNUMBER_BASE_URL``, else the settings
    file (the profile's section over the top level), else the public API
    (`transport.resolve_base_url`, the one rule). Raises `transport.BaseUrlError`."""
    return transport.resolve_base_url(flag, settings.base_url)


# ---------------------------------------------------------------------------- save_theme

_HEADER_RE = re.compile(r"^\s*\[\[?[^\[\]\n]+\]\]?\s*(#.*)?$")
_THEME_RE = re.compile(
    r"""^(?P<lead>[ \t]*(?:theme|"theme"|'theme')[ \t]*=[ \t]*)"""
    r"""(?P<value>"(?:[^"\\\r\n]|\\.)*"|'[^'\r\n]*'|[^\s#]+)"""
    r"""(?P<trail>[ \t]*(?:#.*)?)$"""
)


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _with_theme(text: str, theme: str) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    setting = f"theme = {_toml_string(theme)}"
    first_table = next((i for i, line in enumerate(lines) if _HEADER_RE.match(line)), len(lines))
    for i in range(first_table):
        body = lines[i].rstrip("\r\n")
        match = _THEME_RE.match(body)
        if match:
            ending = lines[i][len(body) :]
            lines[i] = match["lead"] + _toml_string(theme) + match["trail"] + (ending or newline)
            return "".join(lines)
    # No top-level theme: insert it above the first table (and the comments that
    # introduce that table), or at the end.
    pos = first_table
    if pos < len(lines):
        while pos > 0 and lines[pos - 1].lstrip().startswith("#"):
            pos -= 1
        while pos > 0 and not lines[pos - 1].strip():
            pos -= 1
        insert = [setting + newline]
        if pos == 0 or lines[pos].strip():
            insert.append(newline)
        lines[pos:pos] = insert
        return "".join(lines)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    lines.append(setting + newline)
    return "".join(lines)


def save_theme(theme: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Remember `theme` in the settings file, changing nothing else in it.

    Rewrites (or adds) only the top-level ``theme = "..."`` line, keeps comments and
    layout, checks the result parses to the same settings plus the new theme, and
    replaces the file atomically (creating the directory). Follows a symlinked file.
    Blocking: call it from a thread worker. Raises `ConfigError` with a sentence for the
    user if the file cannot be read, is not valid TOML, or cannot be written.
    """
    import tomllib

    try:
        theme = _theme(theme)
    except _Bad as bad:
        raise ConfigError(f"'theme' {bad.expectation}, not {_show(theme)}") from None
    file = Path(path) if path is not None else config_file()
    target = Path(os.path.realpath(file))
    try:
        original = target.read_bytes().decode("utf-8-sig")
        existed = True
    except FileNotFoundError:
        original, existed = "", False
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"could not save the theme: cannot read {file} ({reason})") from None
    try:
        before = tomllib.loads(original)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"could not save the theme: {file} is not valid TOML ({exc}); fix it first"
        ) from None
    updated = _with_theme(original, theme)
    try:
        after = tomllib.loads(updated)
    except tomllib.TOMLDecodeError:
        after = None
    if after != {**before, "theme": theme}:
        raise ConfigError(
            f"could not update 'theme' in {file} automatically; "
            f"set theme = {_toml_string(theme)} there by hand"
        )
    try:
        _atomic_write(target, updated, keep_mode=existed)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"could not save the theme to {file} ({reason})") from None
    return file


def _atomic_write(target: Path, text: str, *, keep_mode: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{_secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if keep_mode and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), target.stat().st_mode & 0o7777)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
