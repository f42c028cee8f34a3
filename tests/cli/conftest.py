"""The command-line tests' sandbox: seed 1, SMS only when a test delivers one (600 s)."""

from __future__ import annotations

import pytest

from rentnumber_tui.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def sandbox() -> Sandbox:
    sandbox = Sandbox(SandboxConfig(seed=1, sms_delay=(600, 600)))
    _ = sandbox.catalog  # built now, not inside the first request
    return sandbox
