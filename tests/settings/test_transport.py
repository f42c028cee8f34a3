"""The one transport rule (`rentnumber_tui.transport`), and every path that uses it
deciding the same way: the settings file, the command line, the environment and the
HTTP client itself. The edge cases are the ones where two rules used to disagree."""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx
import pytest

from rentnumber_tui.api import InsecureTransport, RentNumberClient, RequestScheduler
from rentnumber_tui.config import load_settings
from rentnumber_tui.launch import _real_engine
from rentnumber_tui.transport import (
    BaseUrlError,
    Transport,
    check_transport,
    is_loopback_host,
    parse_base_url,
    resolve_base_url,
)

#: (URL, verdict without the override). Loopback means the connection stays here
#: without asking DNS; a localhost *subdomain* is an ordinary DNS name.
CASES = [
    ("https://v2.rentnumber.net/api/v1", Transport.HTTPS),
    ("HTTPS://example.com", Transport.HTTPS),
    ("https://10.0.0.5:8443/api", Transport.HTTPS),
    ("http://127.0.0.1:8000/api/v1", Transport.LOOPBACK),
    ("http://127.5.6.7/api/v1", Transport.LOOPBACK),
    ("http://localhost:8000/api/v1", Transport.LOOPBACK),
    ("http://LOCALHOST./api/v1", Transport.LOOPBACK),
    ("http://[::1]:8000/api/v1", Transport.LOOPBACK),
    ("http://[::ffff:127.0.0.1]:8000/api/v1", Transport.LOOPBACK),  # IPv4-mapped IPv6
    ("http://2130706433:8000/api/v1", Transport.LOOPBACK),  # integer IP = 127.0.0.1
    ("http://127.1/api/v1", Transport.LOOPBACK),  # inet_aton shorthand
    ("http://0x7f000001/api/v1", Transport.LOOPBACK),  # hex integer IP
    ("http://foo.localhost:8000/api/v1", Transport.REFUSED),  # subdomain: DNS decides
    ("http://localhost.example.com", Transport.REFUSED),
    ("http://127.0.0.1.nip.io", Transport.REFUSED),
    ("http://[::ffff:10.0.0.1]/api/v1", Transport.REFUSED),
    ("http://167772161/api/v1", Transport.REFUSED),  # integer IP = 10.0.0.1
    ("http://example.com/api/v1", Transport.REFUSED),
    ("http://192.168.1.10:8000/api/v1", Transport.REFUSED),
    ("http://0.0.0.0:8000", Transport.REFUSED),
    ("http://[::2]/", Transport.REFUSED),
]

#: Not a usable base URL at all, with or without the override, wherever it is given.
UNUSABLE = [
    "",
    "   ",
    "ftp://example.com",
    "example.com/api",
    "https://",
    "http://[::1",
    "http://a:99999",
    "https://api.example.com/v1?x=1",
    "https://api.example.com/v1#frag",
    "https://api.example.com/v1?x=1#frag",
    "http://user:secret@127.0.0.1/api/v1",  # userinfo
    "https://user@api.example.com/v1",
    "https://api.example.com/v 1",
]


@pytest.mark.parametrize(("url", "verdict"), CASES)
def test_the_rule(url: str, verdict: Transport) -> None:
    check = check_transport(url, allow_insecure=False)
    assert check.verdict is verdict
    assert check.ok is (verdict is not Transport.REFUSED)
    if verdict is Transport.REFUSED:
        assert check.explanation is not None
        assert "Refusing to send the API key" in check.explanation
        assert "--allow-insecure-http" in check.explanation


@pytest.mark.parametrize(("url", "verdict"), CASES)
def test_the_override_turns_only_refusals_into_warnings(url: str, verdict: Transport) -> None:
    check = check_transport(url, allow_insecure=True)
    if verdict is Transport.REFUSED:
        assert check.verdict is Transport.INSECURE
        assert check.ok and check.warning is not None and "INSECURE" in check.warning
    else:
        assert check.verdict is verdict and check.warning is None


@pytest.mark.parametrize("url", UNUSABLE)
def test_unusable_urls_are_refused_even_with_the_override(url: str) -> None:
    check = check_transport(url, allow_insecure=True)
    assert check.verdict is Transport.REFUSED
    assert check.explanation is not None and "not a usable API address" in check.explanation
    assert "secret" not in check.explanation  # a password in the URL is never echoed
    with pytest.raises(BaseUrlError):
        parse_base_url(url)


@pytest.mark.parametrize(("url", "verdict"), CASES)
def test_the_client_decides_as_the_rule_does(url: str, verdict: Transport) -> None:
    """Over a socket transport the key goes exactly where `check_transport` allows it."""
    sent: list[httpx.Request] = []

    class SocketLike(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200, text='{"success": true, "balance": 1, "currency": "NGN"}')

    import asyncio

    async def ask() -> None:
        client = RentNumberClient(
            "rn_0123456789abcdef", url, transport=SocketLike(), scheduler=RequestScheduler(100)
        )
        async with client:
            await client.balance()

    if verdict is Transport.REFUSED:
        with pytest.raises(InsecureTransport):
            asyncio.run(ask())
        assert sent == []
    else:
        asyncio.run(ask())
        assert len(sent) == 1


@pytest.mark.parametrize(("url", "verdict"), CASES)
def test_the_launcher_decides_as_the_rule_does(url: str, verdict: Transport) -> None:
    built = _real_engine(
        argparse.Namespace(profile="default", base_url=url, allow_insecure_http=False)
    )
    if verdict is Transport.REFUSED:
        assert isinstance(built, str) and "Refusing to send the API key" in built
    else:
        assert not isinstance(built, str)


@pytest.mark.parametrize("url", UNUSABLE)
def test_unusable_urls_fail_alike_on_the_command_line_in_the_env_and_in_the_file(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Command line: an explicit flag is never ignored, not even an empty one.
    with pytest.raises(BaseUrlError, match=r"^--base-url "):
        resolve_base_url(url)
    built = _real_engine(
        argparse.Namespace(profile="default", base_url=url, allow_insecure_http=True)
    )
    assert isinstance(built, str) and "--base-url" in built
    # Settings file: the same value is reported and the default is used.
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"base_url = {url!r}\n".replace("'", '"'))
    settings, problems = load_settings(cfg)
    assert settings.base_url is None
    assert any("'base_url'" in p and "an http:// or https:// URL" in p for p in problems)
    # The environment: set but unusable is an error (only an empty one counts as unset).
    if url.strip():
        monkeypatch.setenv("RENTNUMBER_BASE_URL", url)
        with pytest.raises(BaseUrlError, match=r"^RENTNUMBER_BASE_URL "):
            resolve_base_url(None)


def test_the_display_url_drops_the_path_s_neighbours() -> None:
    check = check_transport("http://example.com:8080/api/v1/", allow_insecure=False)
    assert check.url == "http://example.com:8080/api/v1"


def test_is_loopback_host() -> None:
    assert is_loopback_host("localhost")
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("::1")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("10.0.0.1")
    assert not is_loopback_host("foo.localhost")
    assert not is_loopback_host("localhost..")
    assert not is_loopback_host(None)
    assert not is_loopback_host("")
