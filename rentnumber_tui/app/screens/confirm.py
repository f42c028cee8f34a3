"""Confirmations: renting (with price and balance after) and cancelling (refund or not)."""

from __future__ import annotations

import time
from decimal import Decimal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Static

from rentnumber_tui.api.errors import ApiError, InsufficientBalance, OutOfStock
from rentnumber_tui.api.models import Offer, Service
from rentnumber_tui.app import events
from rentnumber_tui.app.format import rental_title, status_label
from rentnumber_tui.app.node import AppNode
from rentnumber_tui.core import events as core
from rentnumber_tui.core.engine import (
    RentAmbiguous,
    RentBlocked,
    RentFailedSafely,
    RentNotSent,
    RentStillUnknown,
)
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text


def _row(label: str, value: str, style: str = "") -> Content:
    return Content.assemble((f"{label:<16}", "$text-muted"), (value, style))


#: Seconds after the dialog opens in which Enter is taken for the key repeat (or the
#: double press) of the Enter that opened it, not for "rent": renting takes a fresh press.
ENTER_GUARD = 0.5
#: Seconds a balance the engine knows is shown as it is; older, it is asked for again.
BALANCE_FRESH = 60.0
#: The spinner's frames and how often it turns while the rent is in flight.
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_EVERY = 0.1
RENTING = "Renting… {elapsed} s (this dialog stays until the answer is known)"


def _server_says(error: ApiError) -> str:
    return safe_text(error.server_text or error.message, max_length=300)


