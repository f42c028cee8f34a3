"""The API key: where it comes from, where it is kept, and never leaking it.

Order of sources: ``$RENTNUMBER_API_KEY``; the OS keyring (only a real, non-prompting
store, or one chosen explicitly through ``$PYTHON_KEYRING_BACKEND``); a fallback file in
the config dir (0600 in a 0700 directory) that is only ever written after the user agreed.

Every method of `CredentialStore` blocks (keyring calls may talk to D-Bus, the macOS
Keychain, …): call them from a thread worker, never on the UI thread. They never log,
and the key never appears in an exception message or a repr.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shlex
import stat
import threading
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, cast

from rentnumber_tui.locations import DEFAULT_PROFILE, key_file, validate_profile
from rentnumber_tui.masking import (
    MAX_KEY_LENGTH,
    SecretKey,
    key_problem,
    mask_key,
    redact,
    register_secret,
)
from rentnumber_tui.user_error import UserFacingError

SERVICE = "rentnumber-tui"
ENV_KEY = "RENTNUMBER_API_KEY"
KEYRING_BACKEND_ENV = "PYTHON_KEYRING_BACKEND"


class KeySource(Enum):
    ENV = "env"
    KEYRING = "keyring"
    FILE = "file"


@dataclass(frozen=True)
class LoadedKey:
    """A key and where it came from. ``repr`` shows only the mask."""

    key: SecretKey = field(repr=False)
    source: KeySource
    location_description: str

    @property
    def masked(self) -> str:
        return mask_key(self.key)


@dataclass(frozen=True)
class LoadResult:
    """`load_verbose()`: the key (or None) and sentences about sources that were skipped
    or failed (an unusable keyring, a keyring error, an empty key file)."""

    key: LoadedKey | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyringStatus:
    """Whether the OS keyring can be used, decided without prompting."""

    usable: bool
    #: e.g. "SecretService Keyring"; None when no backend could be loaded.
    backend: str | None
    #: Why it cannot be used (a sentence fragment), None when usable.
    reason: str | None = None
    #: The backend was chosen through $PYTHON_KEYRING_BACKEND.
    explicit: bool = False


# ------------------------------------------------------------------------------ errors


class CredentialError(UserFacingError):
    """Base of this module's errors; `message` is a sentence for the user, never
    containing the key."""


class InvalidKey(CredentialError):
    """The text is not plausibly an API key (empty, spaces, control characters)."""


class KeyFileTooOpen(CredentialError):
    """The fallback key file can be read (or written) by other users: not used."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        self.mode = mode
        super().__init__(
            f"The key file {path} is accessible to other users (permissions "
            f"{stat.filemode(mode)[1:]}, {mode & 0o777:04o}), so it was not used. "
            f"Fix it with: chmod 600 {shlex.quote(str(path))}"
        )


class KeyFileError(CredentialError):
    """The fallback key file exists but cannot be used (unreadable, not a file, owned by
    someone else, not a key)."""


class NeedsConsent(CredentialError):
    """No usable keyring: the key can only be kept in the fallback file, which needs the
    user's agreement (call `save(key, allow_file=True)` once they agreed)."""

    def __init__(self, path: Path, reason: str | None) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"No usable keyring ({reason or 'unknown reason'}). The key can be kept in "
            f"{path} instead, readable only by you, if you agree."
        )


class StoreFailed(CredentialError):
    """The key could not be written."""


class DeleteIncomplete(CredentialError):
    """`delete()` could not remove everything; `removed` lists what it did remove."""

    def __init__(self, removed: list[str], problems: list[str]) -> None:
        self.removed = removed
        self.problems = problems
        done = f" Removed it from {' and '.join(removed)}." if removed else ""
        super().__init__("Could not remove the key: " + "; ".join(problems) + "." + done)


# ------------------------------------------------------------------------------ helpers


def normalize_key(text: str) -> SecretKey:
    """Strip surrounding whitespace and check the key (`masking.key_problem`, the one
    rule). Raises `InvalidKey` (whose message never quotes the text)."""
    if not isinstance(text, str):
        raise InvalidKey("The API key must be text.")
    key = text.strip()
    problem = key_problem(key)
    if problem is not None:
        raise InvalidKey(problem)
    return SecretKey(key)


