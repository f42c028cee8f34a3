"""Fixtures for the settings / credentials tests.

Every test runs with HOME and the XDG dirs in `tmp_path` (see `tests/conftest.py`), no
RENTNUMBER_* or PYTHON_KEYRING_BACKEND variables, no D-Bus session, and keyring's backend
set to the headless one (`fail.Keyring`) unless a test installs another — a test never
reaches the real keyring of the machine it runs on.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import keyring
import keyring.core
import pytest
from keyring.backends import fail

from rentnumber_tui.api import RentNumberClient, RequestScheduler
from tests.settings.fakes import MemoryKeyring

GOOD_KEY = "rn_live_5d41402abc4b2a76b9719d911017c4f2"
BAD_KEY = "rn_live_00000000000000000000000000000bad"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        path = tmp_path / ("settings-" + name.lower())
        path.mkdir(exist_ok=True)
        monkeypatch.setenv(name, str(path))
    for name in list(os.environ):
        if name.startswith("RENTNUMBER_"):
            monkeypatch.delenv(name)
    for name in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    # Headless by default; monkeypatch puts the original backend back afterwards.
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch):
    """Install a keyring backend (as keyring.set_keyring would) for this test only."""

    def install(backend):
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
        return backend

    return install


@pytest.fixture
def memory_keyring(use_keyring) -> MemoryKeyring:
    return use_keyring(MemoryKeyring())


class FakeServer:
    """``GET /balance`` answering 200 for GOOD_KEY and 401 otherwise."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status_for_good = 200

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.path.endswith("/balance")
        if request.headers.get("X-API-KEY") != GOOD_KEY:
            return httpx.Response(401, json={"success": False, "error": "Invalid API key"})
        if self.status_for_good != 200:
            return httpx.Response(
                self.status_for_good, json={"success": False, "error": "Provider error"}
            )
        return httpx.Response(
            200,
            content=b'{"success": true, "balance": 5000.00, "currency": "NGN"}',
            headers={"Content-Type": "application/json"},
        )

    def client_factory(self, *, api_key: str, base_url: str) -> RentNumberClient:
        return RentNumberClient(
            api_key=api_key,
            base_url=base_url,
            transport=httpx.MockTransport(self.handler),
            scheduler=RequestScheduler(),
            max_retries=0,
        )


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()