class ConfirmRentScreen(AppNode, ModalScreen[TrackedRental | None]):
    """Shows what will be bought and what it leaves in the wallet; rents on Enter/y.

    While the request is in flight no key can start another rent or close the dialog:
    the result (rented, refused, or unknown and being checked) is always shown."""

    BINDINGS = [
        Binding(
            "y",
            "confirm",
            "Rent",
            id="confirm-rent",
            tooltip="Rent it (the price is debited)",
        ),
        # Before the focused button sees it: Enter is first checked for a key repeat.
        Binding(
            "enter",
            "enter",
            "Rent (or the button in focus)",
            show=False,
            priority=True,
            tooltip="Rent it, or press the button in focus",
        ),
        Binding("escape,n", "close", "Cancel", id="cancel-rent", tooltip="Do not rent; go back"),
    ]

    def __init__(self, offer: Offer, service: Service, flag: str, note: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        #: What differs from the rental being repeated ("Alpha is sold out; …"), shown
        #: above the buttons until something more pressing replaces it.
        self.note = note
        self.offer = offer
        self.service = service
        self.flag = flag
        self.balance: Decimal | None = None
        self.currency = "NGN"
        self.busy = False
        self.finished = False
        #: A rent whose answer was lost and is being checked: its journal id, and why.
        self.waiting_for: int | None = None
        self._lost_because = ""
        #: Outcomes settled while this dialog was open (one may come before the dialog
        #: learns which purchase it waits for).
        self._settled: dict[int, core.PurchaseUpdate] = {}
        self._opened_at = time.monotonic()
        self._started_at = 0.0
        self._spinner: Timer | None = None

    def compose(self) -> ComposeResult:
        offer = self.offer
        with Vertical(classes="dialog", id="confirm-rent"):
            yield Static(Content("Rent this number?"), classes="dialog-title")
            yield Static(_row("Service", safe_text(self.service.name, max_length=40), "bold"))
            flag = safe_text(self.flag, max_length=4)
            country = f"{flag} {safe_text(offer.country_name, max_length=36)}".strip()
            yield Static(_row("Country", country))
            yield Static(_row("Provider", safe_text(offer.provider_name, max_length=40)))
            yield Static(_row("Price", format_money(offer.price), "bold"))
            yield Static(_row("Balance", "checking…"), id="confirm-balance")
            yield Static(_row("After purchase", "…"), id="confirm-after")
            yield Static(id="confirm-message", classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Rent", id="do-rent", variant="primary")
                yield Button("Back", id="go-back")
            yield Static(
                Content("Enter or y: rent · Esc or n: go back"),
                id="confirm-hint",
                classes="dialog-hint",
            )

    @on(Button.Pressed, "#do-rent")
    def _rent_pressed(self) -> None:
        # The button in focus also takes Enter while the dialog is still being set up.
        if not self._just_opened() and self.check_action("confirm", ()):
            self.action_confirm()

    def _just_opened(self) -> bool:
        return time.monotonic() - self._opened_at < ENTER_GUARD

    @on(Button.Pressed, "#go-back")
    def _back_pressed(self) -> None:
        if self.check_action("close", ()):
            self.action_close()

    def _buttons(self) -> None:
        rent = self.query_one("#do-rent", Button)
        rent.disabled = self.busy
        # Nothing more to try: no dead "Try again" button, only the way back.
        rent.display = not self.finished
        back = self.query_one("#go-back", Button)
        back.disabled = self.busy
        if self.finished and self.waiting_for is None:
            back.focus()  # nothing more to do here (while an outcome is checked: stay)

    def on_mount(self) -> None:
        engine = self.app.engine
        self._opened_at = time.monotonic()
        self.follow_engine(core.PurchaseUpdate)
        if self.note:
            self._say(safe_text(self.note, max_length=400))
        last = engine.status().balance
        if last is not None:
            self._show_balance(last.amount, last.currency)
        if not self.offer.available:
            self._refuse_unavailable()
            return
        locked = engine.renting_locked_for(self.offer, self.service.name)
        if locked is not None:
            self._fail(safe_text(locked, max_length=500))
            return
        age = engine.balance_age()
        # The engine refreshes it after every rent, cancel and refund: asking again on
        # each of twenty rents in a row only took the budget from polling.
        if last is None or age is None or age > BALANCE_FRESH:
            self.fetch_balance()

    def _refuse_unavailable(self) -> None:
        """Sold out, or a price that is not positive: the server's listing is absurd or
        stale, and nothing is sent whatever key is pressed."""
        offer = self.offer
        why = "is out of stock" if offer.stock <= 0 else "has no valid price"
        self._fail(f"This offer {why} ({format_money(offer.price)}); it cannot be rented.")

    @work(exclusive=True, group="confirm-balance", exit_on_error=False)
    async def fetch_balance(self) -> None:
        try:
            balance = await self.app.engine.balance()
        except ApiError as error:
            if self.balance is None:
                self.query_one("#confirm-balance", Static).update(
                    _row("Balance", f"unknown ({safe_text(error.message, max_length=200)})")
                )
            return
        self._show_balance(balance.amount, balance.currency)

    def _show_balance(self, amount: Decimal, currency: str) -> None:
        self.balance, self.currency = amount, currency
        after = amount - self.offer.price
        self.query_one("#confirm-balance", Static).update(
            _row("Balance", format_money(amount, currency))
        )
        self.query_one("#confirm-after", Static).update(
            _row(
                "After purchase",
                format_money(after, currency),
                "bold" if after >= 0 else "bold $error",
            )
        )
        if after < 0 and not (self.busy or self.finished) and self.offer.available:
            self._say(
                f"Not enough balance: this costs {format_money(self.offer.price)}.", error=True
            )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#confirm-message", Static).update(
            Content.assemble((text, "bold $error" if error else "bold"))
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.busy:
            return False
        return not (action == "confirm" and self.finished)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_enter(self) -> None:
        """Enter: the button in focus (rent, unless Back has focus), unless it comes so
        soon after the dialog opened that it is the opening Enter repeated (held down,
        or pressed twice on the offer)."""
        if self._just_opened() or self.waiting_for is not None:
            return  # a repeat, or an outcome being checked: the dialog shows it
        back = self.query_one("#go-back", Button)
        if self.focused is back:
            self.action_close()
        elif self.check_action("confirm", ()):
            self.action_confirm()

    def action_confirm(self) -> None:
        if not self.offer.available:
            self._refuse_unavailable()
            return
        if self.balance is not None and self.balance < self.offer.price:
            self._say(
                f"Not enough balance: this costs {format_money(self.offer.price)} and the "
                f"wallet holds {format_money(self.balance, self.currency)}. Top up first.",
                error=True,
            )
            return
        self.busy = True
        self._started_at = time.monotonic()
        self._spin()
        self._spinner = self.set_interval(SPIN_EVERY, self._spin)
        self.query_one("#confirm-hint", Static).update(Content("Waiting for the server's answer…"))
        self._buttons()
        self.refresh_bindings()
        self.rent()

    def _spin(self) -> None:
        """The rent is in flight: a turning mark and the seconds waited so far."""
        elapsed = time.monotonic() - self._started_at
        frame = SPINNER[int(elapsed / SPIN_EVERY) % len(SPINNER)]
        self._say(f"{frame} " + RENTING.format(elapsed=int(elapsed)))

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    @work(exclusive=True, group="rent", exit_on_error=False)
    async def rent(self) -> None:
        engine = self.app.engine
        try:
            rental = await engine.rent(self.offer, self.service, self.flag)
        except (RentBlocked, RentNotSent, RentAmbiguous) as refused:
            self._fail(safe_text(refused.message, max_length=600))
        except RentFailedSafely as safe:
            self._fail(safe_text(safe.message, max_length=500), retry=True)
        except RentStillUnknown as unknown:
            self._wait_for(unknown)
        except InsufficientBalance as error:
            self._fail(f"Not enough balance. The server says: {_server_says(error)}")
            self.fetch_balance()  # the balance shown was stale: show the server's
        except OutOfStock as error:
            self._fail(f"Out of stock. The server says: {_server_says(error)}")
        except ApiError as error:
            self._fail(safe_text(error.message, max_length=500), retry=error.transient)
        else:
            self.busy = False
            self._stop_spinner()
            self.dismiss(rental)

    def _wait_for(self, unknown: RentStillUnknown) -> None:
        """The answer was lost: say what is being waited for and how long; the dialog
        may be closed, the engine goes on checking and says the outcome."""
        self.waiting_for = unknown.purchase_id
        self._lost_because = safe_text(unknown.reason, max_length=400)
        self._fail(safe_text(unknown.message, max_length=700))
        self.query_one("#confirm-hint", Static).update(
            Content("Esc: close (the result is shown when it is known)")
        )
        # The outcome may have been settled before this dialog heard why it waits.
        settled = self._settled.get(unknown.purchase_id)
        if settled is not None:
            self._apply_update(settled)

    def on_engine_purchase_update(self, message: events.PurchaseUpdate) -> None:
        update = message.update
        if update.final:
            self._settled[update.purchase_id] = update
        if update.purchase_id == self.waiting_for:
            self._apply_update(update)

    def _apply_update(self, update: core.PurchaseUpdate) -> None:
        if not update.final:
            waiting = safe_text(update.message, max_length=400)
            self._say(f"{self._lost_because} {waiting}".strip(), error=True)
            return
        self.waiting_for = None
        if update.rental is not None:
            self.dismiss(update.rental)
        elif update.nothing_bought:
            self._fail(
                f"{safe_text(update.message, max_length=500)} It is safe to try again.",
                retry=True,
            )
        else:
            self._fail(safe_text(update.message, max_length=700))

    def _fail(self, text: str, *, retry: bool = False) -> None:
        self._stop_spinner()
        self.busy = False
        self.finished = not retry
        self._say(text, error=True)
        hint = "Enter or y: try again · Esc: go back" if retry else "Esc: go back"
        self.query_one("#confirm-hint", Static).update(Content(hint))
        self.query_one("#do-rent", Button).label = "Try again"
        self._buttons()
        self.refresh_bindings()


class ConfirmCancelScreen(AppNode, ModalScreen[bool]):
    """Says whether cancelling refunds (no SMS yet) or not (an SMS arrived), following
    the rental live: an SMS arriving while it is open changes the text and the
    consequence, and `promises_refund` tells the engine what the person was told."""

    BINDINGS = [
        Binding(
            "enter,y", "confirm", "Cancel rental", id="confirm-cancel", tooltip="Cancel the rental"
        ),
        Binding("escape,n", "close", "Keep it", id="keep-rental", tooltip="Keep the rental"),
    ]

    def __init__(self, rental: TrackedRental) -> None:
        super().__init__(classes="dialog-screen")
        self.rental = rental
        #: What the dialog said when the person decided (the engine checks it again).
        self.promises_refund = not rental.has_sms

    def compose(self) -> ComposeResult:
        rental = self.rental
        with Vertical(classes="dialog", id="confirm-cancel"):
            yield Static(Content("Cancel this rental?"), classes="dialog-title")
            yield Static(_row("Rental", rental_title(rental)))
            yield Static(_row("Number", safe_text(rental.phone, max_length=40), "bold"))
            yield Static(self._consequence(), id="cancel-consequence", classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel rental", id="do-cancel", variant="error")
                yield Button("Keep it", id="keep")
            yield Static(
                Content("Enter or y: cancel it · Esc or n: keep it"), classes="dialog-hint"
            )

    def on_mount(self) -> None:
        self.follow_engine(core.RentalChanged)

    def _consequence(self) -> Content:
        rental = self.rental
        if rental.is_final:
            return Content.assemble(
                (f"This rental has already ended ({status_label(rental.status)}).", "bold")
            )
        if rental.has_sms:
            code = f" (code {safe_text(rental.code, max_length=20)})" if rental.code else ""
            return Content.assemble(
                (
                    f"An SMS has already arrived{code}, so cancelling gives NO refund.",
                    "bold $warning",
                )
            )
        return Content.assemble(
            (f"No SMS has arrived: {format_money(rental.cost)} will be refunded.", "bold $success")
        )

    def on_engine_rental_changed(self, message: events.RentalChanged) -> None:
        if message.rental.rental_id != self.rental.rental_id:
            return
        self.rental = message.rental
        self.promises_refund = not message.rental.has_sms
        self.query_one("#cancel-consequence", Static).update(self._consequence())
        self.query_one("#do-cancel", Button).disabled = message.rental.is_final

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "confirm" and self.rental.is_final)

    @on(Button.Pressed, "#do-cancel")
    def action_confirm(self) -> None:
        if not self.rental.is_final:
            self.dismiss(True)

    @on(Button.Pressed, "#keep")
    def _keep_pressed(self) -> None:
        self.dismiss(False)

    def action_close(self) -> None:
        self.dismiss(False)


class ConfirmQuitScreen(ModalScreen[bool]):
    """Quitting with rentals waiting or a rent in flight: say that they go on on the
    server (and what the next start does), so no one quits thinking they stop."""

    BINDINGS = [
        # Ctrl+Q itself is the App's (it quits when this dialog is open).
        Binding("y,enter", "quit", "Quit", id="confirm-quit", priority=True),
        Binding("escape,n", "stay", "Stay", id="stay", tooltip="Do not quit"),
    ]

    def __init__(self, waiting: int, unsettled: int) -> None:
        super().__init__(classes="dialog-screen")
        self.waiting = waiting
        self.unsettled = unsettled

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-quit"):
            yield Static(Content("Quit rentnumber-tui?"), classes="dialog-title")
            yield Static(Content(quit_consequence(self.waiting, self.unsettled)))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Quit", id="do-quit", variant="warning")
                yield Button("Stay", id="stay")
            yield Static(
                Content("Ctrl+Q, Enter or y: quit · Esc or n: stay"), classes="dialog-hint"
            )

    @on(Button.Pressed, "#do-quit")
    def action_quit(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)


def quit_consequence(waiting: int, unsettled: int) -> str:
    """What goes on after quitting, in words."""
    parts: list[str] = []
    if unsettled:
        rents = "A rent is" if unsettled == 1 else f"{unsettled} rents are"
        parts.append(
            f"{rents} still waiting for the server's answer; the next start checks the "
            "account and shows what was bought."
        )
    if waiting:
        rentals = "1 rental is" if waiting == 1 else f"{waiting} rentals are"
        parts.append(
            f"{rentals} still waiting for an SMS. Rentals keep running on the server: "
            "the next start follows them again (so does `rentnumber-tui wait ID`)."
        )
    return " ".join(parts)
