"""Keys typed while a screen opens wait for it, and then reach it one at a time.

A terminal delivers a burst (`Enter/gh` typed fast, or pasted) faster than a screen
opens. Textual forwards each key to whatever has the focus when the App reads it: the
box the Enter left, or the new screen before its focus is set. So while a screen opens
the App holds the keys, the widget being covered hands back those it already got, and
once the screen is ready (its resume and first focus done) the keys are sent again in
order, each only after the one before it has been handled (a `/` that moves the focus
has moved it before the `g` arrives).

Every wait has a deadline (`OVERDUE`): a screen that never says it is ready, or a key
whose handling never comes back, must not swallow the keys after it.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from textual.events import Key
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

#: Seconds a screen may take to be ready, or a key to be handled, before the keys flow
#: again regardless (far beyond any real screen; only a fault gets here).
OVERDUE = 3.0


class ScreenReady(Message, namespace="key_hold"):
    """Posted to the screen that opened; it reaches the App (bubbling) once the screen
    has handled everything before it: compose, mount, resume and the first focus."""

    def __init__(self, screen: MessagePump) -> None:
        super().__init__()
        self.screen = screen


class KeyHandled(Message, namespace="key_hold"):
    """Posted behind a key sent again, to the node it went to; it reaches the App once
    the key has gone all the way up (bindings run, focus moves queued before it)."""


class KeyHold:
    """The App's keys while screens open. The App asks `hold(key)` for every key from
    the terminal, and tells it when a screen opens (`opening`), is ready (`ready`) and
    when a key sent again has been handled (`handled`)."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._waiting: deque[Key] = deque()
        #: Keys handed back by the widget a screen is covering: typed before the ones
        #: the App held, so sent first.
        self._handed_back: list[Key] = []
        #: A screen is opening (or an Enter is about to open one): keys wait.
        self._collecting = False
        self._screen: MessagePump | None = None
        #: The key sent again and not yet handled.
        self._in_flight: Key | None = None
        self._deadline: Timer | None = None

    @property
    def collecting(self) -> bool:
        """Whether a screen is opening: a key reaching a widget now was typed after the
        key that opened it, and is for the new screen."""
        return self._collecting

    def start(self) -> None:
        """Hold keys from now on: a key is about to open a screen (Enter in a list's
        filter; the screen is pushed once the choice has gone round the messages)."""
        self._collecting = True
        self._update_deadline()

    def opening(self, screen: Screen[Any]) -> None:
        """A screen became the one in front: keys wait until it is ready."""
        self._collecting = True
        self._screen = screen
        screen.post_message(ScreenReady(screen))
        self._update_deadline()

    def no_screen_opened(self) -> None:
        """The Enter that started holding chose nothing that opens a screen."""
        if self._collecting and self._screen is None:
            self._release()

    def hand_back(self, key: Key) -> bool:
        """A widget being covered got `key`: keep it for the screen in front (True), or
        let the widget have it (False, nothing is opening)."""
        if not self._collecting or key is self._in_flight:
            return False
        self._handed_back.append(Key(key.key, key.character))  # a fresh one: it is sent again
        return True

    def hold(self, key: Key) -> bool:
        """Whether `key`, just read from the terminal, must wait (True: it is kept)."""
        if key is self._in_flight:
            return False
        if self._collecting or self._in_flight is not None or self._waiting:
            self._waiting.append(key)
            return True
        return False

    def sent(self, key: Key, to: MessagePump) -> None:
        """The App forwarded `key` (sent again) to `to`."""
        if key is self._in_flight:
            to.post_message(KeyHandled())

    def ready(self, screen: MessagePump) -> None:
        if screen is self._screen:
            self._release()

    def handled(self) -> None:
        self._in_flight = None
        self._send_next()

    def _release(self) -> None:
        self._collecting = False
        self._screen = None
        self._waiting.extendleft(reversed(self._handed_back))
        self._handed_back.clear()
        self._send_next()

    def _send_next(self) -> None:
        if not (self._collecting or self._in_flight is not None) and self._waiting:
            self._in_flight = self._waiting.popleft()
            self._app.post_message(self._in_flight)
        self._update_deadline()

    def _overdue(self) -> None:
        self._deadline = None
        if self._collecting:
            self._release()
        elif self._in_flight is not None:
            self.handled()

    def _update_deadline(self) -> None:
        """A fresh deadline while anything is awaited, none otherwise."""
        if self._deadline is not None:
            self._deadline.stop()
            self._deadline = None
        if self._collecting or self._in_flight is not None:
            self._deadline = self._app.set_timer(OVERDUE, self._overdue, name="key-hold")
