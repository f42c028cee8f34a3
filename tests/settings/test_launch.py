"""The launcher wires settings, key and transport into the app: the http/https rule at
start-up, `--allow-insecure-http` reaching the client and the top bar, key sources in
order, and the `KeyStorage` the login screen uses (keyring errors become the app's)."""

from __future__ import annotations

import argparse
import os
import stat

import httpx
import pytest

from rentnumber_tui import launch, locations
from rentnumber_tui.api import InsecureTransport, RentNumberClient, RequestScheduler
from rentnumber_tui.app.options import AppOptions, ConsentNeeded, KeyStorageError
from rentnumber_tui.credentials import SERVICE, CredentialStore
from rentnumber_tui.launch import CredentialKeyStorage
from tests.settings.conftest import GOOD_KEY
from tests.settings.fakes import RaisingKeyring


def namespace(base_url: str | None = None, *, insecure: bool = False, profile: str = "default"):
    return argparse.Namespace(profile=profile, base_url=base_url, allow_insecure_http=insecure)


def built(base_url: str | None = None, **kw):
    result = launch._real_engine(namespace(base_url, **kw))
    if isinstance(result, str):
        return result
    backend, options = result
    backend.store.close()  # the backend is never started here
    assert isinstance(options, AppOptions)
    return backend, options


# ------------------------------------------------------------------- the http/https rule


@pytest.mark.parametrize(
    "url", ["https://v2.rentnumber.net/api/v1", "http://127.0.0.1:8799/api/v1", None]
)
def test_https_and_loopback_start_without_a_warning(url):
    _backend, options = built(url)
    assert options.insecure_transport is None
    assert not any("INSECURE" in warning for warning in options.warnings)


def test_remote_plain_http_is_refused_at_start(capsys):
    message = built("http://api.example.com/api/v1")
    assert isinstance(message, str)
    assert "Refusing to send the API key" in message and "--allow-insecure-http" in message
    code = launch.run_app(
        argparse.Namespace(
            demo=False,
            profile="default",
            base_url="http://api.example.com/api/v1",
            allow_insecure_http=False,
        )
    )
    assert code == 2
    assert "Refusing to send the API key" in capsys.readouterr().err


def test_allow_insecure_http_reaches_the_client_and_the_screen(monkeypatch):
    monkeypatch.setenv("RENTNUMBER_API_KEY", GOOD_KEY)
    backend, options = built("http://api.example.com/api/v1", insecure=True)
    assert options.insecure_transport and "unencrypted" in options.insecure_transport
    assert options.insecure_transport in options.warnings  # and a start-up notification
    client = backend._client_factory()
    assert client.allow_insecure_http and client.has_key
    assert client._transport_refusal() is None


def test_allow_insecure_http_from_the_settings_file(monkeypatch):
    path = locations.config_file()
    path.parent.mkdir(parents=True)
    path.write_text('base_url = "http://10.0.0.5:8080/api/v1"\nallow_insecure_http = true\n')
    backend, options = built()
    assert options.insecure_transport is not None
    assert backend._client_factory().allow_insecure_http


def test_without_the_override_the_client_refuses_too():
    """Belt and braces: even if a remote http:// URL reached the client, no key leaves."""
    sent: list[httpx.Request] = []

    class SocketLike(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200, json={"success": True, "balance": 1, "currency": "NGN"})

    async def run(allow: bool) -> None:
        client = RentNumberClient(
            GOOD_KEY,
            "http://api.example.com/api/v1",
            transport=SocketLike(),
            scheduler=RequestScheduler(),
            allow_insecure_http=allow,
        )
        async with client:
            await client.balance()

    import asyncio

    with pytest.raises(InsecureTransport) as refused:
        asyncio.run(run(False))
    assert sent == [] and "--allow-insecure-http" in refused.value.message
    asyncio.run(run(True))
    assert [r.headers["X-API-KEY"] for r in sent] == [GOOD_KEY]


async def test_a_client_for_another_key_shares_the_pool_and_the_scheduler():
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-API-KEY"))
        return httpx.Response(200, json={"success": True, "balance": 5, "currency": "NGN"})

    scheduler = RequestScheduler()
    parent = RentNumberClient(
        "rn_parent_key_0000000000",
        "https://api.test/v1",
        transport=httpx.MockTransport(handler),
        scheduler=scheduler,
    )
    child = parent.with_key(GOOD_KEY, max_retries=0)
    assert child.scheduler is scheduler and child.server_clock is parent.server_clock
    assert child.max_retries == 0 and child._client() is parent._client()
    await child.balance()
    await child.aclose()
    assert parent.api_key == "rn_parent_key_0000000000"
    await parent.balance()  # the shared connection is still open
    assert seen == [GOOD_KEY, "rn_parent_key_0000000000"]
    assert GOOD_KEY not in repr(child)
    await parent.aclose()


