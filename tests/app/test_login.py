"""The login screen and everything that needs a key: rent, history and balance open it
when no key is set, it checks the key with GET /balance before saving anything, saves it
(keyring, or a 0600 file only after the user agrees, or this session only), and the
action that needed the key goes on. Also: a key refused while polling, logging out, and
the insecure-transport warning in the top bar."""

from __future__ import annotations

import os
import stat
import types
from decimal import Decimal

import pytest
from keyring.backends import fail
from textual.widgets import Button, Input, Static

from rentnumber_tui import locations
from rentnumber_tui.app import events as engine_events
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.confirm import ConfirmRentScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.login import (
    REFUSED,
    REFUSED_WHILE_POLLING,
    LoginScreen,
    LogoutScreen,
)
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.credentials import SERVICE, CredentialStore
from rentnumber_tui.launch import CredentialKeyStorage
from rentnumber_tui.masking import mask_key
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.app.helpers import login_screen, open_confirmation, open_prices, paste_key
from tests.core.waiting import wait_until
from tests.settings.fakes import MemoryKeyring, RaisingKeyring

KEY = "rn_live_0a1b2c3d4e5f60718293a4b5c6d7e8f9c4f2"
OTHER_KEY = "rn_live_ffeeddccbbaa99887766554433221100beef"
WRONG_KEY = "rn_live_00000000000000000000000000000bad"


@pytest.fixture(autouse=True)
def no_keyring_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)


@pytest.fixture
def account(sandbox) -> str:
    sandbox.add_account(KEY, Decimal("5000.00"))
    return KEY


def storage_on(engine, profile: str = "default") -> CredentialKeyStorage:
    """The launcher's real key storage, on a given keyring engine (never the machine's)."""
    module = types.SimpleNamespace(get_keyring=lambda: engine)
    return CredentialKeyStorage(
        profile, store_factory=lambda: CredentialStore(profile, keyring_module=module)
    )


def options(storage=None, **kw) -> AppOptions:
    return AppOptions(demo=True, key_storage=storage, **kw)


def message(screen) -> str:
    return str(screen.query_one("#login-message", Static).content)


async def test_renting_without_a_key_logs_in_then_the_rent_goes_on(make_app, sandbox, account):
    keyring = MemoryKeyring()
    app = make_app(api_key=None, options=options(storage_on(keyring)))
    notes: list[str] = []
    real_notify = app.notify
    app.notify = lambda text, **kw: (notes.append(text), real_notify(text, **kw))  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_prices(app, pilot)
        table.move_cursor(next(i for i, o in enumerate(table.visible_offers) if o.available))
        await pilot.press("enter")
        screen = await login_screen(app)
        assert "An API key is needed to rent a number." in str(
            screen.query_one("#login-reason", Static).content
        )
        assert screen.query_one("#login-key", Input).password  # masked input
        where = screen.query_one("#login-where", Static)
        await wait_until(lambda: "keyring" in str(where.content), what="where it is stored")
        assert "the system keyring" in str(where.content)

        # A wrong key: refused, nothing saved, the live client unchanged.
        await paste_key(app, pilot, WRONG_KEY)
        await wait_until(lambda: message(screen) == REFUSED, what="the refusal")
        assert keyring.passwords == {}
        assert not app.engine.client.has_key
        assert screen.state == "input" and screen.query_one("#login-key", Input).value == ""

        # The right one: checked, saved in the keyring, used, and the rent continues.
        await paste_key(app, pilot, KEY)
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen), what="the rent")
        assert keyring.passwords == {(SERVICE, "default"): KEY}
        assert app.engine.client.api_key == KEY
        assert app.engine.status().has_key
        assert app.engine.status().balance.amount == Decimal("5000.00")
        login_notes = [n for n in notes if "Logged in" in n]
        assert len(login_notes) == 1 and mask_key(KEY) in login_notes[0]
        assert not any(KEY in n for n in notes)

        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rented")
        assert len(sandbox.rentals_of(KEY)) == 1
        assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_no_usable_keyring_asks_before_writing_a_private_file(make_app, sandbox, account):
    app = make_app(api_key=None, options=options(storage_on(fail.Keyring())))
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_prices(app, pilot)
        table.move_cursor(next(i for i, o in enumerate(table.visible_offers) if o.available))
        await pilot.press("enter")
        screen = await login_screen(app)
        where = screen.query_one("#login-where", Static)
        await wait_until(lambda: "No usable keyring" in str(where.content), what="the fallback")
        path = locations.key_file("default")
        assert str(path) in str(where.content)

        await paste_key(app, pilot, KEY)
        await wait_until(lambda: screen.state == "consent", what="the question")
        assert f"Store it in {path}, readable only by you? [y/N]" in message(screen)
        assert not path.exists()  # nothing written before the user agrees
        assert not app.engine.client.has_key
        assert screen.query_one("#login-no", Button).has_focus  # Enter means no

        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, ConfirmRentScreen), what="the rent")
        assert path.read_text() == KEY + "\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert app.engine.client.api_key == KEY

    # The next start finds it there.
    loaded = CredentialStore(
        "default", keyring_module=types.SimpleNamespace(get_keyring=fail.Keyring)
    ).load()
    assert loaded is not None and loaded.key == KEY and loaded.source.value == "file"


