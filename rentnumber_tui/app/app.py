"""The Textual App: owns the screens, hears the engine, and tells the person."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual import events as textual_events
from textual import work
from textual._styles_cache import StylesCache
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.theme import Theme

from rentnumber_tui.api.errors import ApiError, Unauthorized
from rentnumber_tui.api.models import Country, Offer, Service
from rentnumber_tui.app import events, terminal, theming
from rentnumber_tui.app.commands import ScreenActions
from rentnumber_tui.app.driver import driver_for
from rentnumber_tui.app.key_hold import KeyHandled, KeyHold, ScreenReady
from rentnumber_tui.app.options import AppOptions, KeyStorageError
from rentnumber_tui.app.second_clock import SecondClock
from rentnumber_tui.app.workers import ReportsWorkerFailures
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.picks import Pick
from rentnumber_tui.core.rent_again import NothingToRentAgain
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.store import StoreError
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.user_error import UserFacingError, message_of

#: Seconds before loading the catalog again after it failed.
CATALOG_RETRY = 10.0
#: Seconds between two balance refreshes nobody asked for.
BALANCE_EVERY = 120.0
#: An action that needs the engine, asked for while it starts, waits for it; after this
#: many seconds of waiting the person is told why nothing has happened yet.
READY_PATIENCE = 1.0
#: How often the app checks that its terminal is still there.
TERMINAL_CHECK = 2.0
_TERMINAL_FD = 0


def write_crash_report(directory: Path | None, error: BaseException) -> Path | None:
    """Write `error`'s traceback (no locals: they could hold anything) to a new file in
    `directory`, with every key this process knows masked; None when it cannot."""
    if directory is None:
        return None
    import datetime as _datetime
    import os
    import traceback

    from rentnumber_tui.masking import redact

    text = redact("".join(traceback.format_exception(error)))
    stamp = _datetime.datetime.now(_datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / f"crash-{stamp}-{os.getpid()}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"rentnumber-tui crashed at {stamp}\n\n{text}")
    except OSError:
        return None
    return path


def _terminal_alive(fd: int) -> bool:
    """A terminal whose other side has closed answers every query with EIO."""
    try:
        import termios
    except ImportError:  # no termios (Windows): nothing to check
        return True
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):
        return False
    return True


def stylesheet() -> Path:
    """`styles.tcss` inside the installed package, or at the root of a checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "styles.tcss"
    return installed if installed.exists() else package.parent / "styles.tcss"


