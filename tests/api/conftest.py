"""Client fixtures for the API tests: a client on `httpx.MockTransport`, a scheduler
that never holds a unit test back, and a `sleep` that records backoff delays instead of
waiting them out."""

from __future__ import annotations

import asyncio
import json
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
