"""What the App needs to know about the user's settings (filled in by the launcher).

The app layer does not import `config` or `credentials` (nor keyring): the launcher
hands it a `KeyStorage` and plain callables, so the UI stays testable with fakes and the
keyring is never loaded on the first frame's path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rentnumber_tui.user_error import UserFacingError


class KeyStorageError(UserFacingError):
    """Storing or removing the key failed. `message` is a sentence for the user; it
    never contains the key."""


class ConsentNeeded(KeyStorageError):
    """No usable keyring: the key can only be kept in a file, which needs the user's
    explicit agreement (then call `save(key, allow_file=True)`)."""

    def __init__(self, message: str, path: str, reason: str | None) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StorageInfo:
    """Where a saved key would go, for the login screen."""

    #: e.g. "the system keyring (SecretService Keyring)".
    where: str
    #: No usable keyring: saving needs the user's yes for the file at `path`.
    needs_consent: bool = False
    path: str | None = None
    #: Why the keyring cannot be used.
    reason: str | None = None
    #: A remark such as "RENTNUMBER_API_KEY is set and wins over a saved key".
    note: str | None = None


class KeyStorage(Protocol):
    """Where one profile's key is kept. Every method blocks (keyring calls may talk to
    D-Bus or prompt-free OS stores): call them off the UI thread."""

    def describe(self) -> StorageInfo: ...

    def save(self, key: str, *, allow_file: bool = False) -> str:
        """Store `key`; return where it went. Raises `ConsentNeeded` (no usable keyring
        and not `allow_file`) or `KeyStorageError`."""
        ...

    def delete(self) -> str:
        """Remove the stored key; return a sentence saying what was removed. Raises
        `KeyStorageError` when something could not be removed."""
        ...


@dataclass(frozen=True, slots=True)
class AppOptions:
    demo: bool = False
    bell: bool = True
    clipboard: bool = True
    notifications: bool = True
    #: Copy a code the moment it arrives.
    auto_copy: bool = False
    #: "auto", "osc9", "osc777" or "off" (see `app.terminal`).
    desktop_notifications: str = "auto"
    default_country: str | None = None
    theme: str | None = None
    #: The account profile (`--profile`); shown on the login screen.
    profile: str = "default"
    #: Where the login screen saves the key; None (demo mode, tests): not stored.
    key_storage: KeyStorage | None = None
    #: Set when the key travels over plain HTTP to another machine
    #: (`--allow-insecure-http`): the top bar keeps a red warning with this tooltip.
    insecure_transport: str | None = None
    #: Shown once at start (e.g. "the key travels over plain HTTP").
    warnings: tuple[str, ...] = ()
    #: Filled in while the backend starts (e.g. why no stored key could be used); shown
    #: once it is ready.
    late_warnings: list[str] = field(default_factory=list)
    #: Called (on a worker thread) with the theme name when the user picks one, so it is
    #: remembered. May raise an exception whose `message` (or str) is shown.
    save_theme: Callable[[str], object] | None = None
    #: Where a crash report is written (the state directory); None: nowhere.
    crash_dir: Path | None = None
    #: Where History's `e` writes its CSV and JSON (None: it says it cannot).
    export_dir: Path | None = None
    #: The user's keymap (`[keymap]` in config.toml): binding id → keys such as "f2,ctrl+r",
    #: given to `App.set_keymap`. Only ids of the app's bindings (`app.keymap`).
    keymap: tuple[tuple[str, str], ...] = ()