def env_key_present() -> bool:
    """Whether ``$RENTNUMBER_API_KEY`` is set (it overrides any saved key)."""
    return bool(os.environ.get(ENV_KEY, "").strip())


def _describe(exc: BaseException, secrets: list[str | None] | None = None) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = redact(text, [s for s in (secrets or []) if s])
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _backend_name(backend: Any) -> str:
    try:
        name = backend.name
        if isinstance(name, str) and name:
            return name
    except Exception:
        pass
    return _class_path(backend)


def _keyring_class(module: str, name: str) -> type | None:
    try:
        found = getattr(importlib.import_module(module), name)
    except Exception:
        return None
    return found if isinstance(found, type) else None


def _prompts_for_password(backend: Any) -> bool:
    """keyrings.alt's EncryptedKeyring and keyrings.cryptfile ask for a password on the
    terminal (getpass), which would wreck a full-screen app."""
    for cls in type(backend).__mro__:
        if "Encrypted" in cls.__name__ or "CryptFile" in cls.__name__:
            return True
    return "cryptfile" in type(backend).__module__.lower()


def _judge_one(backend: Any, *, explicit: bool) -> str | None:
    """None if `backend` may be used, else the reason."""
    fail_cls = _keyring_class("keyring.backends.fail", "Keyring")
    null_cls = _keyring_class("keyring.backends.null", "Keyring")
    name = _backend_name(backend)
    if fail_cls is not None and isinstance(backend, fail_cls):
        return (
            "no system keyring was found (no Secret Service, KWallet, macOS Keychain or "
            "Windows Credential Locker), as is usual on a server reached over SSH"
        )
    if null_cls is not None and isinstance(backend, null_cls):
        return "the keyring is disabled (keyring's null backend is configured)"
    if _prompts_for_password(backend):
        return (
            f"{name} keeps keys in an encrypted file and asks for its password on the "
            "terminal, which a full-screen app cannot do"
        )
    if explicit:
        return None
    if type(backend).__module__.startswith("keyrings.alt"):
        return (
            f"{name} is not a system keyring (it keeps keys in a file); set "
            f"{KEYRING_BACKEND_ENV} to use it deliberately"
        )
    try:
        priority = float(backend.priority)
    except Exception as exc:
        return f"{name} is not available here ({_describe(exc)})"
    if priority < 1:
        return f"{name} is not a recommended keyring backend (priority {priority:g})"
    return None


def _judge(backend: Any, explicit_name: str) -> tuple[KeyringStatus, Any]:
    """Decide, without calling get/set, whether `backend` (keyring's choice) is usable,
    and which backend object to call. A chainer is replaced by its best usable member
    (calling the chainer would also query the members we refuse)."""
    name = _backend_name(backend)
    cls = type(backend)
    explicit = bool(explicit_name) and explicit_name in (
        _class_path(backend),
        f"{cls.__module__}.{cls.__name__}",
    )
    chainer_cls = _keyring_class("keyring.backends.chainer", "ChainerBackend")
    if chainer_cls is not None and isinstance(backend, chainer_cls):
        try:
            members = list(cast(Any, backend).backends)
        except Exception as exc:
            return KeyringStatus(False, name, f"the keyring chain failed ({_describe(exc)})"), None
        reasons = []
        for member in members:
            reason = _judge_one(member, explicit=False)
            if reason is None:
                return KeyringStatus(True, _backend_name(member), None, explicit), member
            reasons.append(reason)
        why = "; ".join(reasons) if reasons else "no keyring backend is available"
        return KeyringStatus(False, name, why, explicit), None
    reason = _judge_one(backend, explicit=explicit)
    if reason is not None:
        return KeyringStatus(False, name, reason, explicit), None
    return KeyringStatus(True, name, None, explicit), backend


# ------------------------------------------------------------------------------ the store


