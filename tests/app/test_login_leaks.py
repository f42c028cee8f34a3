"""The API key never appears in full in anything the app writes or shows (spec,
clarification 12): a distinctive key goes through the login screen, is refused, meets a
502, is accepted, stored and used, meets server errors that echo it back — and then the
app crashes on a request made with it. Searched: every byte sent to the terminal, every
screenshot, every notification, every log record (DEBUG, all loggers), every error text,
stdout/stderr, and the crash traceback Textual prints (which shows local variables).

The second test does the same with the real program in a pty against the sandbox over
loopback HTTP, with no usable keyring, and restarts it to load the key from the file.
"""

from __future__ import annotations

import json
import logging
import stat
import types
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from keyring.backends import fail
from textual import events, work
from textual.widgets import Input, Static
from textual.worker import WorkerFailed

from rentnumber_tui.api.clock import ServerClock
from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.login import LoginScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.store import Store
from rentnumber_tui.credentials import CredentialStore
from rentnumber_tui.launch import CredentialKeyStorage, sandbox_client_factory
from rentnumber_tui.masking import mask_key
from rentnumber_tui.sandbox import Sandbox
from tests.core.waiting import wait_until
from tests.e2e.capture import capture
from tests.e2e.pty import F4, Pty, program, program_env
from tests.e2e.vt import SEQUENCE
from tests.timings import FAST_POLLING

LEAK = "rn_LEAKCHECK" + "9f3c2a7e5b1d8c4f6a0e2b9d7c5a3e1f"[:28]
LEAK_BAD = "rn_LEAKCHECKBAD" + "0d1e2f3a4b5c6d7e8f9a0b1c2d3e"
#: The full keys and their hidden middles: none may appear anywhere.
SECRETS = (LEAK, LEAK_BAD, LEAK[3:-4], LEAK_BAD[3:-4])
SIZE = (100, 30)


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"the key leaked into {where}"