async def test_session_only_stores_nothing(make_app, sandbox, account):
    app = make_app(api_key=None, options=options(storage_on(fail.Keyring())))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.ready)
        await pilot.press("f4")
        await paste_key(app, pilot, KEY)
        screen = await login_screen(app)
        await wait_until(lambda: screen.state == "consent", what="the question")
        await pilot.press("n")
        await wait_until(lambda: not isinstance(app.screen, LoginScreen), what="closed")
        assert app.engine.client.api_key == KEY
        assert not locations.key_file("default").exists()
        await wait_until(lambda: app.engine.status().balance is not None, what="the balance")


async def test_a_keyring_that_raises_on_every_call(make_app, sandbox, account):
    keyring = RaisingKeyring()
    app = make_app(api_key=None, options=options(storage_on(keyring)))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.ready)
        await pilot.press("f4")
        await paste_key(app, pilot, KEY)
        screen = await login_screen(app)
        await wait_until(lambda: screen.state == "consent", what="the fallback question")
        assert "could not store it" in message(screen)
        assert KEY not in message(screen)  # the keyring's error quoted the key
        assert "set" in keyring.calls
        await pilot.press("y")
        await wait_until(lambda: not isinstance(app.screen, LoginScreen), what="closed")
        assert locations.key_file("default").read_text() == KEY + "\n"
        assert app.engine.client.api_key == KEY


async def test_a_server_error_while_checking_saves_nothing(make_app, sandbox, account):
    keyring = MemoryKeyring()
    app = make_app(api_key=None, options=options(storage_on(keyring)))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.ready)
        await pilot.press("f4")
        screen = await login_screen(app)
        sandbox.faults.inject("502_html", "/balance")
        await paste_key(app, pilot, KEY)
        await wait_until(lambda: "Nothing was saved." in message(screen), what="the error")
        assert "502" in message(screen)
        assert keyring.passwords == {} and not app.engine.client.has_key
        # Escape: nothing changes.
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert not app.engine.client.has_key and keyring.passwords == {}


async def test_demo_mode_checks_against_the_sandbox_and_stores_nothing(make_app, sandbox):
    app = make_app(api_key=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.ready)
        await pilot.press("f3")
        screen = await login_screen(app)
        where = screen.query_one("#login-where", Static)
        await wait_until(lambda: "demo: not stored" in str(where.content))
        await paste_key(app, pilot, DEMO_API_KEY)
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        assert app.engine.client.api_key == DEMO_API_KEY
        status = app.screen.query_one("#history-status", Static)
        await wait_until(lambda: "rentals" in str(status.content), what="history loaded")


async def test_history_without_a_key_and_cancel(make_app, sandbox):
    app = make_app(api_key=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.ready)
        await pilot.press("f3")
        screen = await login_screen(app)
        assert "see the history" in str(screen.query_one("#login-reason", Static).content)
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen))
        status = app.screen.query_one("#history-status", Static)
        assert "needs an API key" in str(status.content)


async def test_a_key_refused_while_polling_opens_the_login_once(make_app, sandbox, account):
    keyring = MemoryKeyring()
    app = make_app(api_key=KEY, options=options(storage_on(keyring)))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rented")

        sandbox.revoke_key(KEY)
        screen = await login_screen(app)
        assert str(screen.query_one("#login-reason", Static).content) == REFUSED_WHILE_POLLING
        assert app.engine.poller.paused
        app.post_message(engine_events.AuthLost("refused again"))  # no second screen stacks
        await pilot.pause()
        assert sum(isinstance(s, LoginScreen) for s in app.screen_stack) == 1

        sandbox.add_account(OTHER_KEY, Decimal("10.00"))
        await paste_key(app, pilot, OTHER_KEY)
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="back")
        assert not app.engine.poller.paused  # polling resumed with the new key
        assert app.engine.client.api_key == OTHER_KEY
        assert keyring.passwords == {(SERVICE, "default"): OTHER_KEY}


