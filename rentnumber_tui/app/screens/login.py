"""Logging in (paste a key; it is checked with the server before it is saved) and out.

The key is secret: the input is masked, only `mask_key(key)` (``rn_…c4f2``) is ever
shown, and every text built here is plain `Content` (never markup). Saving goes to the
`KeyStorage` the launcher gave the App — the keyring, or, only after the user says yes,
a file readable only by them — on a worker thread, since keyring calls block.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from rentnumber_tui.api.errors import ApiError, Unauthorized
from rentnumber_tui.api.models import Balance
from rentnumber_tui.app.node import AppNode
from rentnumber_tui.app.options import ConsentNeeded, KeyStorage, KeyStorageError, StorageInfo
from rentnumber_tui.app.widgets.steady_input import SteadyInput
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.masking import SecretKey, key_problem, mask_key, redact
from rentnumber_tui.user_error import message_of

#: Why the login screen opened, when an action needed a key.
NEEDED_FOR = "An API key is needed to {purpose}."
#: Why it opened when polling got a 401.
REFUSED_WHILE_POLLING = (
    "The server refused the key (401): it may have been revoked. Following your rentals "
    "is paused until a valid key is set."
)
REFUSED = "The server refused this key; nothing was saved."

State = Literal["input", "checking", "consent", "storing", "applying"]


class LoginScreen(AppNode, ModalScreen[bool]):
    """Paste a key → `GET /balance` with it → save it → use it. Dismissed with True once
    the app uses the new key, False when cancelled (nothing saved, nothing changed)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="login-cancel", tooltip="Close; nothing is saved"),
        Binding(
            "y",
            "store_in_file",
            "Keep in file",
            id="login-store-file",
            tooltip="Without a keyring: keep the key in a file readable only by you",
        ),
        Binding(
            "n,s",
            "session_only",
            "This session only",
            id="login-session-only",
            tooltip="Without a keyring: use the key until you quit, store nothing",
        ),
    ]

    def __init__(
        self,
        *,
        profile: str = "default",
        storage: KeyStorage | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.profile = profile
        self.storage = storage
        self.reason = reason
        self.state: State = "input"
        self.storage_info: StorageInfo | None = None
        self._key: SecretKey | None = None
        self._balance: Balance | None = None
        #: Where the key went, once it is stored (or why it was not).
        self.stored_in: str | None = None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="login"):
            yield Static(
                Content(f"Log in — profile '{safe_text(self.profile, max_length=64)}'"),
                classes="dialog-title",
            )
            yield Static(Content(self.reason or ""), id="login-reason")
            yield Static(
                Content("Paste your API key (RentNumber › API Key); it is checked first."),
                id="login-intro",
            )
            yield SteadyInput(placeholder="rn_…", password=True, id="login-key")
            yield Static(Content("Stored in: checking…"), id="login-where")
            yield Static(id="login-message", classes="dialog-message")
            with Horizontal(id="login-consent"):
                yield Button(
                    "Keep it in the file (y)", id="login-yes", variant="primary", compact=True
                )
                yield Button("This session only (n)", id="login-no", compact=True)
            yield Static(
                Content("Enter: check and save · Esc: cancel"),
                id="login-hint",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#login-reason", Static).display = bool(self.reason)
        self.query_one("#login-consent").display = False
        self.query_one("#login-key", Input).focus()
        self.describe_storage()

    @work(exclusive=True, group="login-describe", exit_on_error=False)
    async def describe_storage(self) -> None:
        """Where the key would go: asks the keyring (slow, may block) on a thread."""
        where = self.query_one("#login-where", Static)
        if self.storage is None:
            self._show_where(Content("Stored in: nowhere (demo: not stored)"))
            return
        try:
            info = await asyncio.to_thread(self.storage.describe)
        except Exception as error:  # a misbehaving keyring must not break the screen
            where.update(Content(f"Stored in: unknown ({message_of(error)})"))
            return
        self.storage_info = info
        text: Content
        if info.needs_consent:
            text = Content.assemble(
                ("No usable keyring", "bold $warning"),
                f": {info.reason or 'unknown reason'}. After the check: keep the key in "
                f"{info.path} (only you can read it), or use it for this session only.",
            )
        else:
            text = Content(f"Stored in: {info.where}")
        if info.note:
            text = Content.assemble(text, "\n", (info.note, "$text-muted"))
        self._show_where(text)

    def _show_where(self, text: Content) -> None:
        self.query_one("#login-where", Static).update(text)

    def _say(self, text: str, *, style: str = "bold") -> None:
        self.query_one("#login-message", Static).update(Content.assemble((text, style)))

    def _hint(self, text: str) -> None:
        self.query_one("#login-hint", Static).update(Content(text))

    def _set_state(self, state: State) -> None:
        self.state = state
        box = self.query_one("#login-key", Input)
        box.disabled = state != "input"
        # Once the key is checked the form makes way for the question (80×24 must fit).
        form = state in ("input", "checking")
        for widget in (box, self.query_one("#login-intro"), self.query_one("#login-where")):
            widget.display = form
        consent = self.query_one("#login-consent")
        consent.display = state == "consent"
        if state == "input":
            box.focus()
            self._hint("Enter: check and save · Esc: cancel")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("store_in_file", "session_only"):
            return self.state == "consent"
        if action == "cancel":
            return self.state in ("input", "checking", "consent")
        return True

    # -- checking ------------------------------------------------------------------------

    @on(Input.Submitted, "#login-key")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.state != "input":
            return
        text = event.value.strip()
        problem = key_problem(text)
        if problem is not None:
            self._say(problem, style="bold $error")
            return
        self._key = SecretKey(text)
        self._set_state("checking")
        self._say(f"Checking {mask_key(self._key)} with the server…")
        self._hint("Esc: cancel")
        self.check()

    @work(exclusive=True, group="login-check", exit_on_error=False)
    async def check(self) -> None:
        key = self._key
        assert key is not None
        engine = self.app.engine
        try:
            balance = await engine.verify_key(key)
        except Unauthorized:
            self._refused(REFUSED)
            return
        except ApiError as error:
            text = safe_text(redact(error.message, [key]), max_length=400)
            self._refused(f"{text} Nothing was saved.")
            return
        self._balance = balance
        self._say(f"The key {mask_key(key)} works ({self._money()}).")
        if self.storage is None:
            self.stored_in = "demo: not stored"
            self.apply_key()
        else:
            self.store(allow_file=False)

    def _refused(self, text: str) -> None:
        self._key = None
        self.query_one("#login-key", Input).clear()
        self._set_state("input")
        self._say(text, style="bold $error")

    # -- storing -------------------------------------------------------------------------

    @work(exclusive=True, group="login-store", exit_on_error=False)
    async def store(self, allow_file: bool) -> None:
        key, storage = self._key, self.storage
        assert key is not None and storage is not None
        self._set_state("storing")
        try:
            where = await asyncio.to_thread(storage.save, key, allow_file=allow_file)
        except ConsentNeeded as need:
            self._ask_consent(need)
            return
        except KeyStorageError as error:
            self._storing_failed(error.message)
            return
        except Exception as error:  # never let a keyring bug lose the verified key
            self._storing_failed(f"Could not store the key ({type(error).__name__}).")
            return
        self.stored_in = f"saved in {where}"
        self.apply_key()

    def _money(self) -> str:
        balance = self._balance
        if balance is None:
            return "balance unknown"
        return f"balance {format_money(balance.amount, balance.currency)}"

    def _ask_consent(self, need: ConsentNeeded) -> None:
        self._set_state("consent")
        self.query_one("#login-yes", Button).display = True
        assert self._key is not None
        self.query_one("#login-message", Static).update(
            Content.assemble(
                f"The key {mask_key(self._key)} works ({self._money()}).\n",
                ("No usable keyring", "bold $warning"),
                f": {need.reason or 'unknown reason'}.\n",
                (f"Store it in {need.path}, readable only by you? [y/N]", "bold"),
            )
        )
        self._hint(
            "y: keep it in the file · n: use it for this session only (not stored) · "
            "Esc: cancel (nothing saved)"
        )
        self.query_one("#login-no", Button).focus()

    def _storing_failed(self, message: str) -> None:
        self._set_state("consent")
        self.query_one("#login-yes", Button).display = False
        self._say(
            f"{message} The key works ({self._money()}) but was not saved: n uses it for "
            "this session only.",
            style="bold $error",
        )
        self._hint("n: use it for this session only · Esc: cancel")
        self.query_one("#login-no", Button).focus()

    def action_store_in_file(self) -> None:
        if self.state == "consent" and self.query_one("#login-yes", Button).display:
            self._say("Writing the key file…")
            self.store(allow_file=True)

    def action_session_only(self) -> None:
        if self.state == "consent":
            self.stored_in = "not stored: used until you quit"
            self.apply_key()

    @on(Button.Pressed, "#login-yes")
    def _yes(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_store_in_file()

    @on(Button.Pressed, "#login-no")
    def _no(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_session_only()

    # -- using it ------------------------------------------------------------------------

    @work(exclusive=True, group="login-apply", exit_on_error=False)
    async def apply_key(self) -> None:
        key, balance = self._key, self._balance
        assert key is not None
        self._set_state("applying")
        await self.app.engine.use_key(key, balance)
        self.app.notify(
            f"Logged in with {mask_key(key)} (profile '{self.profile}'); {self.stored_in}.",
            title="API key",
            timeout=10,
            markup=False,
        )
        self._key = None
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "login-check")
        self._key = None
        self.dismiss(False)


class LogoutScreen(AppNode, ModalScreen[bool]):
    """Asks before the stored key is removed."""

    BINDINGS = [
        Binding("enter,y", "confirm", "Log out", id="confirm-logout", tooltip="Log out"),
        Binding("escape,n", "close", "Stay", id="keep-key", tooltip="Keep the key"),
    ]

    def __init__(self, profile: str, stored: bool) -> None:
        super().__init__(classes="dialog-screen")
        self.profile = profile
        self.stored = stored

    def compose(self) -> ComposeResult:
        where = (
            "The saved key is removed from this computer (keyring and key file)."
            if self.stored
            else "The key is forgotten for this session (demo: nothing is stored)."
        )
        with Vertical(classes="dialog", id="logout"):
            yield Static(
                Content(f"Log out of profile '{safe_text(self.profile, max_length=64)}'?"),
                classes="dialog-title",
            )
            yield Static(
                Content(
                    f"{where} Rentals keep running on the server; they are followed again "
                    "after you log in."
                )
            )
            yield Static(
                Content("Enter or y: log out · Esc or n: stay logged in"), classes="dialog-hint"
            )

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
