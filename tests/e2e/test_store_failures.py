"""The real program in a pty when its local store breaks under it: a damaged file at
start, the disk filling up while it runs, the file system turning read-only. Each is
said in words on screen; nothing hangs; a rent whose journal cannot be written is not
sent. (Where mounting a tmpfs is not permitted, the FaultyStore tests in tests/core and
tests/app cover the same flows.)"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rentnumber_tui.core.store import Store
from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox, SandboxConfig
from tests.e2e.pty import ESCAPE, Pty, program, program_env
from tests.e2e.tui import SIZE, confirm_rent, open_whatsapp_nigeria, start, store_path
from tests.fs_faults import fill, mounted_tmpfs


@pytest.fixture
def sandbox() -> Sandbox:
    sandbox = Sandbox(SandboxConfig(seed=7, sms_delay=(600, 600)))
    _ = sandbox.catalog
    return sandbox


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[str]:
    from rentnumber_tui.sandbox.server import running_server

    with running_server(sandbox) as base_url:
        yield base_url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "user"


def rents_sent(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.request_log if r.method == "POST" and r.path.endswith("/rent"))


def test_a_damaged_store_is_said_at_start_and_the_program_exits(server, home) -> None:
    path = store_path(home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)  # pages of garbage
    app = Pty(program(server), program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY), SIZE)
    code = app.finish(timeout=30)
    assert code == 2
    text = re.sub(r"\s+", " ", app.raw)
    assert "Cannot open the local store" in text and "damaged" in text
    assert str(path.name) in text


def test_a_full_disk_is_said_and_the_rent_is_not_sent(server, home, sandbox: Sandbox) -> None:
    with mounted_tmpfs(home / "data", size="4m") as disk:
        if disk is None:
            pytest.skip("mounting a tmpfs is not permitted here")
        app = start(server, home)
        try:
            open_whatsapp_nigeria(app)
            fill(disk)
            confirm_rent(app)
            app.wait_for(app.shows("the disk is full"), "the full disk, said")
            app.wait_for(app.shows("Nothing was sent"), "and that nothing was sent")
            assert rents_sent(sandbox) == 0
            app.send(ESCAPE)  # still answering keys
            app.wait_for(app.shows("Stock ▼"), "back at the prices")
            assert app.process.poll() is None  # nothing crashed
        finally:
            app.kill()


def test_a_read_only_store_is_said_at_start(server, home) -> None:
    path = store_path(home)
    Store(path, "setup").close()
    if not make_immutable(path, True):
        pytest.skip("chattr +i is not available here")
    try:
        app = Pty(program(server), program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY), SIZE)
        code = app.finish(timeout=30)
        assert code == 2
        text = re.sub(r"\s+", " ", app.raw)
        assert "Cannot open the local store" in text and "read-only" in text
    finally:
        make_immutable(path, False)


def make_immutable(path: Path, on: bool) -> bool:
    """`chattr +i`: even root cannot write the file (permission bits do not stop root)."""
    result = subprocess.run(
        ["chattr", "+i" if on else "-i", str(path)], capture_output=True, check=False
    )
    return result.returncode == 0
