"""Where rentnumber-tui keeps its files (XDG / platform directories).

Stdlib + platformdirs only; platformdirs is imported on first use so that importing this
module costs nothing on the start-up path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rentnumber_tui.user_error import UserFacingError

APP_NAME = "rentnumber-tui"

#: Environment variable naming another settings file.
CONFIG_ENV = "RENTNUMBER_CONFIG"

DEFAULT_PROFILE = "default"

# Profile names end up in file names and keyring user names: keep them boring.
_PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class InvalidProfile(UserFacingError, ValueError):
    """A profile name that cannot be used safely as a file name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"invalid profile name {name[:70]!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def validate_profile(name: str) -> str:
    """Return `name` if it is a usable profile name, else raise `InvalidProfile`."""
    if not isinstance(name, str) or not _PROFILE_RE.fullmatch(name) or ".." in name:
        raise InvalidProfile(str(name))
    return name


def config_dir() -> Path:
    """The per-user configuration directory (``~/.config/rentnumber-tui`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The per-user data directory (``~/.local/share/rentnumber-tui`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """The per-user state directory (``~/.local/state/rentnumber-tui`` on Linux): logs."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    """The settings file: ``$RENTNUMBER_CONFIG`` if set, else ``config_dir()/config.toml``."""
    named = os.environ.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    return config_dir() / "config.toml"


def config_file_from_env() -> bool:
    """Whether the settings file was named explicitly through ``$RENTNUMBER_CONFIG``."""
    return bool(os.environ.get(CONFIG_ENV, "").strip())


def export_dir() -> Path:
    """Where the history is exported: the user's download directory when there is one
    (a desktop), else ``exports/`` in the data directory (a server over SSH)."""
    import platformdirs

    downloads = Path(platformdirs.user_downloads_dir())
    return downloads if downloads.is_dir() else data_dir() / "exports"


def store_file() -> Path:
    """The local SQLite store (purchase journal, rentals, codes, catalog cache)."""
    return data_dir() / "rentnumber.sqlite3"


def budget_file(base_url: str) -> Path:
    """The request budget shared by every process of this program that talks to
    `base_url` (one file per server: the API does not say whether its limit is per key
    or per address, and sharing by server keeps within either)."""
    import hashlib

    digest = hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:16]
    return data_dir() / "budget" / f"{digest}.json"


def key_dir() -> Path:
    """The directory of fallback key files (created 0700 when a key is first stored)."""
    return config_dir() / "keys"


def key_file(profile: str = DEFAULT_PROFILE) -> Path:
    """The fallback key file of `profile`, used only when no keyring is usable and the
    user agreed to it."""
    return key_dir() / f"{validate_profile(profile)}.key"
