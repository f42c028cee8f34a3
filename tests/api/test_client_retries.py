"""Retry policy for safe requests (GET): which failures, how many times, how long between,
`Retry-After` honoured through the scheduler; and the connection-health signal."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rentnumber_tui.api import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    Health,
    InvalidResponse,
    NotFound,
    Priority,
    ProviderError,
    RequestScheduler,
    RequestTimeout,
    ServerError,
    Throttled,
    Unauthorized,
)

from .conftest import respond

SERVICES = {"success": True, "data": []}
HTML = "<html>bad gateway</html>"


def failing(times: int, failure, success=None):
    """A handler that fails `times` times, then answers `success`."""
    state = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        state["n"] += 1
        if state["n"] <= times:
            if isinstance(failure, type):
                raise failure("simulated", request=request)
            return failure(request)
        return respond(success or SERVICES)

    return handler


TRANSIENT = {
    "read_timeout": (httpx.ReadTimeout, RequestTimeout),
    "connect_error": (httpx.ConnectError, ConnectionFailed),
    "read_error": (httpx.ReadError, ConnectionFailed),
    "502": (lambda r: respond(text=HTML, status=502), ProviderError),
    "429": (lambda r: respond({"success": False}, 429), Throttled),
}


@pytest.mark.parametrize("name", list(TRANSIENT))
async def test_get_is_retried_then_gives_up(make_client, sleeps, name: str) -> None:
    failure, error = TRANSIENT[name]
    client, rec = make_client(failing(99, failure), max_retries=3, backoff=0.5)
    with pytest.raises(error):
        await client.services()
    assert rec.count == 4
    # random() is 0.5 in these tests: jitter factor 1.0, so the pure exponential sequence.
    assert sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("name", list(TRANSIENT))
async def test_get_recovers_after_transient_failures(make_client, sleeps, name: str) -> None:
    failure, _ = TRANSIENT[name]
    client, rec = make_client(failing(2, failure), max_retries=3)
    assert await client.services() == ()
    assert rec.count == 3 and len(sleeps) == 2


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (respond({"success": False}, 500), ServerError),
        (respond({"success": False}, 503), ServerError),
        (respond({"success": False, "error": "x"}, 400), BadRequest),
        (respond({"success": False}, 401), Unauthorized),
        (respond({"success": False}, 404), NotFound),
        (respond(text=HTML), InvalidResponse),
        (respond({"success": True}), InvalidResponse),
    ],
)
async def test_non_transient_errors_are_not_retried(make_client, sleeps, response, error):
    client, rec = make_client(lambda r: response)
    with pytest.raises(error):
        await client.services()
    assert rec.count == 1 and sleeps == []


async def test_max_retries_zero(make_client, sleeps) -> None:
    client, rec = make_client(failing(99, httpx.ConnectError), max_retries=0)
    with pytest.raises(ConnectionFailed):
        await client.services()
    assert rec.count == 1 and sleeps == []


@pytest.mark.parametrize(("rnd", "expected"), [(0.0, [0.25, 0.5]), (0.99, [0.745, 1.49])])
async def test_backoff_jitter(make_client, sleeps, rnd: float, expected: list[float]) -> None:
    client, _ = make_client(failing(99, httpx.ConnectError), max_retries=2, random=lambda: rnd)
    with pytest.raises(ConnectionFailed):
        await client.services()
    assert sleeps == pytest.approx(expected)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_retry_after_pauses_everyone_and_is_waited_out(make_client) -> None:
    clock = FakeClock()
    scheduler = RequestScheduler(100, 1.0, clock=clock)
    observed: list[tuple[float, float]] = []

    async def sleep(delay: float) -> None:
        observed.append((delay, scheduler.paused_for()))
        clock.now += delay

    handler = failing(1, lambda r: respond({"success": False}, 429, headers={"Retry-After": "3"}))
    client, rec = make_client(handler, scheduler=scheduler, sleep=sleep)
    assert await client.services() == ()
    assert rec.count == 2
    assert observed == [(3.0, 3.0)]  # waited the server's 3 s, not the 0.5 s backoff


async def test_retry_after_http_date_is_honoured(make_client) -> None:
    clock = FakeClock()
    scheduler = RequestScheduler(100, 1.0, clock=clock)
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        clock.now += delay

    headers = {
        "Date": "Sun, 12 Apr 2026 14:30:00 GMT",
        "Retry-After": "Sun, 12 Apr 2026 14:30:05 GMT",
    }
    handler = failing(1, lambda r: respond({"success": False}, 429, headers=headers))
    client, _ = make_client(handler, scheduler=scheduler, sleep=sleep)
    await client.services()
    assert delays == [5.0]


async def test_very_long_retry_after_is_not_waited_out(make_client, sleeps) -> None:
    clock = FakeClock()
    scheduler = RequestScheduler(100, 1.0, clock=clock)
    handler = failing(99, lambda r: respond({}, 429, headers={"Retry-After": "3600"}))
    client, rec = make_client(handler, scheduler=scheduler)
    with pytest.raises(Throttled) as info:
        await client.services()
    assert info.value.retry_after == 3600.0
    assert rec.count == 1 and sleeps == []
    assert scheduler.paused_for() == 300.0  # capped, so the app is not frozen for an hour


async def test_a_huge_retry_after_pauses_at_most_five_minutes(make_client, sleeps) -> None:
    clock = FakeClock()
    scheduler = RequestScheduler(100, 1.0, clock=clock)
    handler = failing(99, lambda r: respond({}, 429, headers={"Retry-After": "99999999999"}))
    client, _ = make_client(handler, scheduler=scheduler)
    with pytest.raises(Throttled):
        await client.balance()
    assert scheduler.paused_for() == 300.0


async def test_during_a_pause_a_person_is_told_how_long_at_once(make_client, sleeps) -> None:
    """F4 or r while throttled: answered at once with the time left, nothing sent and
    nothing queued behind the pause."""
    clock = FakeClock()
    scheduler = RequestScheduler(100, 1.0, clock=clock)
    balance = {"success": True, "balance": 1, "currency": "NGN"}
    client, rec = make_client(lambda r: respond(balance), scheduler=scheduler)
    scheduler.pause_until(clock() + 42)
    with pytest.raises(Throttled) as told:
        await client.balance()  # USER priority
    assert "resume in 42 s" in told.value.message and told.value.retry_after == 42
    assert rec.count == 0
    assert scheduler.waiting() == 0


async def test_429_on_rent_pauses_scheduler_but_is_not_retried(make_client, sleeps) -> None:
    clock = FakeClock()
    scheduler = RequestScheduler(100, 1.0, clock=clock)
    handler = failing(99, lambda r: respond({}, 429, headers={"Retry-After": "2"}))
    client, rec = make_client(handler, scheduler=scheduler)
    with pytest.raises(Throttled):
        await client.rent(42)
    assert rec.count == 1 and sleeps == []
    assert scheduler.paused_for() == 2.0


async def test_each_attempt_goes_through_the_scheduler(make_client, scheduler, monkeypatch):
    priorities: list[Priority] = []
    original = scheduler.slot

    def spy(priority: Priority = Priority.USER):
        priorities.append(priority)
        return original(priority)

    monkeypatch.setattr(scheduler, "slot", spy)
    rental = {
        "success": True,
        "rental_id": 7,
        "phone": "+1",
        "status": "waiting",
        "cost": 1,
        "created_at": "2026-04-12 14:30:00",
        "expires_at": "2026-04-12 14:45:00",
    }
    client, rec = make_client(failing(2, httpx.ReadTimeout, rental))
    # rental() defaults to BACKGROUND, and every retry keeps it
    assert (await client.rental(7)).rental_id == 7
    assert rec.count == 3
    assert priorities == [Priority.BACKGROUND] * 3


# -- connection health ------------------------------------------------------------------


async def test_health_goes_retrying_then_offline_then_online(make_client) -> None:
    seen: list[Health] = []
    states_during: list[str] = []
    client, _ = make_client(failing(99, httpx.ConnectError), max_retries=2)
    client.add_listener(seen.append)
    assert client.health == Health("online", None)

    with pytest.raises(ConnectionFailed) as info:
        await client.services()
    assert [h.state for h in seen] == ["retrying", "offline"]
    assert client.health.state == "offline" and client.health.last_error is info.value

    def ok(request: httpx.Request) -> httpx.Response:
        states_during.append(client.health.state)
        return respond(SERVICES)

    client._transport.handler.handler = ok  # the Recorder's inner handler
    await client.services()
    assert [h.state for h in seen] == ["retrying", "offline", "online"]
    assert client.health == Health("online", None)
    assert states_during == ["offline"]


async def test_health_is_retrying_while_a_retry_is_pending(make_client) -> None:
    states: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        states.append(client.health.state)
        if len(states) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return respond(SERVICES)

    client, _ = make_client(handler)
    await client.services()
    assert states == ["online", "retrying"]
    assert client.health.state == "online"


async def test_http_error_answer_means_online(make_client) -> None:
    client, _ = make_client(failing(99, httpx.ConnectError), max_retries=0)
    with pytest.raises(ConnectionFailed):
        await client.services()
    assert client.health.state == "offline"
    client._transport.handler.handler = lambda r: respond({"success": False}, 500)
    with pytest.raises(ServerError) as info:
        await client.services()
    assert client.health.state == "online" and client.health.last_error is info.value


async def test_one_request_retrying_keeps_state_retrying_while_others_succeed(make_client):
    release = asyncio.Event()
    in_backoff = asyncio.Event()

    async def sleep(delay: float) -> None:
        in_backoff.set()
        await release.wait()

    calls = {"services": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/services"):
            calls["services"] += 1
            if calls["services"] == 1:
                raise httpx.ConnectError("refused", request=request)
        return respond({"success": True, "data": []})

    client, _ = make_client(handler, sleep=sleep)
    first = asyncio.create_task(client.services())
    await in_backoff.wait()
    assert client.health.state == "retrying"
    await client.countries()  # succeeds meanwhile
    assert client.health.state == "retrying"
    release.set()
    await first
    assert client.health.state == "online"


async def test_listener_removal_and_failing_listener(make_client) -> None:
    seen: list[str] = []
    client, _ = make_client(failing(99, httpx.ConnectError), max_retries=0)

    def broken(health: Health) -> None:
        raise RuntimeError("UI bug")

    client.add_listener(broken)
    remove = client.add_listener(lambda h: seen.append(h.state))
    with pytest.raises(ConnectionFailed):
        await client.services()
    assert seen == ["offline"]
    remove()
    client.remove_listener(broken)
    client._transport.handler.handler = lambda r: respond(SERVICES)
    await client.services()
    assert seen == ["offline"]


async def test_unauthorized_without_key_does_not_touch_health(make_client) -> None:
    seen: list[Health] = []
    client, _ = make_client(lambda r: respond(SERVICES), api_key=None)
    client.add_listener(seen.append)
    with pytest.raises(ApiError):
        await client.balance()
    assert seen == [] and client.health == Health("online", None)
