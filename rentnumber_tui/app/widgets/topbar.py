"""The bar at the top of every screen: where you are, balance, connection, request budget,
and — only with `--allow-insecure-http` to another machine — a red warning that stays."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from rentnumber_tui.app import events
from rentnumber_tui.app.node import AppNode, every_second_in_sight
from rentnumber_tui.app.widgets.repaint import update_static
from rentnumber_tui.core import events as core
from rentnumber_tui.core.engine import AccountStatus
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.text import safe_text

_CONNECTION = {
    "online": ("● online", "connection--online"),
    "retrying": ("◐ retrying", "connection--retrying"),
    "offline": ("○ offline", "connection--offline"),
}


class TopBar(AppNode, Horizontal):
    """Follows the engine's account events; reads the request budget once a second
    (a cheap read of two integers)."""

    def __init__(self, title: str) -> None:
        super().__init__(id="topbar")
        self._title = title
        #: The widest budget text shown: shorter ones are padded to it, so a queue that
        #: goes from 13 to 7 and back changes cells, not the bar's layout.
        self._budget_cells = 0

    def compose(self) -> ComposeResult:
        # Kept as attributes, not queried: a bar being torn down mid-mount has no
        # children to find, and the signal callbacks may still arrive.
        self._insecure = Static(Content("⚠ key sent unencrypted"), id="topbar-insecure")
        self._balance = Static(id="topbar-balance")
        self._connection = Static(id="topbar-connection")
        self._budget = Static(id="topbar-budget")
        yield Static(Content(self._title), id="topbar-title")
        if self.app.options.demo:
            # Never mistaken for the real account: no real money moves here.
            yield Static(Content("DEMO"), id="topbar-demo")
        yield self._insecure
        yield self._balance
        yield self._connection
        yield self._budget

    def on_mount(self) -> None:
        app = self.app
        # --allow-insecure-http to a remote host: a warning that never goes away.
        insecure = app.options.insecure_transport
        self._insecure.display = bool(insecure)
        self._insecure.tooltip = Content(safe_text(insecure)) if insecure else None
        self.follow_engine(
            core.BalanceChanged,
            core.HealthChanged,
            core.KeyChanged,
            core.EngineReady,
            core.AuthLost,
        )
        self._show_status(app.engine.status())
        self._show_budget()
        every_second_in_sight(self, self._show_budget)

    def on_engine_balance_changed(self, message: events.BalanceChanged) -> None:
        self._show_status(self.app.engine.status())

    def on_engine_health_changed(self, message: events.HealthChanged) -> None:
        self._show_status(self.app.engine.status())
        self._show_budget()  # a 429's pause shows at once, not at the next tick

    def on_engine_key_changed(self, message: events.KeyChanged) -> None:
        self._show_status(self.app.engine.status())

    def on_engine_ready(self, message: events.Ready) -> None:
        self._show_status(self.app.engine.status())

    def on_engine_auth_lost(self, message: events.AuthLost) -> None:
        self._show_status(self.app.engine.status())

    def _show_status(self, status: AccountStatus) -> None:
        if status.balance is not None:
            amount = format_money(status.balance.amount, status.balance.currency)
            update_static(self._balance, Content(amount))
        else:
            update_static(self._balance, Content("balance —" if status.has_key else "no API key"))
        text, css_class = _CONNECTION.get(status.connection, _CONNECTION["offline"])
        if status.key_refused:
            # A state, not a passing toast: it stays until a key is accepted.
            text, css_class = "✕ key refused · F6", "connection--offline"
        connection = self._connection
        update_static(connection, Content(text))
        for name in ("connection--online", "connection--retrying", "connection--offline"):
            connection.set_class(name == css_class, name)
        # The last error's words come from the server: literal text, never markup.
        message = status.connection_message
        connection.tooltip = Content(safe_text(message, max_length=300)) if message else None

    def _show_budget(self) -> None:
        engine = self.app.engine
        in_window, waiting, ceiling = engine.request_stats()
        throttled = engine.status().throttled_for
        if throttled >= 1:
            # The server asked to slow down (429): say so, and for how long.
            text = f"⏸ throttled {throttled:.0f} s"
        else:
            text = f"⇅ {in_window}/{ceiling:g}/s"
        if waiting:
            text += f" +{waiting} queued"
        cells = cell_len(text)
        self._budget_cells = max(self._budget_cells, cells)
        text += " " * (self._budget_cells - cells)
        update_static(self._budget, Content(text))  # once a second: only when it changed
