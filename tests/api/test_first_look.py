"""The first look at the services (`api.first_look`): over a real loopback socket it
reads what the client reads, in the request budget, and for anything short of a good
answer it gives None after one request, never a retry or an exception."""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys

import pytest

from rentnumber_tui.api import RentNumberClient, RequestScheduler, first_look
from rentnumber_tui.api.first_look import first_services, proxied
from rentnumber_tui.api.scheduler import Priority

from .conftest import settled_log


async def test_reads_what_the_client_reads_in_one_request_of_the_budget(
    sandbox, loopback_server: str, arrivals
) -> None:
    scheduler = RequestScheduler(max_requests=2, per=1.0)
    services = await first_services(loopback_server, scheduler)
    assert scheduler.in_window() == 1  # it took a slot of the budget the client uses
    async with RentNumberClient(base_url=loopback_server) as client:
        assert services == await client.services()
    assert services is not None and len(services) == 50
    log = await settled_log(sandbox, arrivals)
    assert [(r.method, r.path, r.status) for r in log] == [("GET", "/api/v1/services", 200)] * 2


async def test_waits_its_turn_in_the_budget(loopback_server: str) -> None:
    scheduler = RequestScheduler(max_requests=1, per=60.0)
    async with scheduler.slot(Priority.USER):
        pass  # the one request of the window is spent
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await first_services(loopback_server, scheduler)


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
    assert await first_services(loopback_server, scheduler) is None
    assert [r.path for r in await settled_log(sandbox, arrivals)] == ["/api/v1/services"]


async def test_gives_up_on_a_server_that_does_not_answer(sandbox, loopback_server: str) -> None:
    sandbox.faults.hang_seconds = 5.0
    sandbox.faults.inject("hang", "/services")
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    assert await first_services(loopback_server, scheduler, timeout=0.2) is None


async def test_nothing_listening_is_none() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1"
    assert await first_services(url, RequestScheduler(max_requests=50, per=1.0)) is None


@pytest.mark.parametrize(
    "environ",
    [{"HTTPS_PROXY": "http://proxy:3128"}, {"all_proxy": "socks5://p"}, {"SSL_CERT_FILE": "/x"}],
)
async def test_steps_aside_where_httpx_would_use_the_environment(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]
) -> None:
    """A proxy or other trusted certificates from the environment: httpx would use
    them for a remote host, so nothing is sent this way at all."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    sent: list[str] = []
    monkeypatch.setattr(first_look, "_get", lambda url, timeout: sent.append(url))
    scheduler = RequestScheduler(max_requests=50, per=1.0)
    assert await first_services("https://api.example.invalid/api/v1", scheduler) is None
    assert sent == []
    assert scheduler.in_window() == 0


async def test_a_loopback_server_is_asked_directly_whatever_the_proxy(
    monkeypatch: pytest.MonkeyPatch, loopback_server: str
) -> None:
    """As the client does (no environment proxy for this computer)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    services = await first_services(loopback_server, RequestScheduler(max_requests=50, per=1.0))
    assert services is not None and services[0].slug == "whatsapp"


def test_proxied() -> None:
    assert proxied({"https_proxy": "http://p:1"})
    assert proxied({"HTTP_PROXY": "http://p:1"})
    assert not proxied({"NO_PROXY": "*", "https_proxy": ""})
    assert not proxied({})


def test_tls_trusts_the_bundle_httpx_trusts_and_checks_names() -> None:
    import certifi

    context = first_look._tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    bundled = ssl.create_default_context(cafile=certifi.where()).cert_store_stats()
    assert context.cert_store_stats() == bundled
    assert bundled["x509_ca"] > 0


def test_importing_it_loads_no_httpx() -> None:
    """The point of it: the first list is had before httpx is loaded."""
    import subprocess

    code = (
        "import sys, rentnumber_tui.api.first_look;"
        "sys.exit('httpx' in sys.modules or 'anyio' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
