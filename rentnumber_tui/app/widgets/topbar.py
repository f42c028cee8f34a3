"""The bar at the top of every screen: where you are, balance, connection, request budget,
and — only with `--allow-insecure-http` to another machine — a red warning that stays."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from rentnumber_tui.app.messages import AccountStatus
from rentnumber_tui.core.money import format_money

_CONNECTION = {
    "online": ("● online", "connection--online"),
    "retrying": ("◐ retrying", "connection--retrying"),
    "offline": ("○ offline", "connection--offline"),
}


class TopBar(Horizontal):
    """Subscribes to the App's account signal; polls the request budget twice a second
    (a cheap read of two integers)."""

    def __init__(self, title: str) -> None:
        super().__init__(id="topbar")
        self._title = title

    def compose(self) -> ComposeResult:
        yield Static(Content(self._title), id="topbar-title")
        yield Static(Content("⚠ key sent unencrypted"), id="topbar-insecure")
        yield Static(id="topbar-balance")
        yield Static(id="topbar-connection")
        yield Static(id="topbar-budget")

    def on_mount(self) -> None:
        app = self.app
        # --allow-insecure-http to a remote host: a warning that never goes away.
        insecure = app.options.insecure_transport  # type: ignore[attr-defined]
        warning = self.query_one("#topbar-insecure", Static)
        warning.display = bool(insecure)
        warning.tooltip = insecure
        self._show_status(app.account_status)  # type: ignore[attr-defined]
        app.account_signal.subscribe(self, self._show_status)  # type: ignore[attr-defined]
        self._show_budget()
        self.set_interval(0.5, self._show_budget)

    def _show_status(self, status: AccountStatus) -> None:
        balance = self.query_one("#topbar-balance", Static)
        if status.balance is not None:
            balance.update(Content(format_money(status.balance.amount, status.balance.currency)))
        else:
            balance.update(Content("balance —" if status.has_key else "no API key"))
        text, css_class = _CONNECTION.get(status.connection, _CONNECTION["offline"])
        connection = self.query_one("#topbar-connection", Static)
        connection.update(Content(text))
        for name in ("connection--online", "connection--retrying", "connection--offline"):
            connection.set_class(name == css_class, name)
        connection.tooltip = status.connection_message

    def _show_budget(self) -> None:
        in_window, waiting, ceiling = self.app.backend.request_stats()  # type: ignore[attr-defined]
        text = f"⇅ {in_window}/{ceiling:g}/s"
        if waiting:
            text += f" +{waiting} queued"
        self.query_one("#topbar-budget", Static).update(Content(text))
