"""Keyring backends for tests: in memory, failing, low priority, prompting, chained.

They are removed from keyring's registry of backend classes as soon as they are defined,
so `keyring.get_keyring()` elsewhere in the test session never picks one of them.
"""

from __future__ import annotations

import types

from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.compat import properties
from keyring.errors import KeyringError, PasswordDeleteError


def _unregistered(cls):
    KeyringBackend._classes.discard(cls)
    return cls


@_unregistered
class MemoryKeyring(KeyringBackend):
    """A working keyring that forgets everything when the test ends."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}
        self.calls: list[str] = []

    def get_password(self, service, username):
        self.calls.append("get")
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.calls.append("set")
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self.calls.append("delete")
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("not found") from None


@_unregistered
class RaisingKeyring(KeyringBackend):
    """Looks fine (priority 5) but fails on every call, echoing the password it was
    given in the error — the worst case for leaks."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get_password(self, service, username):
        self.calls.append("get")
        raise KeyringError(f"locked collection for {service}/{username}")

    def set_password(self, service, username, password):
        self.calls.append("set")
        raise KeyringError(f"cannot store {password!r} for {username}")

    def delete_password(self, service, username):
        self.calls.append("delete")
        raise RuntimeError("dbus went away")


@_unregistered
class LowPriorityKeyring(MemoryKeyring):
    """A third-party backend keyring itself does not recommend (priority < 1)."""

    priority = 0.5


@_unregistered
class UnavailableKeyring(MemoryKeyring):
    """Like SecretService without D-Bus: its priority raises RuntimeError."""

    @properties.classproperty
    def priority(cls):
        raise RuntimeError("no D-Bus session bus")


class _Prompting(MemoryKeyring):
    def get_password(self, service, username):
        self.calls.append("get")
        raise AssertionError("this backend would prompt for a password on the terminal")

    set_password = get_password
    delete_password = get_password


def fake_keyrings_alt() -> dict[str, types.ModuleType]:
    """Stand-ins for ``keyrings.alt.file`` (not installed here): PlaintextKeyring
    (priority 0.5) and EncryptedKeyring (0.6, prompts on the terminal)."""
    keyrings = types.ModuleType("keyrings")
    alt = types.ModuleType("keyrings.alt")
    file = types.ModuleType("keyrings.alt.file")
    keyrings.alt = alt
    alt.file = file
    plaintext = type(
        "PlaintextKeyring", (MemoryKeyring,), {"__module__": file.__name__, "priority": 0.5}
    )

    class Encrypted:  # the mixin keyrings.alt uses for its encrypted file backend
        pass

    encrypted = type(
        "EncryptedKeyring",
        (Encrypted, _Prompting),
        {"__module__": file.__name__, "priority": 0.6},
    )
    for cls in (plaintext, encrypted):
        _unregistered(cls)
    file.PlaintextKeyring = plaintext
    file.EncryptedKeyring = encrypted
    return {"keyrings": keyrings, "keyrings.alt": alt, "keyrings.alt.file": file}


def chainer_of(*members: KeyringBackend) -> ChainerBackend:
    """A keyring chainer whose chain is exactly `members`."""

    @_unregistered
    class FakeChainer(ChainerBackend):
        @properties.classproperty
        def backends(cls):
            return list(members)

    return FakeChainer()
