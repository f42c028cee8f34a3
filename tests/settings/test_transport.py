from __future__ import annotations

import pytest

from rentnumber_tui.config import Transport, check_transport, is_loopback_host


@pytest.mark.parametrize(
    "url",
    ["https://v2.rentnumber.net/api/v1", "HTTPS://example.com", "https://10.0.0.5:8443/api"],
)
def test_https_is_ok(url):
    check = check_transport(url, allow_insecure=False)
    assert check.verdict is Transport.HTTPS
    assert check.ok and check.warning is None and check.explanation is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/api/v1",
        "http://127.5.6.7/api/v1",
        "http://localhost:8000/api/v1",
        "http://LOCALHOST./api/v1",
        "http://[::1]:8000/api/v1",
        "http://[::ffff:127.0.0.1]/api/v1",
    ],
)
def test_http_to_loopback_is_ok(url):
    check = check_transport(url, allow_insecure=False)
    assert check.verdict is Transport.LOOPBACK
    assert check.ok and check.warning is None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/api/v1",
        "http://192.168.1.10:8000/api/v1",
        "http://0.0.0.0:8000",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://[::2]/",
    ],
)
def test_http_elsewhere_is_refused_with_an_explanation(url):
    check = check_transport(url, allow_insecure=False)
    assert check.verdict is Transport.REFUSED
    assert not check.ok
    assert check.explanation is not None
    assert "Refusing to send the API key" in check.explanation
    assert "https://" in check.explanation
    assert "--allow-insecure-http" in check.explanation


def test_the_override_allows_it_with_a_warning():
    check = check_transport("http://example.com:8080/api/v1", allow_insecure=True)
    assert check.verdict is Transport.INSECURE
    assert check.ok
    assert check.warning is not None
    assert "INSECURE" in check.warning and "example.com:8080" in check.warning


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "example.com/api", "https://", "http://[::1", "", "http://a:99999"]
)
def test_unusable_urls_are_refused_even_with_the_override(url):
    check = check_transport(url, allow_insecure=True)
    assert check.verdict is Transport.REFUSED
    assert "not a usable API address" in check.explanation


def test_the_display_url_drops_credentials_and_query():
    check = check_transport("http://user:hunter2@example.com/api?token=abc", allow_insecure=False)
    assert "hunter2" not in check.explanation and "token" not in check.explanation
    assert check.url == "http://example.com/api"


def test_is_loopback_host():
    assert is_loopback_host("localhost")
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("::1")
    assert not is_loopback_host("10.0.0.1")
    assert not is_loopback_host(None)
    assert not is_loopback_host("")