class Echoing:
    """The sandbox behind a worst-case proxy: for a key it does not know it answers 401
    quoting the key, and when `echo_errors` is set it answers `GET /balance` with a 500
    quoting the key it was sent."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.echo_errors = False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            sent = dict(scope["headers"]).get(b"x-api-key", b"").decode()
            if sent.startswith("rn_LEAKCHECKBAD"):
                return await self._reply(send, 401, f"Invalid API key {sent}")
            if self.echo_errors and scope["path"].endswith("/balance"):
                return await self._reply(send, 500, f"Database error for key={sent!r}")
        await self.sandbox(scope, receive, send)

    @staticmethod
    async def _reply(send, status: int, error: str) -> None:
        body = json.dumps({"success": False, "error": error}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class CrashingApp(RentNumberApp):
    """An app with one deliberate bug: a request whose failure nobody catches."""

    @work(group="crash")  # exit_on_error defaults to True: the app crashes
    async def crash(self) -> None:
        await self.engine.balance()


@pytest.fixture
def build(sandbox, clock, tmp_path) -> Callable[..., tuple[CrashingApp, Echoing]]:
    backends: list[Engine] = []

    def make(options: AppOptions) -> tuple[CrashingApp, Echoing]:
        echoing = Echoing(sandbox)
        factory = sandbox_client_factory(
            echoing,
            api_key=None,
            scheduler=RequestScheduler(max_requests=50, per=1.0),
            server_clock=ServerClock(time_func=lambda: clock.now().timestamp()),
            max_retries=0,
        )
        engine = Engine(
            factory, Store(tmp_path / "store.sqlite3", "leak"), poll_settings=FAST_POLLING
        )
        backends.append(engine)
        return CrashingApp(engine, options), echoing

    yield make
    for engine in backends:
        engine.stop()
        engine.store.close()


async def test_the_key_appears_nowhere(build, sandbox, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    sandbox.add_account(LEAK, Decimal("1000.00"))
    module = types.SimpleNamespace(get_keyring=fail.Keyring)
    storage = CredentialKeyStorage(
        "default", store_factory=lambda: CredentialStore("default", keyring_module=module)
    )
    app, echoing = build(AppOptions(demo=True, key_storage=storage))
    record = capture(app, SIZE)
    shots: list[str] = []
    error_texts: list[str] = []

    async def paste(key: str) -> None:
        await wait_until(lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        box = app.screen.query_one("#login-key", Input)
        await wait_until(lambda: not box.disabled and box.has_focus, what="the input")
        box.post_message(events.Paste(key))
        await wait_until(lambda: box.value == key, what="pasted")
        await pilot.pause()
        shots.append(app.export_screenshot())  # the masked input, with the key in it
        await pilot.press("enter")

    def said() -> str:
        return str(app.screen.query_one("#login-message", Static).content)

    with pytest.raises(WorkerFailed) as crash:
        async with app.run_test(size=SIZE, headless=False, notifications=True) as pilot:
            await wait_until(lambda: app.engine.ready and isinstance(app.screen, ServicesScreen))
            await pilot.press("f4")

            # A wrong key, which the server quotes back in its 401.
            await paste(LEAK_BAD)
            await wait_until(lambda: "refused" in said(), what="refused")
            shots.append(app.export_screenshot())

            # The right key, but the server fails (502).
            sandbox.faults.inject("502_html", "/balance")
            await paste(LEAK)
            await wait_until(lambda: "Nothing was saved" in said(), what="the 502")
            error_texts.append(said())
            shots.append(app.export_screenshot())

            # The right key: checked, no keyring, stored in the file after a yes.
            await paste(LEAK)
            await wait_until(lambda: app.screen.state == "consent", what="the question")
            shots.append(app.export_screenshot())
            await pilot.press("y")
            await wait_until(lambda: app.engine.client.api_key == LEAK, what="logged in")
            await wait_until(lambda: isinstance(app.screen, ServicesScreen))
            await pilot.pause()
            shots.append(app.export_screenshot())

            # Using it: a server error that quotes the key, shown as a notification.
            echoing.echo_errors = True
            await pilot.press("f4")
            await wait_until(
                lambda: any("Database error" in str(n.message) for n in app._notifications),
                what="the balance error",
            )
            await pilot.pause()
            shots.append(app.export_screenshot())
            error_texts += [str(n.message) + str(n.title) for n in app._notifications]

            # A bug: a request with the key fails and nobody catches it (connection drop).
            echoing.echo_errors = False
            sandbox.faults.inject("drop", "/balance", count=5)
            app.crash()
            await wait_until(lambda: app._exception is not None, what="the crash")
            # The app ends by itself; leaving before it has would shut it down from
            # here, while Textual still captures stderr, and its traceback would vanish.
            await wait_until(lambda: app._task is not None and app._task.done(), what="the end")

    assert any(mask_key(LEAK) in text for text in error_texts) or any(
        mask_key(LEAK) in shot for shot in shots
    )
    notifications = [f"{n.title} {n.message}" for n in app._notifications]
    assert any("Logged in with " + mask_key(LEAK) in n for n in notifications)

    # The crash: Textual printed its traceback, with local variables, to stderr.
    out, err = capfd.readouterr()
    assert "_exchange" in err and "locals" in err  # the client's frames, with locals
    assert "_KeyAuth('rn_…" in err  # the key object is there, masked
    assert isinstance(crash.value.error, ApiError)
    assert_clean(err, "the crash traceback")
    assert_clean(repr(crash.value) + str(crash.value), "the exception")

    for where, text in [
        ("the terminal", record.raw),
        ("the terminal (without escape sequences)", SEQUENCE.sub("", record.raw)),
        ("the screen", record.screen()),
        ("stdout", out),
        ("stderr", err),
        ("log records", "\n".join(r.getMessage() for r in caplog.records)),
        ("log output", caplog.text),
        ("notifications", "\n".join(notifications)),
        ("error texts", "\n".join(error_texts)),
        *((f"screenshot {i}", shot) for i, shot in enumerate(shots)),
    ]:
        assert_clean(text, where)
    # It was stored (that is the point), and only there.
    assert CredentialStore("default", keyring_module=module).load().key == LEAK


# --------------------------------------------------------------------------- real pty


def test_the_real_program_in_a_pty(loopback_server, sandbox, tmp_path):
    sandbox.add_account(LEAK, Decimal("1234.50"))
    env = program_env(tmp_path / "user")
    argv = program(loopback_server)

    app = Pty(argv, env, SIZE)
    try:
        # The services come from the server (nothing is cached yet): the engine is up.
        app.wait_for(app.shows("WhatsApp"), "the services")
        assert "no API key" in app.screen()
        app.send(F4)
        app.wait_for(app.shows("Log in"), "the login screen")
        app.wait_for(app.shows("No usable keyring"), "where the key would go")
        app.paste(LEAK_BAD)
        app.wait_for(app.shows("•" * 8), "the masked key")
        app.send("\r")
        app.wait_for(app.shows("refused this key"), "the refusal")
        app.paste(LEAK)
        app.send("\r")
        app.wait_for(app.shows("[y/N]"), "the question")
        app.send("y")
        # The question already shows the balance and the mask: wait for what follows it.
        app.wait_for(app.shows("Logged in with " + mask_key(LEAK)), "the notification")
        app.wait_for(lambda: "no API key" not in app.screen(), "the balance in the top bar")
        assert "₦1,234.50" in app.screen().splitlines()[0]
        app.quit()
    finally:
        app.finish()
    first_run = app.raw

    key_file = Path(env["XDG_CONFIG_HOME"]) / "rentnumber-tui" / "keys" / "default.key"
    files = sorted(str(p) for p in Path(env["HOME"]).rglob("*"))
    assert key_file.exists(), f"no key file; files: {files}; screen:\n{app.screen()}"
    assert key_file.read_text() == LEAK + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700

    # A restart finds the key in the file: the balance shows without logging in.
    again = Pty(argv, env, SIZE)
    try:
        again.wait_for(again.shows("₦1,234.50"), "the balance after a restart")
        again.quit()
    finally:
        again.finish()

    for where, text in [("first run", first_run), ("second run", again.raw)]:
        assert_clean(text, f"the terminal ({where})")
        assert_clean(SEQUENCE.sub("", text), f"the terminal text ({where})")
