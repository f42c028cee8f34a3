"""How the login screen looks at 80×24 (the smallest size the app promises): asking for
the key, and asking before the key goes to a file when there is no keyring."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from rentnumber_tui.app.options import AppOptions, ConsentNeeded, StorageInfo
from rentnumber_tui.app.screens.login import LoginScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.app.helpers import still_cursors
from tests.core.waiting import wait_until

SIZE = (80, 24)
PATH = "/home/you/.config/rentnumber-tui/keys/default.key"
REASON = (
    "no system keyring was found (no Secret Service, KWallet, macOS Keychain or Windows "
    "Credential Locker), as is usual on a server reached over SSH"
)


class HeadlessStorage:
    """A server without a keyring, with a fixed path (snapshots must not show tmp dirs)."""

    def describe(self) -> StorageInfo:
        return StorageInfo(where="", needs_consent=True, path=PATH, reason=REASON)

    def save(self, key: str, *, allow_file: bool = False) -> str:
        if not allow_file:
            raise ConsentNeeded("needs consent", PATH, REASON)
        return PATH

    def delete(self) -> str:
        return "nothing"


def snapshot(snap_compare, make_app, run_before) -> bool:
    app = make_app(
        api_key=None,
        frozen_budget=True,
        options=AppOptions(demo=True, key_storage=HeadlessStorage()),
    )

    async def before(pilot) -> None:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen))
        listing = app.screen.query_one(FilterList)
        await wait_until(lambda: listing.shown and app.engine.ready)
        await pilot.press("f4")
        await wait_until(lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        await run_before(app, pilot)
        still_cursors(app)
        await pilot.pause()

    return snap_compare(app, terminal_size=SIZE, run_before=before)


def test_login_asks_for_the_key(snap_compare, make_app):
    async def run(app, pilot):
        where = app.screen.query_one("#login-where")
        await wait_until(lambda: "No usable keyring" in str(where.content))
        box = app.screen.query_one("#login-key", Input)
        box.post_message(events.Paste("rn_wrong_key_0123456789"))
        await wait_until(lambda: box.value)

    assert snapshot(snap_compare, make_app, run)


def test_login_asks_before_storing_in_a_file(snap_compare, make_app):
    async def run(app, pilot):
        screen = app.screen
        box = screen.query_one("#login-key", Input)
        await wait_until(lambda: screen.storage_info is not None)
        box.post_message(events.Paste(DEMO_API_KEY))
        await wait_until(lambda: box.value)
        await pilot.press("enter")
        await wait_until(lambda: screen.state == "consent")

    assert snapshot(snap_compare, make_app, run)
