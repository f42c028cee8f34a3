"""Steps with the real program in a pty that several end-to-end tests share: start it
against a server, go to the WhatsApp / Nigeria price table, rent the offer under the
cursor, and open its store the way the program does."""

from __future__ import annotations

import re
from pathlib import Path

from rentnumber_tui.core.store import Store
from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.e2e.pty import ENTER, Pty, program, program_env

SIZE = (100, 30)


def start(server: str, home: Path, size: tuple[int, int] = SIZE) -> Pty:
    app = Pty(program(server), program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY), size)
    app.wait_for(app.shows("WhatsApp", "● online"), "the services")
    app.wait_for(lambda: re.search(r"₦[0-9,]+\.\d\d  ●", app.screen()), "the balance")
    return app


def store_path(home: Path) -> Path:
    return home / "data" / "rentnumber-tui" / "rentnumber.sqlite3"


def open_store(home: Path, server: str) -> Store:
    return Store(store_path(home), f"default|{server}")


def open_whatsapp_nigeria(app: Pty) -> None:
    """Services → WhatsApp → Nigeria → the price table sorted by stock, most first."""
    app.type("whats")
    app.wait_for(app.shows("1 of"), "WhatsApp alone in the list")
    app.send(ENTER)
    app.wait_for(app.shows("Type a country name"), "the countries")
    app.type("ng")
    app.wait_for(app.shows("Nigeria"), "Nigeria in the list")
    app.send(ENTER)
    app.wait_for(app.shows("offers,", "in stock"), "the offers")
    app.type("ss")  # stock, descending: the first row can be rented
    app.wait_for(app.shows("Stock ▼"), "sorted by stock")


def confirm_rent(app: Pty) -> None:
    """Enter on the offer, wait for the dialog and the balance after purchase, then y."""
    app.send(ENTER)
    app.wait_for(app.shows("Rent this number?"), "the confirmation")
    app.wait_for(lambda: re.search(r"After purchase\s+₦", app.screen()), "the balance after")
    app.send("y")
