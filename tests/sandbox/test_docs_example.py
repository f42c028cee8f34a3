"""The documentation's own Python example (`requests`: balance, rent, poll until the
code arrives) runs unchanged against the sandbox over real HTTP."""

from __future__ import annotations

import math
import sys
import time
import types

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig

# The documentation's Python example, verbatim except for API_KEY and BASE (below) and
# the loop body's indentation, which the published page lost.
DOC_EXAMPLE = """\
import requests
API_KEY = "rn_your_key"
BASE = "https://v2.rentnumber.net/api/v1"
headers = {"X-API-KEY": API_KEY}
# Get balance
r = requests.get(f"{BASE}/balance", headers=headers)
print(r.json())
# Rent a number
r = requests.post(f"{BASE}/rent", headers=headers, data={"pricing_id": 42})
rental = r.json()
rental_id = rental["rental_id"]
# Poll for SMS
import time
while True:
    r = requests.get(f"{BASE}/rental/{rental_id}", headers=headers)
    data = r.json()
    if data["status"] == "received":
        print(f"Code: {data['code']}")
        break
    time.sleep(5)
"""


def _requests_stand_in() -> types.ModuleType:
    """Just enough of `requests` for the example: get/post returning `.json()`."""
    module = types.ModuleType("requests")

    def get(url: str, headers: dict | None = None) -> httpx.Response:
        return httpx.get(url, headers=headers, timeout=5)

    def post(url: str, headers: dict | None = None, data: dict | None = None) -> httpx.Response:
        return httpx.post(url, headers=headers, data=data, timeout=5)

    module.get = get  # type: ignore[attr-defined]
    module.post = post  # type: ignore[attr-defined]
    return module


@pytest.fixture(params=[(0.0, 0.0), (5.0, 20.0)], ids=["immediate-sms", "sms-after-5-20s"])
def sandbox(request: pytest.FixtureRequest, clock: ManualClock) -> Sandbox:
    """Overrides the shared fixture here: both SMS timings for the example."""
    return Sandbox(SandboxConfig(seed=7, sms_delay=request.param), clock=clock)


def test_the_documented_python_example_works_unchanged(
    sandbox: Sandbox,
    loopback_server: str,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = DOC_EXAMPLE.replace('"rn_your_key"', repr(DEMO_API_KEY)).replace(
        '"https://v2.rentnumber.net/api/v1"', repr(loopback_server)
    )
    assert source.count(DEMO_API_KEY) == 1 and source.count(loopback_server) == 1
    monkeypatch.setitem(sys.modules, "requests", _requests_stand_in())
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the example's time.sleep(5): move server time
        slept.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    exec(compile(source, "rentnumber-docs-example.py", "exec"), {"__name__": "__example__"})

    (rental,) = sandbox.rentals_of(DEMO_API_KEY)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "{'success': True, 'balance': 25000.0, 'currency': 'NGN'}",
        f"Code: {rental.code}",
    ]
    assert rental.status == "received" and rental.offer_id == 42
    # One poll per 5 s of server time until the SMS was due; never a real sleep.
    delay = (rental.sms_at - rental.created_at).total_seconds()
    assert slept == [5] * math.ceil(delay / 5)
    if sandbox.config.sms_delay != (0.0, 0.0):
        assert slept  # the polling loop really ran
