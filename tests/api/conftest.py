"""Client fixtures for the API tests: a client on `httpx.MockTransport`, a scheduler
that never holds a unit test back, and a `sleep` that records backoff delays instead of
waiting them out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from rentnumber_tui.api import RentNumberClient, RequestScheduler

API_KEY = "rn_live_7f3a9c2e4b1d8f60c4f2"
BASE_URL = "https://api.example.test/api/v1"

Handler = Callable[[httpx.Request], Any]


def respond(
    body: Any = None,
    status: int = 200,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A response with `body` as JSON (or `text` verbatim, for exact decimals)."""
    if text is None:
        text = json.dumps(body)
    return httpx.Response(status, text=text, headers=headers)


class Recorder:
    """A MockTransport handler that remembers every request it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result = self.handler(request)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    @property
    def count(self) -> int:
        return len(self.requests)


class Sleeps(list[float]):
    """Stands in for `asyncio.sleep` in the client: records each delay, waits none."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def scheduler() -> RequestScheduler:
    return RequestScheduler(max_requests=10_000, per=1.0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_client(
    scheduler: RequestScheduler, sleeps: Sleeps
) -> AsyncIterator[Callable[..., tuple[RentNumberClient, Recorder]]]:
    """`make_client(handler, **overrides) -> (client, recorder)`; closed afterwards."""
    clients: list[RentNumberClient] = []

    def factory(handler: Handler, **overrides: Any) -> tuple[RentNumberClient, Recorder]:
        recorder = Recorder(handler)
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "base_url": BASE_URL,
            "transport": httpx.MockTransport(recorder),
            "scheduler": scheduler,
            "sleep": sleeps,
            "random": lambda: 0.5,
        }
        options.update(overrides)
        client = RentNumberClient(**options)
        clients.append(client)
        return client, recorder

    yield factory
    for client in clients:
        await client.aclose()


# -- against the sandbox ----------------------------------------------------------------


class Arrivals:
    """The sandbox's monotonic clock, counting reads: the server reads it once when a
    request arrives, before answering, so `count` is exact even while the server (in
    its own thread) has not yet written the request to its log."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> float:
        self.count += 1
        return time.monotonic()


@pytest.fixture
def arrivals() -> Arrivals:
    return Arrivals()


@pytest.fixture
def sandbox(clock, arrivals: Arrivals):
    """The shared `sandbox` fixture's server (seed 7, SMS after 5-20 s, the shared
    `clock`), with its arrivals counted; `loopback_server` serves this one too."""
    from rentnumber_tui.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(seed=7, sms_delay=(5, 20)), clock=clock, monotonic=arrivals)
    _ = sandbox.catalog  # built now, not inside the first request (see tests/conftest.py)
    return sandbox


async def settled_log(sandbox, arrivals: Arrivals, limit: float = 5.0) -> list:
    """The sandbox's request log once every request that reached it has been logged
    (over a socket the server logs just after the client has its answer)."""
    deadline = time.monotonic() + limit
    while True:
        log = sandbox.request_log
        if len(log) >= arrivals.count:
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"{arrivals.count} arrived but {len(log)} were logged")
        await asyncio.sleep(0.005)


@pytest.fixture(params=["asgi", "loopback"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    """Run a sandbox test in-process (`httpx.ASGITransport`) and over real sockets."""
    return request.param


@pytest.fixture
async def sandbox_client(
    request: pytest.FixtureRequest, transport_kind: str, sandbox, scheduler: RequestScheduler
) -> AsyncIterator[Callable[..., RentNumberClient]]:
    """`sandbox_client(**overrides)`: a client for the `sandbox` fixture, on the transport
    `transport_kind` names, with the demo key. Closed afterwards."""
    from rentnumber_tui.sandbox import DEMO_API_KEY

    if transport_kind == "asgi":
        base: dict[str, Any] = {
            "base_url": "http://sandbox/api/v1",
            "transport": httpx.ASGITransport(app=sandbox),
        }
    else:
        base = {"base_url": request.getfixturevalue("loopback_server")}
    clients: list[RentNumberClient] = []

    def factory(**overrides: Any) -> RentNumberClient:
        options: dict[str, Any] = {
            "api_key": DEMO_API_KEY,
            "scheduler": scheduler,
            "timeout": 5.0,
            **base,
        }
        options.update(overrides)
        client = RentNumberClient(**options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
