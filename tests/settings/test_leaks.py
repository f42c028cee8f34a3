"""The key never appears in full in anything the settings layer writes or shows:
stdout, stderr, log records, exception texts and reprs, crash tracebacks with locals."""

from __future__ import annotations

import io
import logging
import traceback

import httpx
import pytest
from rich.console import Console
from rich.traceback import Traceback

from rentnumber_tui import locations
from rentnumber_tui.api import RentNumberClient, RequestScheduler
from rentnumber_tui.auth_cli import check_key, login_main, logout_main
from rentnumber_tui.credentials import CredentialError, CredentialStore, StoreFailed
from rentnumber_tui.masking import mask_key
from tests.settings.fakes import MemoryKeyring, RaisingKeyring

CANARY = "rn_CANARY_7f3e9b1d5a2c8e4f6b0d9a7c5e3fd00d"
BAD_CANARY = "rn_CANARY_BAD_9d8c7b6a5f4e3d2c1b0a99887766"
SECRETS = (CANARY, BAD_CANARY, CANARY[3:-4], BAD_CANARY[3:-4])


def echoing_server(request: httpx.Request) -> httpx.Response:
    """Accepts CANARY; otherwise answers 401 quoting the key it was sent (worst case)."""
    sent = request.headers.get("X-API-KEY", "")
    if sent == CANARY:
        return httpx.Response(200, json={"success": True, "balance": 10, "currency": "NGN"})
    return httpx.Response(401, json={"success": False, "error": f"Invalid API key {sent}"})


def factory(*, api_key, base_url):
    return RentNumberClient(
        api_key=api_key,
        base_url=base_url,
        transport=httpx.MockTransport(echoing_server),
        scheduler=RequestScheduler(),
        max_retries=0,
    )


class Exploding:
    """A client whose call fails with an error quoting the key."""

    def __init__(self, *, api_key, base_url):
        self.key = api_key

    async def balance(self):
        raise RuntimeError(f"h11: illegal header value {self.key!r}")

    async def aclose(self):
        raise OSError(f"close failed for {self.key}")


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"the key leaked into {where}: {text!r}"


class TTYIn(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_leak_anywhere(capsys, caplog, use_keyring, monkeypatch, tmp_path):
    caplog.set_level(logging.DEBUG)
    texts: list[tuple[str, str]] = []

    def keep(where, value):
        texts.append((where, value if isinstance(value, str) else repr(value)))

    # A refused key, echoed back by the server.
    assert (
        login_main(
            "default",
            "https://api.test/v1",
            stdin=io.StringIO(BAD_CANARY),
            allow_file=True,
            client_factory=factory,
        )
        == 1
    )

    # A keyring that fails and quotes the password in its errors; file with consent.
    use_keyring(RaisingKeyring())
    assert (
        login_main(
            "default",
            "https://api.test/v1",
            stdin=io.StringIO(CANARY + "\n"),
            allow_file=True,
            client_factory=factory,
        )
        == 0
    )
    assert locations.key_file().read_text() == CANARY + "\n"  # it really was stored
    store = CredentialStore()
    result = store.load_verbose()
    assert result.key.key == CANARY  # and really loaded
    keep("LoadResult repr", result)
    keep("LoadedKey str", str(result.key))
    keep("notes", " ".join(result.notes))
    keep("status", store.keyring_status())
    keep("where", store.where_it_would_go())
    for attempt in (lambda: store.save(CANARY), lambda: store.delete()):
        try:
            attempt()
        except CredentialError as exc:
            keep("exception str", str(exc))
            keep("exception repr", exc)
            keep("exception traceback", "".join(traceback.format_exception(exc)))

    # An interactive login into a working keyring, then a failing client, then logout.
    use_keyring(MemoryKeyring())
    monkeypatch.setattr("getpass.getpass", lambda prompt="", stream=None: CANARY)
    assert login_main("work", "https://api.test/v1", stdin=TTYIn(""), client_factory=factory) == 0
    assert CredentialStore("work").load().key == CANARY
    monkeypatch.setattr("getpass.getpass", lambda prompt="", stream=None: CANARY)
    assert login_main("work", "https://api.test/v1", stdin=TTYIn(""), client_factory=Exploding) == 1
    assert logout_main("work") == 0
    assert logout_main("default") == 0

    # The environment variable, and a malformed one.
    monkeypatch.setenv("RENTNUMBER_API_KEY", CANARY)
    keep("env LoadedKey", CredentialStore().load())
    monkeypatch.setenv("RENTNUMBER_API_KEY", CANARY + " x")
    with pytest.raises(CredentialError) as caught:
        CredentialStore().load()
    keep("invalid env error", str(caught.value))
    monkeypatch.delenv("RENTNUMBER_API_KEY")

    # A key file readable by others.
    path = locations.key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CANARY)
    path.chmod(0o644)
    with pytest.raises(CredentialError) as caught:
        CredentialStore().load()
    keep("too open error", str(caught.value))

    captured = capsys.readouterr()
    assert mask_key(CANARY) in captured.out  # the mask is what is shown
    assert_clean(captured.out, "stdout")
    assert_clean(captured.err, "stderr")
    for record in caplog.records:
        assert_clean(record.getMessage(), f"log record {record.name}")
        if record.exc_info:
            assert_clean(logging.Formatter().formatException(record.exc_info), "log traceback")
    for where, text in texts:
        assert_clean(text, where)


async def test_check_key_errors_never_quote_the_key():
    for client_factory in (factory, Exploding):
        for key in (CANARY, BAD_CANARY):
            result = await check_key(key, "https://api.test/v1", client_factory=client_factory)
            assert_clean(result.message, "check_key message")
            assert_clean(repr(result), "check_key repr")


def test_crash_tracebacks_with_locals_show_only_the_mask(use_keyring, tmp_path):
    """Textual prints crash tracebacks with local variables (rich, show_locals=True):
    the frames of the credential store hold the key only as a masked SecretKey."""
    use_keyring(RaisingKeyring())
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    store = CredentialStore(key_file_path=blocker / "default.key")
    with pytest.raises(StoreFailed) as caught:
        store.save(CANARY, allow_file=True)
    exc = caught.value
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(
        Traceback.from_exception(
            type(exc), exc, exc.__traceback__.tb_next, show_locals=True, locals_max_length=5
        )
    )
    rendered = console.file.getvalue()
    assert "SecretKey('rn_…d00d')" in rendered
    assert_clean(rendered, "rich traceback with locals")