class CredentialStore:
    """The key of one profile: load, save, delete. Thread-safe; every method blocks.

    `keyring_module` replaces the ``keyring`` package (anything with ``get_keyring()``);
    `key_file_path` replaces `locations.key_file(profile)`. Both are for tests.
    """

    def __init__(
        self,
        profile: str = DEFAULT_PROFILE,
        *,
        keyring_module: Any = None,
        key_file_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.profile = validate_profile(profile)
        self._keyring_module = keyring_module
        self._key_file_path = Path(key_file_path) if key_file_path is not None else None
        self._lock = threading.Lock()
        self._resolved: tuple[KeyringStatus, Any] | None = None

    @property
    def key_file_path(self) -> Path:
        if self._key_file_path is None:
            self._key_file_path = key_file(self.profile)
        return self._key_file_path

    # -- keyring -----------------------------------------------------------------------

    def _resolve(self) -> tuple[KeyringStatus, Any]:
        with self._lock:
            if self._resolved is None:
                self._resolved = self._resolve_uncached()
            return self._resolved

    def _resolve_uncached(self) -> tuple[KeyringStatus, Any]:
        explicit_name = os.environ.get(KEYRING_BACKEND_ENV, "").strip()
        try:
            module = self._keyring_module or importlib.import_module("keyring")
        except Exception as exc:
            return KeyringStatus(
                False, None, f"the keyring library could not be loaded ({_describe(exc)})"
            ), None
        try:
            backend = module.get_keyring()
        except Exception as exc:
            if explicit_name:
                reason = f"{KEYRING_BACKEND_ENV}={explicit_name} cannot be used ({_describe(exc)})"
            else:
                reason = f"the keyring backend could not be set up ({_describe(exc)})"
            return KeyringStatus(False, None, reason, bool(explicit_name)), None
        try:
            return _judge(backend, explicit_name)
        except Exception as exc:  # a misbehaving third-party backend
            return KeyringStatus(
                False, _backend_name(backend), f"the keyring failed ({_describe(exc)})"
            ), None

    def keyring_status(self) -> KeyringStatus:
        """Whether the keyring will be used, and why not. Never prompts; never raises."""
        return self._resolve()[0]

    def where_it_would_go(self) -> str:
        """Where `save()` would put a key, as a sentence for the login screen."""
        status = self.keyring_status()
        if status.usable:
            return f"the system keyring ({status.backend})"
        return (
            f"no usable keyring ({status.reason}); if you agree, the file "
            f"{self.key_file_path} (readable only by you)"
        )

    # -- load --------------------------------------------------------------------------

    def load(self) -> LoadedKey | None:
        """The key: $RENTNUMBER_API_KEY, else the keyring, else the fallback file; None
        if there is none. Keyring failures are swallowed (see `load_verbose`). Raises
        `InvalidKey` for a malformed $RENTNUMBER_API_KEY, `KeyFileTooOpen` for a key file
        others can read, `KeyFileError` for an unusable key file."""
        return self.load_verbose().key

    def load_verbose(self) -> LoadResult:
        """`load()`, plus sentences about the sources that were skipped or failed."""
        notes: list[str] = []
        env_value = os.environ.get(ENV_KEY)
        if env_value is not None and env_value.strip():
            try:
                key = normalize_key(env_value)
            except InvalidKey as exc:
                raise InvalidKey(f"{ENV_KEY} is set, but: {exc.message}") from None
            register_secret(key)
            return LoadResult(LoadedKey(key, KeySource.ENV, f"the {ENV_KEY} environment variable"))

        status, backend = self._resolve()
        if backend is None:
            notes.append(f"keyring not used: {status.reason}")
        else:
            value: Any = None
            try:
                value = backend.get_password(SERVICE, self.profile)
            except Exception as exc:
                notes.append(f"the keyring ({status.backend}) failed: {_describe(exc)}")
            if value:
                try:
                    key = normalize_key(value)
                except InvalidKey:
                    notes.append(
                        f"the keyring ({status.backend}) holds something that is not an "
                        "API key for this profile — ignored"
                    )
                else:
                    register_secret(key)
                    return LoadResult(
                        LoadedKey(key, KeySource.KEYRING, f"the system keyring ({status.backend})"),
                        tuple(notes),
                    )

        from_file = self._read_file(notes)
        if from_file is None:
            return LoadResult(None, tuple(notes))
        register_secret(from_file)
        return LoadResult(
            LoadedKey(from_file, KeySource.FILE, f"the file {self.key_file_path}"), tuple(notes)
        )

    def _read_file(self, notes: list[str]) -> SecretKey | None:
        path = self.key_file_path
        try:
            # O_NONBLOCK: a FIFO planted at the path must not hang the worker.
            flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(path, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyFileError(
                f"Cannot read the key file {path} ({exc.strerror or type(exc).__name__})"
            ) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise KeyFileError(f"The key file {path} is not a regular file")
            if os.name == "posix":
                if info.st_mode & 0o077:
                    raise KeyFileTooOpen(path, info.st_mode)
                if info.st_uid != os.geteuid():
                    raise KeyFileError(
                        f"The key file {path} belongs to another user, so it was not used"
                    )
            chunks = []
            while chunk := os.read(fd, 4096):
                chunks.append(chunk)
                if sum(map(len, chunks)) > 4 * MAX_KEY_LENGTH:
                    break
        except OSError as exc:
            raise KeyFileError(
                f"Cannot read the key file {path} ({exc.strerror or type(exc).__name__})"
            ) from None
        finally:
            os.close(fd)
        try:
            text = b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            raise KeyFileError(f"The key file {path} does not contain an API key") from None
        if not text.strip():
            notes.append(f"the key file {path} is empty — ignored")
            return None
        try:
            return normalize_key(text)
        except InvalidKey:
            raise KeyFileError(
                f"The key file {path} does not contain an API key; run `rentnumber-tui login` again"
            ) from None

    # -- save --------------------------------------------------------------------------

    def save(self, key: str, *, allow_file: bool = False) -> str:
        """Store `key` for this profile; return where it went, as a phrase.

        Uses the keyring when it is usable (and then removes an old fallback file).
        Otherwise raises `NeedsConsent` unless `allow_file`, in which case the key is
        written to the fallback file (0600, directory 0700, atomically). Raises
        `InvalidKey`, `StoreFailed`. Never logs, never quotes the key.
        """
        key = normalize_key(key)
        status, backend = self._resolve()
        reason = status.reason
        if backend is not None:
            try:
                backend.set_password(SERVICE, self.profile, str(key))
            except Exception as exc:
                reason = f"the keyring ({status.backend}) could not store it: " + _describe(
                    exc, [key]
                )
            else:
                register_secret(key)
                where = f"the system keyring ({status.backend})"
                if self._remove_file_quietly():
                    where += f" (the old key file {self.key_file_path} was removed)"
                return where
        if not allow_file:
            raise NeedsConsent(self.key_file_path, reason)
        self._write_file(key)
        register_secret(key)
        if backend is not None:
            # The keyring refused to store the new key; make sure an older key there
            # cannot take precedence over the file.
            with contextlib.suppress(Exception):
                backend.delete_password(SERVICE, self.profile)
        return f"{self.key_file_path} (readable only by you)"

    def _remove_file_quietly(self) -> bool:
        try:
            self.key_file_path.unlink()
        except OSError:
            return False
        return True

    def _write_file(self, key: SecretKey) -> None:
        path = self.key_file_path
        directory = path.parent
        tmp: Path | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if os.name == "posix":
                info = directory.stat()
                if info.st_mode & 0o777 != 0o700:
                    os.chmod(directory, 0o700)
            tmp = directory / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileExistsError:  # left over from a crash
                tmp.unlink()
                fd = os.open(tmp, flags, 0o600)
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, 0o600)
                os.write(fd, (str(key) + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            raise StoreFailed(
                f"Could not write the key file {path} ({exc.strerror or type(exc).__name__})"
            ) from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()

    # -- delete ------------------------------------------------------------------------

    def delete(self) -> list[str]:
        """Remove this profile's key from the keyring and the fallback file. Returns
        where it was removed from (empty: there was nothing). Raises `DeleteIncomplete`
        (with `.removed`) if something could not be removed. $RENTNUMBER_API_KEY is
        not touched (see `env_key_present`)."""
        removed: list[str] = []
        problems: list[str] = []
        status, backend = self._resolve()
        if backend is not None:
            not_found = _keyring_class("keyring.errors", "PasswordDeleteError")
            try:
                present = backend.get_password(SERVICE, self.profile) is not None
            except Exception:
                present = None  # unknown: try to delete anyway
            if present is not False:
                try:
                    backend.delete_password(SERVICE, self.profile)
                except Exception as exc:
                    if not (present is None and not_found and isinstance(exc, not_found)):
                        problems.append(
                            f"the keyring ({status.backend}) could not remove it: " + _describe(exc)
                        )
                else:
                    removed.append(f"the system keyring ({status.backend})")
        path = self.key_file_path
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"cannot remove {path} ({exc.strerror or type(exc).__name__})")
        else:
            removed.append(str(path))
        if problems:
            raise DeleteIncomplete(removed, problems)
        return removed
