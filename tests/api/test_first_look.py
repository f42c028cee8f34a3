"""The first look at the services (`api.first_look`): over a real loopback socket it
reads what the client reads, in the request budget, and for anything short of a good
answer it gives None after one request, never a retry or an exception."""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
from pathlib import Path

import pytest

from rentnumber_tui.api import RentNumberClient, RequestScheduler, first_look
from rentnumber_tui.api.first_look import first_services, proxied

from .conftest import settled_log


async def test_reads_what_the_client_reads_in_one_request_of_the_budget(
    sandbox, loopback_server: str, arrivals
) -> None:
    scheduler = RequestScheduler(max_requests=2, per=1.0)
    services = await asyncio.to_thread(first_services, loopback_server, scheduler)
    assert scheduler.in_window() == 1  # it took a slot of the budget the client uses
    async with RentNumberClient(base_url=loopback_server) as client:
        assert services == await client.services()
    assert services is not None and len(services) == 50
    log = await settled_log(sandbox, arrivals)
    assert [(r.method, r.path, r.status) for r in log] == [("GET", "/api/v1/services", 200)] * 2


async def test_waits_its_turn_in_the_budget(sandbox, loopback_server: str, arrivals) -> None:
    scheduler = RequestScheduler(max_requests=1, per=1.0)
    assert (
        await asyncio.to_thread(first_services, loopback_server, scheduler) is not None
    )  # the window's one
    assert await asyncio.to_thread(first_services, loopback_server, scheduler) is not None
    first, second = await settled_log(sandbox, arrivals)
    assert second.monotonic - first.monotonic >= 1.0  # on the server's clock


def test_not_during_a_pause_the_server_asked_for(sandbox, loopback_server: str) -> None:
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    scheduler.pause_until(scheduler.clock() + 30)
    assert first_services(loopback_server, scheduler) is None
    assert sandbox.request_log == []


@pytest.mark.parametrize(
    "fault",
    [
        "502_html",
        "500",
        "429",
        "401",
        "truncated_json",
        "success_false_200",
        "drop",
        "missing_fields",
        "wrong_types",
    ],
)
async def test_anything_but_a_good_answer_is_none_after_one_request(
    sandbox, loopback_server: str, arrivals, fault: str
) -> None:
    sandbox.faults.inject(fault, "/services")
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    assert await asyncio.to_thread(first_services, loopback_server, scheduler) is None
    assert [r.path for r in await settled_log(sandbox, arrivals)] == ["/api/v1/services"]


def test_gives_up_on_a_server_that_does_not_answer(sandbox, loopback_server: str) -> None:
    sandbox.faults.hang_seconds = 5.0
    sandbox.faults.inject("hang", "/services")
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    assert first_services(loopback_server, scheduler, timeout=0.2) is None


def test_nothing_listening_is_none() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1"
    assert first_services(url, RequestScheduler(max_requests=50, per=1.0)) is None


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "all_proxy"])
def test_steps_aside_where_httpx_would_use_a_proxy(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A proxy from the environment: httpx would use it for a remote host, so nothing
    is sent this way at all."""
    monkeypatch.setenv(variable, "http://proxy.invalid:3128")
    sent: list[str] = []
    monkeypatch.setattr(first_look, "_get", lambda *args: sent.append(args[0]))
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    assert first_services("https://api.example.invalid/api/v1", scheduler) is None
    assert sent == []
    assert scheduler.in_window() == 0


def test_the_environment_s_certificates_apply_as_httpx_applies_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/elsewhere.pem")
    seen: list[dict[str, str]] = []

    def get(url: str, timeout: float, environ: dict[str, str]) -> tuple[int, None, bytes]:
        seen.append(environ)
        return 500, None, b""

    monkeypatch.setattr(first_look, "_get", get)
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    first_services("https://api.example.invalid/api/v1", scheduler)
    first_services("http://127.0.0.1:9/api/v1", scheduler)
    assert seen[0]["SSL_CERT_FILE"] == "/etc/elsewhere.pem"
    assert seen[1] == {}  # not for this computer (the client's `trust_env`)


def test_a_loopback_server_is_asked_directly_whatever_the_proxy(
    monkeypatch: pytest.MonkeyPatch, loopback_server: str
) -> None:
    """As the client does (no environment proxy for this computer)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    services = first_services(loopback_server, RequestScheduler(max_requests=50, per=1.0))
    assert services is not None and services[0].slug == "whatsapp"


def test_proxied() -> None:
    assert proxied({"https_proxy": "http://p:1"})
    assert proxied({"HTTP_PROXY": "http://p:1"})
    assert not proxied({"NO_PROXY": "*", "https_proxy": ""})
    assert not proxied({})


def test_tls_trusts_the_bundle_httpx_trusts_and_checks_names(tmp_path) -> None:
    import certifi
    import httpx

    bundled = first_look._tls_context({})
    assert bundled.verify_mode is ssl.CERT_REQUIRED and bundled.check_hostname
    assert bundled.cert_store_stats()["x509_ca"] > 0
    assert (
        bundled.cert_store_stats() == httpx.create_ssl_context(trust_env=False).cert_store_stats()
    )

    one = tmp_path / "one.pem"
    certificates = Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")
    one.write_text(certificates[0] + "-----END CERTIFICATE-----\n")
    own = first_look._tls_context({"SSL_CERT_FILE": str(one)})
    assert own.cert_store_stats()["x509_ca"] == 1
    assert own.verify_mode is ssl.CERT_REQUIRED and own.check_hostname
    with pytest.raises(OSError):
        first_look._tls_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})


def test_importing_it_loads_no_httpx() -> None:
    """The point of it: the first list is had before httpx is loaded."""
    import subprocess

    code = (
        "import sys, rentnumber_tui.api.first_look;"
        "sys.exit('httpx' in sys.modules or 'anyio' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