class RentNumberApp(ReportsWorkerFailures, App[None]):
    CSS_PATH = stylesheet()
    COMMANDS = App.COMMANDS | {ScreenActions}
    #: Classes on every screen by terminal size: styles.tcss compacts what must fit
    #: (60×20 stays usable).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-normal")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-tall")]
    TITLE = "rentnumber-tui"
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="Show every key"),
        Binding(
            "f2", "rentals", "Rentals", id="rentals", tooltip="Live rentals: codes, copy, cancel"
        ),
        Binding(
            "f3", "history", "History", id="history", tooltip="The account's rentals, newest first"
        ),
        Binding(
            "f4",
            "balance",
            "Balance",
            id="balance",
            tooltip="Ask the server for the wallet balance",
        ),
        Binding(
            "ctrl+s",
            "home",
            "Services",
            id="home",
            tooltip="Straight back to the service list",
        ),
        Binding(
            "f6",
            "login",
            "Key",
            id="login",
            show=False,
            tooltip="Log in or change the API key",
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="quit",
            priority=True,
            tooltip="Quit (rentals keep running on the server)",
        ),
    ]

    def __init__(self, engine: Engine, options: AppOptions | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.options = options or AppOptions()
        self.catalog_error: str | None = None
        self._theme_problem: str | None = None
        self._relay: events.EngineRelay | None = None
        self.sent_to_terminal = deque(maxlen=50)
        #: Each rental's last status seen, to tell the moment one expires.
        self._statuses: dict[int, str] = {}
        #: Actions asked for before the engine was ready, and the screen each was asked on.
        self._when_ready: list[tuple[Screen[object], Callable[[], object]]] = []
        if self.options.theme:
            if self.options.theme in self.available_themes:
                self.theme = self.options.theme
            else:
                self._theme_problem = (
                    f"The theme {safe_text(self.options.theme, max_length=64)!r} from the "
                    "settings does not exist; using the default."
                )
        self._saved_theme = self.theme
        #: Keys typed while a screen opens, kept for it (`key_hold.py`).
        self.key_hold = KeyHold(self)
        #: What moves by the second, ticked together (`node.every_second_in_sight`).
        self.second_clock = SecondClock()

    # -- start and stop ------------------------------------------------------------------

    @property
    def _background_screens(self) -> list[Screen[Any]]:
        """Textual treats the screen just beneath the one in front as visible, for a
        translucent screen on top (a dialog) to show it: so everything that changed
        there — its top bar following the balance — repainted the whole screen in
        front. Beneath an opaque screen nothing shows: it catches up when it returns
        (Textual refreshes a screen as it resumes)."""
        stack = self._screen_stack
        if stack and stack[-1].styles.background.a == 1:
            return []
        return super()._background_screens

    def _end_batch(self) -> None:
        super()._end_batch()
        if not self._batch_count and self._screen_stack:
            self.screen.check_idle()  # draw the frame held back in the batch (AppScreen)

    def get_default_screen(self) -> Screen[Any]:
        """The service list is the first screen itself, not one pushed over Textual's
        blank default: that one was mounted, styled, resumed and laid out for nothing
        first (~20 ms of CPU before the first frame, a fifth of what the app spends
        between starting to run and drawing it)."""
        from rentnumber_tui.app.screens.services import ServicesScreen

        return ServicesScreen()

    def get_driver_class(self) -> type[Driver]:
        return driver_for(super().get_driver_class())

    def on_mount(self) -> None:
        engine = self.engine
        # Subscribe before starting, so not even the first event is missed. The engine
        # thread (httpx, the sandbox in demo mode) starts once the first frame is painted
        # from the cache, so the two do not compete for the interpreter — unless nothing
        # is cached (a first start): then the list waits for the engine's answer anyway,
        # and the engine starts now (the services come ~30-60 ms sooner).
        self._relay = events.EngineRelay(self, engine.subscribe)
        if engine.services_known is None:
            engine.start(wait=False)
        self.call_after_refresh(self._after_first_frame)
        self.screen_change_signal.subscribe(self, self._screen_changed, immediate=True)
        if self.options.keymap:
            self.set_keymap(dict(self.options.keymap))  # `[keymap]`, ids checked by the launcher
        # Keys typed while the first screen opens wait for it, as for every screen.
        self.key_hold.opening(self.screen)
        for warning in self.options.warnings:
            self.notify(warning, title="Warning", severity="warning", timeout=15, markup=False)
        if self._theme_problem:
            self.notify(self._theme_problem, title="Settings", severity="warning", markup=False)
        if not self.is_headless:
            self.fit_theme_to_terminal(self.console.color_system)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        if not self.is_headless and _terminal_alive(_TERMINAL_FD):
            self.set_interval(TERMINAL_CHECK, self._check_terminal)
        self.set_interval(BALANCE_EVERY, self._balance_tick)
        self.set_interval(1.0, self.second_clock.tick)

    # -- keys while screens open ---------------------------------------------------------

    async def on_event(self, event: textual_events.Event) -> None:
        if not isinstance(event, textual_events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        if self.key_hold.hold(event):
            return
        target = self.focused or (self.screen if self.screen_stack else self)
        await super().on_event(event)
        self.key_hold.sent(event, target)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        # Textual caches `StylesCache.get_inner_outer` with `lru_cache` on the method, so
        # its keys hold every widget's render cache (1,024 of them, with their rendered
        # lines): closed screens' widgets stayed in memory (Textualize/textual#6665).
        # Emptied at each change of screen; it refills at once with what is shown.
        StylesCache.get_inner_outer.cache_clear()
        if self.screen_stack and screen is self.screen:
            self.key_hold.opening(screen)

    def on_key_hold_screen_ready(self, message: ScreenReady) -> None:
        self.key_hold.ready(message.screen)

    def on_key_hold_key_handled(self, message: KeyHandled) -> None:
        self.key_hold.handled()

    def _check_terminal(self) -> None:
        """The terminal went away without a hang-up signal (its pty closed, the process
        was not its session's leader): Textual's input thread would then spin on
        end-of-file for ever. Leave as a hang-up would, engine and store closed."""
        if not _terminal_alive(_TERMINAL_FD):
            self.exit(return_code=129)

    def _after_first_frame(self) -> None:
        # The first frame is out. If the launcher held garbage collection off for the
        # start, freeze what start-up built (later collections skip it: shorter pauses)
        # and turn collection back on. Then start the engine.
        if not gc.isenabled():
            gc.freeze()
            gc.enable()
        self.engine.start(wait=False)

    def on_unmount(self) -> None:
        if self._relay is not None:
            self._relay.close()
        if self._title is not None:
            self.to_terminal(terminal.POP_TITLE)
        self.engine.stop()

    #: The crash report written, if the app crashed (the launcher says where it is).
    crash_report: Path | None = None

    def _handle_exception(self, error: Exception) -> None:
        """A crash: keep a report (the traceback without local variables, every key
        masked) before Textual exits with status 1 and prints its own."""
        self.crash_report = write_crash_report(self.options.crash_dir, error)
        super()._handle_exception(error)

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables with every text colour readable on the backgrounds it
        is drawn on (`theming.readable_variables`): CSS and the styles in `Content`
        (`$success`, `$accent`) both read them."""
        variables = theming.readable_variables(
            super().get_css_variables(), dark=self.current_theme.dark
        )
        self.theme_variables = variables
        return variables

    def fit_theme_to_terminal(self, color_system: str | None) -> None:
        """In a terminal of 16 colours, the ANSI theme of the same lightness: the hex
        colours of the others, rounded to 16, turn the accent bright red everywhere.
        Not written to the settings; a theme picked from the palette still applies."""
        fitted = theming.theme_for_terminal(self.current_theme, color_system)
        if fitted != self.theme:
            self.theme = fitted
            self._saved_theme = fitted

    def _remember_theme(self, theme: Theme) -> None:
        """The user picked a theme (command palette): write it to the settings file."""
        if self.options.save_theme is not None and theme.name != self._saved_theme:
            self._saved_theme = theme.name
            self.save_theme(theme.name)

    @work(exclusive=True, group="save-theme", exit_on_error=False)
    async def save_theme(self, name: str) -> None:
        """Writes the settings file on a thread (never on the UI thread)."""
        assert self.options.save_theme is not None
        try:
            await asyncio.to_thread(self.options.save_theme, name)
        except Exception as error:
            self.notify(
                message_of(error),
                title="Could not remember the theme",
                severity="warning",
                markup=False,
            )

    # -- the engine's events ---------------------------------------------------------------

    def on_engine_ready(self, message: events.Ready) -> None:
        for warning in self.options.late_warnings:
            self.notify(warning, title="API key", severity="warning", timeout=15, markup=False)
        self.load_catalog()
        self._show_title()
        if self.engine.status().has_key:
            self.refresh_balance(quiet=True)
        waiting, self._when_ready = self._when_ready, []
        for screen, action in waiting:
            if screen is self.screen:
                action()

    def on_engine_rental_changed(self, message: events.RentalChanged) -> None:
        rental = message.rental
        if message.new_code and rental.code:
            self._announce_code(rental)
        was = self._statuses.get(rental.rental_id)
        self._statuses[rental.rental_id] = rental.status.value
        if rental.status.value == "expired" and was is not None and was != "expired":
            self._announce_expiry(rental)
        self._show_title()

    def _announce_expiry(self, rental: TrackedRental) -> None:
        """Expiry gives the money back: said, so the balance going up is no mystery."""
        service = safe_text(rental.labels.service or "A rental", max_length=30)
        phone = safe_text(rental.phone, max_length=24)
        returned = "" if rental.has_sms else f"; {format_money(rental.cost)} returned"
        self.notify(
            f"{service} {phone} expired{' with no SMS' if not rental.has_sms else ''}{returned}.",
            title="Rental expired",
            timeout=10,
            markup=False,
        )

    def on_engine_rental_replaced(self, message: events.RentalReplaced) -> None:
        self.notify(
            safe_text(message.text, max_length=400), title="Auto-replace", timeout=15, markup=False
        )

    def on_engine_health_changed(self, message: events.HealthChanged) -> None:
        if message.state == "online" and self._was_offline:
            self._back_online()
        self._was_offline = message.state != "online"

    _was_offline = False

    def on_engine_auth_lost(self, message: events.AuthLost) -> None:
        """Polling got a 401 (or there is no key for followed rentals): ask for a key."""
        from rentnumber_tui.app.screens.login import NEEDED_FOR, REFUSED_WHILE_POLLING

        if self.engine.status().has_key:
            reason = REFUSED_WHILE_POLLING
        else:
            reason = NEEDED_FOR.format(purpose="follow your rentals") + (
                " Following them is paused until a key is set."
            )
        self.open_login(reason)

    def on_engine_purchase_update(self, message: events.PurchaseUpdate) -> None:
        update = message.update
        if update.final:
            self.notify(update.message, title="Earlier rent checked", timeout=20, markup=False)

    def on_engine_rows_skipped(self, message: events.RowsSkipped) -> None:
        self.notify(message.text, title="Server answer", severity="warning", markup=False)

    def on_engine_store_failed(self, message: events.StoreFailed) -> None:
        self.notify(message.text, title="Local store", severity="error", timeout=20, markup=False)

    def _back_online(self) -> None:
        """The server answers again: fetch what failed while it did not."""
        if self.catalog_error is not None:
            self.load_catalog()
        asked = any(w.group == "balance" and not w.is_finished for w in self.workers)
        if self.engine.status().has_key and not asked:  # never cancel one a person asked for
            self.refresh_balance(quiet=True)

    def _announce_code(self, rental: TrackedRental) -> None:
        code = safe_text(rental.code or "", max_length=20)
        copied = self.options.auto_copy and self.options.clipboard and bool(code)
        if copied:
            self.copy_to_clipboard(code)  # the moment it arrives, no key needed
        if self.options.bell:
            self.bell()
        service = safe_text(rental.labels.service or "your rental", max_length=30)
        phone = safe_text(rental.phone, max_length=24)
        kind = terminal.desktop_kind(self.options.desktop_notifications, os.environ)
        if kind is not None:
            self.to_terminal(terminal.notification(kind, "Code received", f"{code} · {service}"))
        if self.options.notifications:
            from rentnumber_tui.app.screens.rentals import RentalsScreen

            if copied:
                then = "Copied to the clipboard."
            elif self.screen_stack and isinstance(self.screen, RentalsScreen):  # (not at exit)
                then = "c copies it."  # already on Live rentals: no "F2 shows it"
            else:
                then = "F2 shows it; c copies it there."
            self.notify(
                f"{code}  ·  {service}  ·  {phone}\n{then}",
                title="Code received",
                timeout=15,
                markup=False,
            )

    #: Every sequence the app wrote to the terminal itself (title, notifications), for
    #: tests that check nothing else reached it.
    sent_to_terminal: deque[str]
    _title: str | None = None

    def to_terminal(self, sequence: str) -> None:
        """Write one of `app.terminal`'s sequences (never server text) to the terminal."""
        if self._driver is None:
            return
        self.sent_to_terminal.append(sequence)
        self._driver.write(sequence)

    def copy_to_clipboard(self, text: str) -> None:
        """Textual's OSC 52 copy, remembered among the app's own sequences."""
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        self.sent_to_terminal.append(f"\x1b]52;c;{encoded}\a")
        super().copy_to_clipboard(text)

    def _show_title(self) -> None:
        """The window title says how many rentals wait and the last code, so a code is
        seen from another window or tab; written only when it changes."""
        rentals = self.engine.rentals()
        waiting = sum(1 for r in rentals if r.followed and not r.code)
        coded = [r for r in rentals if r.code and r.code_seen_at is not None]
        parts = ["RentNumber"]
        if waiting:
            parts.append(f"{waiting} waiting")
        if coded:
            newest = max(coded, key=lambda r: r.code_seen_at or datetime.min.replace(tzinfo=UTC))
            parts.append(f"code {newest.code}")
        text = " · ".join(parts)
        if text == self._title:
            return
        if self._title is None:
            self.to_terminal(terminal.PUSH_TITLE)  # the old title returns at the end
        self._title = text
        self.to_terminal(terminal.title(text))

    # -- data the screens share ----------------------------------------------------------

    @property
    def services(self) -> tuple[Service, ...] | None:
        """The engine's services (from the cache at once, then from the server)."""
        return self.engine.services_known

    @property
    def countries(self) -> tuple[Country, ...] | None:
        return self.engine.countries_known

    def flag_for(self, country_id: int) -> str:
        for country in self.countries or ():
            if country.id == country_id:
                return country.flag
        return ""

    @work(exclusive=True, group="catalog", exit_on_error=False)
    async def load_catalog(self) -> None:
        """Show the cache at once (done in on_mount), then refresh from the server."""
        try:
            await self.engine.services()
            await self.engine.countries()
        except ApiError as error:
            self.catalog_error = error.message
            if self.services is None:
                self.notify(
                    f"{error.message} Trying again in {CATALOG_RETRY:g} s.",
                    title="Could not load the services",
                    severity="error",
                    markup=False,
                )
            self.set_timer(CATALOG_RETRY, self.load_catalog)
        else:
            self.catalog_error = None

    @work(exclusive=True, group="balance", exit_on_error=False)
    async def refresh_balance(self, quiet: bool = False) -> None:
        """`quiet`: a refresh nobody asked for (start, back online, the timer). Asked
        for (F4), it says the result either way, so the key is seen to have worked."""
        before = self.engine.status().balance
        try:
            balance = await self.engine.balance()
        except Unauthorized as error:
            # Said even when nobody asked: with no rental to follow, the balance is the
            # only request that would find a revoked key, and "balance —" says nothing.
            self.notify(
                f"{error.message} F6 logs in with another key.",
                title="API key refused",
                severity="error",
                timeout=20,
                markup=False,
            )
            return
        except ApiError as error:
            if not quiet:
                self.notify(error.message, title="Balance", severity="error", markup=False)
            return
        if quiet:
            return
        now = format_money(balance.amount, balance.currency)
        if before is None or before.amount == balance.amount:
            text = f"The balance is {now}."
        else:
            text = f"The balance is {now} (it was {format_money(before.amount, before.currency)})."
        self.notify(text, title="Balance", markup=False)

    def _balance_tick(self) -> None:
        """Money moves elsewhere too (a top-up, a rent on the website): one request every
        `BALANCE_EVERY` seconds keeps the top bar from going stale."""
        status = self.engine.status()
        asked = any(w.group == "balance" and not w.is_finished for w in self.workers)
        if status.has_key and not status.key_refused and not asked and self.engine.ready:
            self.refresh_balance(quiet=True)

    def require_key(
        self,
        purpose: str,
        then: Callable[[], object] | None = None,
        *,
        when_ready: Callable[[], object] | None = None,
    ) -> bool:
        """True when a key is set. Otherwise open the login screen (saying the key is
        needed to `purpose`) and return False; `then` runs once a key is accepted, so
        the action that needed it continues. Before the engine is ready (it has not read
        the key yet) False too: `when_ready` (else `then`) runs once it is, if its
        screen is still the one shown — the key pressed as the list appeared is not
        lost."""
        if self.engine.status().has_key:
            return True
        if not self.engine.ready:
            self._wait_for_engine(purpose, when_ready or then)
            return False
        from rentnumber_tui.app.screens.login import NEEDED_FOR

        self.open_login(NEEDED_FOR.format(purpose=purpose), then=then)
        return False

    def _wait_for_engine(self, purpose: str, action: Callable[[], object] | None) -> None:
        if action is None:
            self.notify("Still connecting; try again in a moment.", title="Starting", markup=False)
            return
        self._when_ready.append((self.screen, action))

        def still_waiting() -> None:
            if not self.engine.ready:
                self.notify(
                    f"Still connecting: ready to {purpose} as soon as it is.",
                    title="Starting",
                    markup=False,
                )

        self.set_timer(READY_PATIENCE, still_waiting)

    def open_login(
        self, reason: str | None = None, then: Callable[[], object] | None = None
    ) -> None:
        """The login screen; only one at a time (a second request is dropped)."""
        from rentnumber_tui.app.screens.login import LoginScreen

        if any(isinstance(screen, LoginScreen) for screen in self.screen_stack):
            return

        def done(ok: bool | None) -> None:
            if ok and then is not None:
                then()

        self.push_screen(
            LoginScreen(
                profile=self.options.profile, storage=self.options.key_storage, reason=reason
            ),
            done,
        )

    def action_login(self) -> None:
        self.open_login()

    async def action_quit(self) -> None:
        """Ctrl+Q: at once when nothing is under way; otherwise asked first, saying
        that rentals keep running on the server (Ctrl+Q again quits)."""
        from rentnumber_tui.app.screens.confirm import ConfirmQuitScreen

        if isinstance(self.screen, ConfirmQuitScreen):  # Ctrl+Q twice: quit
            self.exit()
            return
        engine = self.engine
        waiting = sum(1 for r in engine.rentals() if r.followed and not r.code)
        unsettled = engine.rents_unsettled
        if not waiting and not unsettled:
            self.exit()
            return

        def done(quit: bool | None) -> None:
            if quit:
                self.exit()

        self.push_screen(ConfirmQuitScreen(waiting, unsettled), done)

    def action_logout(self) -> None:
        from rentnumber_tui.app.screens.login import LogoutScreen

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.logout()

        stored = self.options.key_storage is not None
        self.push_screen(LogoutScreen(self.options.profile, stored), done)

    @work(exclusive=True, group="logout", exit_on_error=False)
    async def logout(self) -> None:
        """Remove the stored key (on a thread: the keyring blocks) and stop using it."""
        storage = self.options.key_storage
        text = "Logged out for this session (demo: nothing was stored)."
        severity: SeverityLevel = "information"
        if storage is not None:
            try:
                text = await asyncio.to_thread(storage.delete)
            except KeyStorageError as error:
                text = f"{error.message} The key is no longer used in this session."
                severity = "error"
        await self.engine.use_key(None)
        self.notify(text, title="Logged out", severity=severity, timeout=10, markup=False)

    def copy_code(self, rental: TrackedRental | None) -> None:
        """`c`: the rental's code to the clipboard, as the screen shows it (no escape or
        control character from the server is pasted into a shell)."""
        if rental is None or not rental.code:
            self.notify("This rental has no code yet.", severity="warning", markup=False)
            return
        self.copy_text(safe_text(rental.code), "code")

    def copy_text(self, text: str, what: str) -> None:
        if not self.options.clipboard:
            self.notify(
                f"Copying is turned off in the settings. The {what} is {safe_text(text)}.",
                markup=False,
            )
            return
        self.copy_to_clipboard(text)
        self.notify(f"Copied the {what} {safe_text(text, max_length=40)}.", markup=False)

    # -- renting -------------------------------------------------------------------------

    def rent(
        self,
        offer: Offer,
        service: Service,
        *,
        note: str | None = None,
        after: Callable[[TrackedRental | None], object] | None = None,
    ) -> None:
        """Open the confirmation for `offer` (saying `note`, what changed since last
        time); a rental made opens the live list on it. `after` runs once it closes,
        with the rental made (None: none)."""
        from rentnumber_tui.app.screens.confirm import ConfirmRentScreen

        if any(isinstance(screen, ConfirmRentScreen) for screen in self.screen_stack):
            return  # one confirmation at a time (Enter repeated on the offer)
        # Without a key the login screen opens; once a key is accepted, renting goes on.
        again = lambda: self.rent(offer, service, note=note, after=after)  # noqa: E731
        if not self.require_key("rent a number", then=again):
            return
        locked = self.engine.renting_locked_for(offer, service.name)
        if locked:
            self.notify(locked, title="Cannot rent now", severity="warning", markup=False)
            return

        def done(rental: TrackedRental | None) -> None:
            if rental is not None:
                self.open_rentals(select=rental.rental_id)
                flag = self.flag_for(offer.country_id)
                country = Country(offer.country_id, offer.iso_code, offer.country_name, flag)
                self.remember(service, country)
            if after is not None:
                after(rental)

        dialog = ConfirmRentScreen(offer, service, self.flag_for(offer.country_id), note)
        self.push_screen(dialog, done)

    @work(group="auto-replace", exit_on_error=False)
    async def toggle_auto_replace(self, rental: TrackedRental) -> None:
        """`t`: replace this rental if no SMS comes in time (or no longer)."""
        try:
            on = await self.engine.toggle_auto_replace(rental.rental_id)
        except UserFacingError as error:
            self.notify(safe_text(error.message, max_length=300), severity="warning", markup=False)
            return
        policy = self.engine.replacer.policy
        if on:
            text = (
                f"Auto-replace on: with no SMS {policy.after:g} s after it started, it is "
                f"cancelled (refunded) and another provider's offer rented — "
                f"{policy.attempts} rentals at the most."
            )
        else:
            text = "Auto-replace off for this rental."
        self.notify(text, title="Auto-replace", markup=False)

    @work(group="rent-again", exclusive=True, exit_on_error=False)
    async def rent_again(self, rental: TrackedRental) -> None:
        """`a`: the confirmation for the same service, country and provider — or, when
        that offer is sold out or dearer, the cheapest in stock, saying what changed."""
        if not self.require_key("rent a number", then=lambda: self.rent_again(rental)):
            return
        try:
            choice = await self.engine.rent_again(rental)
        except (NothingToRentAgain, ApiError) as error:
            self.notify(
                safe_text(message_of(error), max_length=400),
                title="Cannot rent it again",
                severity="warning",
                markup=False,
            )
            return
        self.rent(choice.offer, choice.service, note=choice.change)

    # -- navigation ----------------------------------------------------------------------

    def open_countries(self, service: Service) -> None:
        from rentnumber_tui.app.screens.countries import CountriesScreen

        self.push_screen(CountriesScreen(service))

    def open_prices(self, service: Service, country: Country | None) -> None:
        from rentnumber_tui.app.screens.prices import PricesScreen

        self.push_screen(PricesScreen(service, country))
        self.remember(service, country)

    # -- recent choices and favourites -----------------------------------------------

    @work(group="picks", exit_on_error=False)
    async def remember(self, service: Service, country: Country | None) -> None:
        """The pair leads the Recent group next time (a store failure is said once by
        the engine; it costs only the memory)."""
        pick = Pick(
            "recent",
            service.id,
            service.slug,
            service.name,
            datetime.now(UTC),
            country_id=country.id if country else None,
            country_name=country.name if country else "",
            iso_code=country.iso_code if country else "",
            flag=country.flag if country else "",
        )
        with contextlib.suppress(StoreError):
            await self.engine.remember(pick)

    @work(group="picks", exit_on_error=False)
    async def toggle_favourite(self, pick: Pick) -> None:
        """`f`: a favourite, or no longer one; said either way."""
        try:
            now = await self.engine.toggle_favourite(pick)
        except StoreError as error:
            self.notify(safe_text(error.message, max_length=300), severity="error", markup=False)
            return
        what = safe_text(pick.service_name, max_length=40)
        if pick.country_name:
            what += f" · {safe_text(pick.country_name, max_length=30)}"
        if pick.provider_name:
            what += f" · {safe_text(pick.provider_name, max_length=30)}"
        self.notify(
            f"★ {what} is a favourite." if now else f"{what} is no longer a favourite.",
            markup=False,
        )

    def open_rentals(self, select: int | None = None) -> None:
        from rentnumber_tui.app.screens.rentals import RentalsScreen

        made = RentalsScreen(select=select)
        screen = self._go_to(RentalsScreen, lambda: made)
        if screen is not made and isinstance(screen, RentalsScreen) and select is not None:
            screen.select(select)  # one already open: it moves to the rental

    def action_rentals(self) -> None:
        self.open_rentals()

    def action_history(self) -> None:
        from rentnumber_tui.app.screens.history import HistoryScreen

        self._go_to(HistoryScreen, HistoryScreen)

    def _go_to(self, kind: type[Screen[None]], make: Callable[[], Screen[None]]) -> Screen[None]:
        """F2 and F3 switch, they do not stack: back to the screen of that kind if one
        is open (what was above it closes), in place of the other one if that is on top,
        and only otherwise on top of where the person is, so Esc goes back there."""
        from rentnumber_tui.app.screens.history import HistoryScreen
        from rentnumber_tui.app.screens.rentals import RentalsScreen

        top = self.screen
        if isinstance(top, kind):
            return top
        if not isinstance(top, ModalScreen):
            stack = self.screen_stack
            if any(isinstance(screen, kind) for screen in stack):
                while not isinstance(self.screen_stack[-1], kind):
                    self.pop_screen()
                return self.screen_stack[-1]
            if isinstance(top, (RentalsScreen, HistoryScreen)):
                screen = make()
                self.switch_screen(screen)
                return screen
        screen = make()
        self.push_screen(screen)
        return screen

    def action_home(self) -> None:
        """Straight back to the service list, closing every screen above it."""
        from rentnumber_tui.app.screens.services import ServicesScreen

        if isinstance(self.screen, ModalScreen):
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ServicesScreen):
            self.pop_screen()

    def action_balance(self) -> None:
        # After a login the balance is already fresh: nothing to run then.
        if self.require_key("see the balance", when_ready=self.action_balance):
            self.refresh_balance()

    def action_help(self) -> None:
        from rentnumber_tui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Live rentals", "Every active rental, its code and actions (F2)", self.action_rentals
        )
        yield SystemCommand(
            "History", "The account's rentals, newest first (F3)", self.action_history
        )
        yield SystemCommand(
            "Refresh balance", "Ask the server for the wallet balance (F4)", self.action_balance
        )
        yield SystemCommand(
            "Log in / change key",
            f"Check an API key and save it for profile '{self.options.profile}' (F6)",
            self.action_login,
        )
        yield SystemCommand(
            "Log out",
            f"Remove the saved API key of profile '{self.options.profile}'",
            self.action_logout,
        )
        yield SystemCommand("Services", "Back to the service list (Ctrl+S)", self.action_home)
        yield SystemCommand("Help", "Every key, per screen (F1)", self.action_help)
        yield SystemCommand(
            "Reload services", "Fetch services and countries again", self.load_catalog
        )
        yield from super().get_system_commands(screen)