async def test_log_out_removes_the_key_after_asking(make_app, sandbox, account):
    keyring = MemoryKeyring()
    keyring.passwords[(SERVICE, "work")] = KEY
    app = make_app(api_key=KEY, options=options(storage_on(keyring, "work"), profile="work"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.status().balance is not None, what="balance")
        app.action_logout()
        await wait_until(lambda: isinstance(app.screen, LogoutScreen))
        await pilot.press("n")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert keyring.passwords and app.engine.client.has_key

        app.action_logout()
        await wait_until(lambda: isinstance(app.screen, LogoutScreen))
        await pilot.press("y")
        await wait_until(lambda: not app.engine.client.has_key, what="logged out")
        await wait_until(lambda: not app.engine.status().has_key)
        assert keyring.passwords == {}
        assert app.engine.status().balance is None
        balance = app.screen.query_one("#topbar-balance", Static)
        await wait_until(lambda: str(balance.content) == "no API key")

        # Logging in again works (F6), for the same profile.
        await pilot.press("f6")
        screen = await login_screen(app)
        assert "profile 'work'" in str(screen.query_one(".dialog-title", Static).content)
        await paste_key(app, pilot, KEY)
        await wait_until(lambda: app.engine.client.api_key == KEY, what="logged in again")
        assert keyring.passwords == {(SERVICE, "work"): KEY}


async def test_palette_has_log_in_and_log_out(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Log in / change key" in titles and "Log out" in titles


async def test_insecure_transport_warning_stays_in_the_top_bar(make_app):
    warning = "INSECURE: the API key is sent unencrypted over plain HTTP to example.com"
    app = make_app(options=options(insecure_transport=warning))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        segment = app.screen.query_one("#topbar-insecure", Static)
        assert segment.display and "unencrypted" in str(segment.content)
        assert segment.tooltip == warning
        await pilot.press("f3")  # on every screen
        await wait_until(lambda: isinstance(app.screen, HistoryScreen))
        assert app.screen.query_one("#topbar-insecure", Static).display


async def test_no_warning_segment_over_https_or_loopback(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)):
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        assert not app.screen.query_one("#topbar-insecure", Static).display


async def test_a_malformed_key_is_refused_before_anything_is_sent(make_app, sandbox):
    app = make_app(api_key=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(lambda: app.engine.ready)
        await pilot.press("f4")
        screen = await login_screen(app)
        sandbox.clear_request_log()
        await paste_key(app, pilot, "rn_has a space")
        await wait_until(lambda: "not an API key" in message(screen))
        assert [r for r in sandbox.request_log if r.path.endswith("/balance")] == []
        assert os.environ.get("RENTNUMBER_API_KEY") is None


async def test_a_refused_key_stays_said_after_the_login_is_closed(make_app, sandbox, account):
    """Esc on the login that a 401 opened: the top bar and every waiting rental say that
    following is paused, until a key is accepted."""
    keyring = MemoryKeyring()
    app = make_app(api_key=KEY, options=options(storage_on(keyring)))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_prices(app, pilot)
        dialog = await open_confirmation(app, pilot)
        await wait_until(lambda: dialog.balance is not None)
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="rented")
        sandbox.revoke_key(KEY)
        await login_screen(app)
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, RentalsScreen), what="back")
        screen = app.screen
        connection = screen.query_one("#topbar-connection", Static)
        await wait_until(lambda: "key refused" in str(connection.content), what="top bar")
        listing = screen.query_one("#rentals-list")
        await wait_until(
            lambda: "key refused" in str(listing.get_option_at_index(0).prompt), what="row"
        )
        problem = screen.query_one("#detail-problem", Static)
        assert "paused — key refused; F6 to log in" in str(problem.content)
        await pilot.press("escape")  # the rentals bar on the screens below says it too
        bar = app.screen.query_one("#rentals-bar", Static)
        await wait_until(lambda: "paused — key refused" in str(bar.content), what="the bar")
        # A key accepted: the state goes.
        sandbox.restore_key(KEY)
        await app.engine.use_key(KEY)
        await wait_until(lambda: "key refused" not in str(bar.content), what="cleared")