def test_a_first_start_shows_the_services_before_the_client_is_made(loopback_server):
    """Nothing cached: the launcher's engine has the list from its first look, in the
    budget its client then uses, and answers the App's first ask with it."""
    from rentnumber_tui.core.events import CatalogUpdated, EngineReady

    built_ = launch.build_engine(namespace(loopback_server))
    assert not isinstance(built_, str)
    engine = built_.engine
    factory = engine._client_factory
    seen: list[type] = []
    seen_when_made: list[list[type]] = []

    def client():
        seen_when_made.append(list(seen))
        return factory()

    engine._client_factory = client
    engine.subscribe(lambda event: seen.append(type(event)))
    engine.look_early()
    engine.start()
    try:
        assert seen_when_made == [[CatalogUpdated]]  # shown before the client was made
        assert seen[:2] == [CatalogUpdated, EngineReady]
        assert engine.client is not None and engine.client.scheduler.in_window() == 1
        services = engine.submit(engine.services()).result(timeout=30)
        assert services[0].slug == "whatsapp"
        assert engine.client.scheduler.in_window() == 1  # answered without a request
    finally:
        engine.stop()
        engine.store.close()


async def test_the_app_s_launcher_looks_early_and_the_others_do_not(loopback_server, sandbox):
    from tests.core.waiting import wait_until

    quiet = launch._real_engine(namespace(loopback_server))
    early = launch._real_engine(namespace(loopback_server), look_early=True)
    assert not isinstance(quiet, str) and not isinstance(early, str)
    try:
        await wait_until(lambda: early[0].services_known is not None, what="the early look")
        assert quiet[0].services_known is None  # nothing asked: tests, scripts
        await wait_until(lambda: sandbox.request_log, what="the look in the server's log")
        assert [r.path for r in sandbox.request_log] == ["/api/v1/services"]
    finally:
        quiet[0].store.close()
        early[0].store.close()


# ---------------------------------------------------------------- key sources, in order


def test_the_launcher_loads_the_key_env_then_keyring_then_file(monkeypatch, memory_keyring):
    store = CredentialStore("default")
    locations.key_dir().mkdir(parents=True, mode=0o700)
    path = locations.key_file("default")
    path.write_text("rn_from_the_file_000000000\n")
    path.chmod(0o600)
    notes: list[str] = []
    assert launch._load_key("default", notes) == "rn_from_the_file_000000000"
    memory_keyring.passwords[(SERVICE, "default")] = "rn_from_the_keyring_00000"
    assert launch._load_key("default", notes) == "rn_from_the_keyring_00000"
    monkeypatch.setenv("RENTNUMBER_API_KEY", "rn_from_the_environment_0")
    assert launch._load_key("default", notes) == "rn_from_the_environment_0"
    assert store.load().key == "rn_from_the_environment_0"


def test_the_launcher_refuses_a_key_file_others_can_read(tmp_path):
    locations.key_dir().mkdir(parents=True, mode=0o700)
    path = locations.key_file("default")
    path.write_text(GOOD_KEY + "\n")
    path.chmod(0o644)
    notes: list[str] = []
    assert launch._load_key("default", notes) is None
    assert len(notes) == 1 and f"chmod 600 {path}" in notes[0]
    assert GOOD_KEY not in notes[0]


def test_headless_without_any_key_starts_quietly(monkeypatch):
    """No keyring and no key on a server is normal: no start-up warning (the login
    screen says why when a key is first needed)."""
    notes: list[str] = []
    assert launch._load_key("default", notes) is None
    assert notes == []


# ------------------------------------------------------ the login screen's key storage


def test_storage_with_a_keyring(memory_keyring, monkeypatch):
    storage = CredentialKeyStorage("work")
    info = storage.describe()
    assert not info.needs_consent and "system keyring" in info.where and info.note is None
    where = storage.save(GOOD_KEY)
    assert "system keyring" in where
    assert memory_keyring.passwords == {(SERVICE, "work"): GOOD_KEY}
    monkeypatch.setenv("RENTNUMBER_API_KEY", GOOD_KEY)
    assert "RENTNUMBER_API_KEY" in storage.describe().note
    text = storage.delete()
    assert "Removed the key of profile 'work'" in text and "still set" in text
    assert memory_keyring.passwords == {}


def test_storage_headless_needs_consent_then_writes_a_private_file():
    storage = CredentialKeyStorage("default")
    info = storage.describe()
    assert info.needs_consent and info.path == str(locations.key_file("default"))
    assert "no system keyring" in (info.reason or "")
    with pytest.raises(ConsentNeeded) as need:
        storage.save(GOOD_KEY)
    assert need.value.path == info.path and not os.path.exists(info.path)
    storage.save(GOOD_KEY, allow_file=True)
    mode = os.stat(info.path).st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(info.path)).st_mode) == 0o700
    assert "There was no saved key" not in storage.delete()
    assert "There was no saved key" in storage.delete()


def test_storage_on_a_keyring_that_raises_on_every_call(use_keyring):
    use_keyring(RaisingKeyring())
    storage = CredentialKeyStorage("default")
    assert not storage.describe().needs_consent  # it looks fine until it is used
    with pytest.raises(ConsentNeeded) as need:
        storage.save(GOOD_KEY)
    assert GOOD_KEY not in need.value.message and GOOD_KEY not in str(need.value.reason)
    with pytest.raises(KeyStorageError) as failed:
        storage.delete()
    assert "could not remove" in failed.value.message
