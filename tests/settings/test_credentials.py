from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import keyring.core
import pytest
from keyring.backends import null

from rentnumber_tui import locations
from rentnumber_tui.credentials import (
    SERVICE,
    CredentialStore,
    DeleteIncomplete,
    InvalidKey,
    KeyFileError,
    KeyFileTooOpen,
    KeySource,
    NeedsConsent,
    normalize_key,
)
from rentnumber_tui.masking import SecretKey
from tests.settings.conftest import GOOD_KEY
from tests.settings.fakes import (
    LowPriorityKeyring,
    MemoryKeyring,
    RaisingKeyring,
    chainer_of,
    fake_keyrings_alt,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
ENV_KEY = "rn_env_aaaaaaaaaaaaaaaaaaaaaaaaaaaa1111"
RING_KEY = "rn_ring_bbbbbbbbbbbbbbbbbbbbbbbbbbb2222"
FILE_KEY = "rn_file_ccccccccccccccccccccccccccc3333"


def write_key_file(path: Path, key: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(key + "\n")
    os.chmod(path, mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------ sources and order


def test_no_key_anywhere():
    assert CredentialStore().load() is None


def test_env_wins_over_keyring_and_file(monkeypatch, memory_keyring):
    memory_keyring.passwords[(SERVICE, "default")] = RING_KEY
    write_key_file(locations.key_file(), FILE_KEY)
    monkeypatch.setenv("RENTNUMBER_API_KEY", f"  {ENV_KEY}\n")
    loaded = CredentialStore().load()
    assert loaded.key == ENV_KEY
    assert loaded.source is KeySource.ENV
    assert loaded.location_description == "the RENTNUMBER_API_KEY environment variable"
    assert memory_keyring.calls == []  # the keyring was not even asked


def test_keyring_wins_over_file(memory_keyring):
    memory_keyring.passwords[(SERVICE, "default")] = RING_KEY
    write_key_file(locations.key_file(), FILE_KEY)
    loaded = CredentialStore().load()
    assert (loaded.key, loaded.source) == (RING_KEY, KeySource.KEYRING)
    assert loaded.location_description == "the system keyring (fakes MemoryKeyring)"


def test_file_when_the_keyring_has_nothing(memory_keyring):
    path = write_key_file(locations.key_file(), FILE_KEY)
    loaded = CredentialStore().load()
    assert (loaded.key, loaded.source) == (FILE_KEY, KeySource.FILE)
    assert loaded.location_description == f"the file {path}"


def test_file_when_headless():
    write_key_file(locations.key_file(), FILE_KEY)
    result = CredentialStore().load_verbose()
    assert result.key.source is KeySource.FILE
    assert result.notes[0].startswith("keyring not used: no system keyring was found")


def test_blank_env_var_is_ignored(monkeypatch):
    monkeypatch.setenv("RENTNUMBER_API_KEY", "   ")
    write_key_file(locations.key_file(), FILE_KEY)
    assert CredentialStore().load().source is KeySource.FILE


def test_a_malformed_env_var_is_an_error_not_a_silent_fallback(monkeypatch):
    monkeypatch.setenv("RENTNUMBER_API_KEY", "rn_two words")
    with pytest.raises(InvalidKey, match=r"^RENTNUMBER_API_KEY is set, but") as caught:
        CredentialStore().load()
    assert "two words" not in str(caught.value)


def test_loaded_key_repr_is_masked(memory_keyring):
    memory_keyring.passwords[(SERVICE, "default")] = RING_KEY
    loaded = CredentialStore().load()
    assert isinstance(loaded.key, SecretKey)
    assert RING_KEY not in repr(loaded)
    assert loaded.masked == "rn_…2222"


# ------------------------------------------------------------------ keyring judgement


def test_headless_no_backend_is_not_usable_and_says_why():
    store = CredentialStore()
    status = store.keyring_status()
    assert not status.usable
    assert "no system keyring was found" in status.reason
    assert "SSH" in status.reason
    where = store.where_it_would_go()
    assert "no usable keyring" in where
    assert str(locations.key_file()) in where and "if you agree" in where


def test_a_working_keyring_is_usable(memory_keyring):
    store = CredentialStore()
    assert store.keyring_status().usable
    assert store.keyring_status().reason is None
    assert store.where_it_would_go() == "the system keyring (fakes MemoryKeyring)"


def test_the_null_keyring_counts_as_disabled(use_keyring):
    use_keyring(null.Keyring())
    status = CredentialStore().keyring_status()
    assert not status.usable and "disabled" in status.reason


def test_a_non_recommended_backend_is_not_used(use_keyring):
    ring = use_keyring(LowPriorityKeyring())
    store = CredentialStore()
    assert not store.keyring_status().usable
    assert "not a recommended keyring backend" in store.keyring_status().reason
    with pytest.raises(NeedsConsent):
        store.save(GOOD_KEY)
    assert ring.calls == []


@pytest.fixture
def alt(monkeypatch):
    modules = fake_keyrings_alt()
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return modules["keyrings.alt.file"]


def test_keyrings_alt_plaintext_is_not_used_unless_chosen(use_keyring, alt):
    ring = use_keyring(alt.PlaintextKeyring())
    store = CredentialStore()
    status = store.keyring_status()
    assert not status.usable
    assert "not a system keyring" in status.reason
    assert "PYTHON_KEYRING_BACKEND" in status.reason
    assert store.load() is None
    assert ring.calls == []


def test_keyrings_alt_plaintext_chosen_explicitly_is_used(monkeypatch, alt):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # let keyring resolve it
    store = CredentialStore()
    status = store.keyring_status()
    assert status.usable and status.explicit
    assert store.save(GOOD_KEY) == "the system keyring (file PlaintextKeyring)"
    assert store.load().source is KeySource.KEYRING


@pytest.mark.parametrize("explicit", [False, True])
def test_an_encrypted_file_keyring_that_prompts_is_never_used(
    monkeypatch, use_keyring, alt, explicit
):
    if explicit:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.EncryptedKeyring")
        monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    else:
        use_keyring(alt.EncryptedKeyring())
    store = CredentialStore()
    status = store.keyring_status()
    assert not status.usable
    assert "asks for its password on the terminal" in status.reason
    # None of these may call the backend (it would prompt: the fake raises if called).
    assert store.load() is None
    with pytest.raises(NeedsConsent):
        store.save(GOOD_KEY)
    assert store.delete() == []


def test_a_chainer_of_file_backends_is_not_usable(use_keyring, alt):
    use_keyring(chainer_of(alt.EncryptedKeyring(), alt.PlaintextKeyring()))
    status = CredentialStore().keyring_status()
    assert not status.usable
    assert "asks for its password" in status.reason and "not a system keyring" in status.reason


def test_a_chainer_uses_only_its_best_real_member(use_keyring, alt):
    encrypted = alt.EncryptedKeyring()
    real = MemoryKeyring()
    use_keyring(chainer_of(real, encrypted))
    store = CredentialStore()
    assert store.keyring_status().usable
    store.save(GOOD_KEY)
    assert store.load().key == GOOD_KEY
    assert real.passwords == {(SERVICE, "default"): GOOD_KEY}
    assert encrypted.calls == []


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("bogus_keyring_module.Keyring", "ModuleNotFoundError"),
        ("tests.settings.fakes.UnavailableKeyring", "RuntimeError"),
        ("tests.settings.fakes.NoSuchClass", "AttributeError"),
    ],
)
def test_a_bad_python_keyring_backend(monkeypatch, name, error):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    write_key_file(locations.key_file(), FILE_KEY)
    store = CredentialStore()
    status = store.keyring_status()
    assert not status.usable
    assert status.reason.startswith(f"PYTHON_KEYRING_BACKEND={name} cannot be used ({error}")
    result = store.load_verbose()
    assert result.key.source is KeySource.FILE
    assert any(name in note for note in result.notes)
    with pytest.raises(NeedsConsent):
        store.save(GOOD_KEY)


def test_python_keyring_backend_naming_a_real_store_is_used(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.settings.fakes.MemoryKeyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    status = CredentialStore().keyring_status()
    assert status.usable and status.explicit


def test_keyring_library_that_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)
    status = CredentialStore().keyring_status()
    assert not status.usable
    assert "the keyring library could not be loaded" in status.reason


def test_an_injected_keyring_module_whose_get_keyring_raises():
    class Broken:
        @staticmethod
        def get_keyring():
            raise RuntimeError("config file is garbage")

    status = CredentialStore(keyring_module=Broken).keyring_status()
    assert not status.usable
    assert "RuntimeError: config file is garbage" in status.reason


# ------------------------------------------------------------------ a keyring that raises


def test_a_keyring_that_raises_on_every_call(use_keyring):
    ring = use_keyring(RaisingKeyring())
    path = locations.key_file()
    store = CredentialStore()
    assert store.keyring_status().usable  # it looks fine until used

    # load: falls back to the file, says what happened
    write_key_file(path, FILE_KEY)
    result = store.load_verbose()
    assert result.key.source is KeySource.FILE
    assert result.notes == (
        "the keyring (fakes RaisingKeyring) failed: KeyringError: locked collection "
        "for rentnumber-tui/default",
    )

    # save: reports the failure (asks for consent), writes the file only with it
    with pytest.raises(NeedsConsent) as caught:
        store.save(GOOD_KEY)
    assert "could not store it: KeyringError" in caught.value.reason
    assert GOOD_KEY not in caught.value.message  # the backend echoed it: masked
    assert "rn_…c4f2" in caught.value.reason
    assert path.read_text() == FILE_KEY + "\n"  # untouched without consent
    assert store.save(GOOD_KEY, allow_file=True) == f"{path} (readable only by you)"
    assert store.load().key == GOOD_KEY

    # delete: removes what it can, says what it could not
    with pytest.raises(DeleteIncomplete) as caught:
        store.delete()
    assert caught.value.removed == [str(path)]
    assert "dbus went away" in caught.value.message
    assert not path.exists()
    assert "set" in ring.calls and "delete" in ring.calls


# ------------------------------------------------------------------ saving and the file


def test_save_goes_to_the_keyring_when_usable(memory_keyring):
    store = CredentialStore()
    assert store.save(f"  {GOOD_KEY}\n") == "the system keyring (fakes MemoryKeyring)"
    assert memory_keyring.passwords == {(SERVICE, "default"): GOOD_KEY}
    assert not locations.key_file().exists()


def test_saving_to_the_keyring_removes_an_old_key_file(memory_keyring):
    path = write_key_file(locations.key_file(), FILE_KEY)
    where = CredentialStore().save(GOOD_KEY)
    assert where.endswith(f"(the old key file {path} was removed)")
    assert not path.exists()


def test_headless_save_needs_consent_and_writes_nothing():
    store = CredentialStore()
    with pytest.raises(NeedsConsent) as caught:
        store.save(GOOD_KEY)
    assert caught.value.path == locations.key_file()
    assert "no system keyring was found" in caught.value.reason
    assert "if you agree" in caught.value.message
    assert not locations.key_dir().exists()
    assert not locations.config_dir().exists()


@posix_only
def test_the_fallback_file_is_0600_in_a_0700_directory():
    store = CredentialStore()
    where = store.save(GOOD_KEY, allow_file=True)
    path = locations.key_file()
    assert where == f"{path} (readable only by you)"
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    assert path.read_text() == GOOD_KEY + "\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["default.key"]  # no temp file
    assert store.load().source is KeySource.FILE


@posix_only
def test_the_fallback_file_is_private_whatever_the_umask():
    old = os.umask(0)
    try:
        CredentialStore().save(GOOD_KEY, allow_file=True)
    finally:
        os.umask(old)
    assert mode_of(locations.key_file()) == 0o600
    assert mode_of(locations.key_dir()) == 0o700


@posix_only
def test_an_existing_open_key_directory_is_tightened():
    locations.key_dir().mkdir(parents=True, mode=0o755)
    os.chmod(locations.key_dir(), 0o755)
    CredentialStore().save(GOOD_KEY, allow_file=True)
    assert mode_of(locations.key_dir()) == 0o700


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_a_key_file_others_can_read_is_refused_with_the_fix(mode):
    path = write_key_file(locations.key_file(), FILE_KEY, mode)
    with pytest.raises(KeyFileTooOpen) as caught:
        CredentialStore().load()
    message = caught.value.message
    assert f"chmod 600 {path}" in message
    assert str(path) in message and "accessible to other users" in message
    assert f"{mode:04o}" in message
    assert FILE_KEY not in message


@posix_only
def test_saving_again_replaces_a_too_open_file_with_a_private_one():
    path = write_key_file(locations.key_file(), FILE_KEY, 0o644)
    CredentialStore().save(GOOD_KEY, allow_file=True)
    assert mode_of(path) == 0o600
    assert CredentialStore().load().key == GOOD_KEY


def test_an_empty_key_file_is_ignored_with_a_note():
    path = write_key_file(locations.key_file(), "")
    result = CredentialStore().load_verbose()
    assert result.key is None
    assert f"the key file {path} is empty — ignored" in result.notes


def test_a_key_file_with_garbage_is_an_error():
    write_key_file(locations.key_file(), "not a key at all")
    with pytest.raises(KeyFileError, match="does not contain an API key") as caught:
        CredentialStore().load()
    assert "not a key at all" not in caught.value.message


def test_a_directory_instead_of_the_key_file():
    locations.key_file().mkdir(parents=True)
    with pytest.raises(KeyFileError, match="not a regular file"):
        CredentialStore().load()


def test_a_key_file_path_can_be_injected(tmp_path: Path):
    path = tmp_path / "secrets" / "k.key"
    store = CredentialStore(key_file_path=path)
    store.save(GOOD_KEY, allow_file=True)
    assert path.read_text() == GOOD_KEY + "\n"
    assert not locations.key_file().exists()


@pytest.mark.parametrize("text", ["", "   ", "rn_with space", "rn_tab\there", "rn_é" + "x" * 20])
def test_invalid_keys_are_refused_without_quoting_them(text):
    with pytest.raises(InvalidKey) as caught:
        normalize_key(text)
    if text.strip():
        assert text.strip() not in caught.value.message
    with pytest.raises(InvalidKey):
        CredentialStore().save(text, allow_file=True)
    assert not locations.key_file().exists()


# ------------------------------------------------------------------ delete and profiles


def test_delete_removes_from_keyring_and_file(memory_keyring):
    memory_keyring.passwords[(SERVICE, "default")] = RING_KEY
    path = write_key_file(locations.key_file(), FILE_KEY)
    removed = CredentialStore().delete()
    assert removed == ["the system keyring (fakes MemoryKeyring)", str(path)]
    assert memory_keyring.passwords == {}
    assert not path.exists()
    assert CredentialStore().delete() == []


def test_profiles_keep_separate_keys_in_the_keyring(memory_keyring):
    CredentialStore("default").save(GOOD_KEY)
    CredentialStore("work").save(RING_KEY)
    assert CredentialStore("default").load().key == GOOD_KEY
    assert CredentialStore("work").load().key == RING_KEY
    assert CredentialStore("other").load() is None
    CredentialStore("work").delete()
    assert CredentialStore("work").load() is None
    assert CredentialStore("default").load().key == GOOD_KEY


def test_profiles_keep_separate_key_files():
    CredentialStore("default").save(GOOD_KEY, allow_file=True)
    CredentialStore("work").save(FILE_KEY, allow_file=True)
    assert locations.key_file("work") != locations.key_file("default")
    assert CredentialStore("default").load().key == GOOD_KEY
    assert CredentialStore("work").load().key == FILE_KEY
    assert CredentialStore("work").delete() == [str(locations.key_file("work"))]
    assert CredentialStore("default").load().key == GOOD_KEY


def test_store_refuses_a_path_like_profile():
    with pytest.raises(ValueError, match="invalid profile name"):
        CredentialStore("../../etc")


def test_the_store_can_be_used_from_threads(memory_keyring):
    from concurrent.futures import ThreadPoolExecutor

    store = CredentialStore()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: store.keyring_status(), range(8)))
        pool.submit(store.save, GOOD_KEY).result()
        loaded = list(pool.map(lambda _: store.load(), range(4)))
    assert all(s.usable for s in statuses)
    assert all(item.key == GOOD_KEY for item in loaded)


def test_delete_when_get_fails_and_nothing_is_there(use_keyring):
    class Flaky(MemoryKeyring):
        def get_password(self, service, username):
            raise RuntimeError("transient")

    ring = use_keyring(Flaky())
    assert CredentialStore().delete() == []  # PasswordDeleteError: nothing was there
    assert ring.calls == ["delete"]


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_key_file_owned_by_someone_else_is_refused():
    path = write_key_file(locations.key_file(), FILE_KEY)
    os.chown(path, 12345, 12345)
    with pytest.raises(KeyFileError, match="belongs to another user"):
        CredentialStore().load()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_at_the_key_path_is_refused_without_hanging():
    path = locations.key_file()
    path.parent.mkdir(parents=True)
    os.mkfifo(path, 0o600)
    with pytest.raises(KeyFileError, match="not a regular file"):
        CredentialStore().load()
