"""One rental in full: the code large, the SMS text, the number, status and countdown."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Digits, Static

from rentnumber_tui.app.format import rental_time_left, rental_title, status_label
from rentnumber_tui.app.node import AppNode
from rentnumber_tui.app.widgets.repaint import update_static
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

#: Characters the Digits widget can draw large; other codes are shown in bold text.
_DIGIT_CHARS = set("0123456789+-^x:ABCDEF$£€()")
#: Longest code drawn large (each character is three cells wide).
_MAX_DIGITS = 12


class RentalDetail(AppNode, VerticalScroll, can_focus=False):
    """Scrolls when the SMS is longer than the room (a scrollbar says there is more;
    shift+↓/↑ on the rentals screen move it), so a long SMS is never cut off."""

    def __init__(self) -> None:
        super().__init__(id="rental-detail")
        self.rental: TrackedRental | None = None
        #: What to show once the children exist (a screen may call `show` first).
        self._pending: tuple[TrackedRental | None, datetime, str | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="detail-title")
        yield Static(id="detail-number")
        yield Static(id="detail-status")
        yield Digits(id="detail-code-digits")
        yield Static(id="detail-code-text")
        yield Static(id="detail-sms")
        yield Static(id="detail-problem")

    def on_mount(self) -> None:
        if self._pending is not None:
            self.show(*self._pending)

    def show(self, rental: TrackedRental | None, now: datetime, poll_error: str | None) -> None:
        self.rental = rental
        titles = self.query("#detail-title")
        if not titles:
            # The screen's on_mount can run before this widget has composed its
            # children: remember, and show it from our own on_mount.
            self._pending = (rental, now, poll_error)
            return
        self._pending = None
        title = titles.only_one(Static)
        if rental is None:
            update_static(title, Content("No rental selected. Rent a number from the price table."))
            for child_id in (
                "#detail-number",
                "#detail-status",
                "#detail-code-text",
                "#detail-sms",
                "#detail-problem",
            ):
                update_static(self.query_one(child_id, Static), Content(""))
            self.query_one(Digits).display = False
            return
        # Each part is repainted only when it changed: the screen redraws the detail on
        # every change of any rental.
        update_static(title, Content(rental_title(rental)))
        update_static(
            self.query_one("#detail-number", Static),
            Content.assemble(
                ("Number  ", "$text-muted"),
                (safe_text(rental.phone, max_length=64), "bold"),
                ("   Cost  ", "$text-muted"),
                format_money(rental.cost),
            ),
        )
        self.update_countdown(now)
        code = safe_text(rental.code, max_length=64) if rental.code else None
        digits = self.query_one(Digits)
        code_text = self.query_one("#detail-code-text", Static)
        if code is None:
            digits.display = False
            if not rental.followed:
                line = Content("No code was received.")
            elif rental.status.is_known:
                line = Content("Waiting for the SMS…")
            else:  # spec, clarification 4: shown as it is, checked at the slowest rate
                line = Content(
                    f"The server says “{safe_text(str(rental.status), max_length=40)}”, not a "
                    "documented status: no SMS yet; checked now and then."
                )
        elif len(code) <= _MAX_DIGITS and set(code) <= _DIGIT_CHARS:
            digits.display = True
            digits.update(code)
            line = Content.assemble(("Code ", "$text-muted"), (code, "bold"))
        else:
            digits.display = False
            line = Content.assemble(("Code  ", "$text-muted"), (code, "bold $success"))
        if code is not None and rental.earlier_codes:
            earlier = ", ".join(safe_text(c, max_length=24) for c in rental.earlier_codes[-5:])
            line = Content.assemble(line, ("   earlier: ", "$text-muted"), earlier)
        update_static(code_text, line)
        sms = safe_text(rental.sms, max_length=20_000, keep_newlines=True) if rental.sms else ""
        update_static(
            self.query_one("#detail-sms", Static),
            Content.assemble(("SMS  ", "$text-muted"), sms) if sms else Content(""),
        )
        problem = rental.problem or poll_error
        update_static(
            self.query_one("#detail-problem", Static),
            Content(safe_text(problem, max_length=300)) if problem else Content(""),
        )

    def update_countdown(self, now: datetime) -> None:
        rental = self.rental
        if rental is None or self._pending is not None:
            return
        # Ended, the status says it all: no "Time left  cancelled".
        left = (
            ()
            if rental.is_final
            else (("   Time left  ", "$text-muted"), rental_time_left(rental, now))
        )
        # Once a second: repainted only when it moved (`update_static`).
        update_static(
            self.query_one("#detail-status", Static),
            Content.assemble(
                ("Status  ", "$text-muted"), (status_label(rental.status), "bold"), *left
            ),
        )
