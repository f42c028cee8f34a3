"""The base every screen and widget of this app mixes in: `self.app` typed as
`RentNumberApp` (Textual's own typed getter, which also checks it at run time), failed
workers reported (`workers.ReportsWorkerFailures`), and hearing the engine.

It subclasses `MessagePump` so that the typed `app` overrides Textual's own in the
eyes of a type checker; app.py imports no screen or widget at module level, so
importing it here makes no cycle.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import getters
from textual.message_pump import MessagePump
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.events import EngineRelay
from rentnumber_tui.app.workers import ReportsWorkerFailures
from rentnumber_tui.core.events import EngineEvent


def in_sight(node: Widget) -> bool:
    """Whether `node`'s screen can be seen: in front, or behind dialogs only. What
    ticks (countdowns, the budget) skips its work on screens out of sight."""
    stack = node.app.screen_stack
    screen = node.screen
    if screen not in stack:
        return False
    return all(isinstance(above, ModalScreen) for above in stack[stack.index(screen) + 1 :])


def every_in_sight(node: Widget, interval: float, callback: Callable[[], object]) -> Timer:
    """Call `callback` every `interval` seconds while `node`'s screen is in sight. Out
    of sight the timer pauses (no wake-up at all: every screen in the stack has its own
    top bar and rentals bar), and the App resumes it when a change of screen brings the
    node back into sight (`RentNumberApp.resume_in_sight`)."""

    def tick() -> None:
        if in_sight(node):
            callback()
        else:
            timer.pause()
            app = node.app
            if isinstance(app, RentNumberApp):
                app.resume_in_sight(node, timer)

    timer = node.set_interval(interval, tick)
    return timer


class AppNode(ReportsWorkerFailures, MessagePump):
    """Mixin for this app's screens and widgets: `class X(AppNode, Screen[None])`."""

    app = getters.app(RentNumberApp)

    _relay: EngineRelay | None = None

    def follow_engine(self, *kinds: type[EngineEvent]) -> None:
        """Receive the engine's events (of `kinds`, or all) as `on_engine_*` messages,
        until this node is unmounted. Called again (a subclass adding kinds), it hears
        those too."""
        if self._relay is None:
            self._relay = EngineRelay(self, self.app.engine.subscribe, kinds)
        else:
            self._relay.add(kinds)

    def on_unmount(self) -> None:
        if self._relay is not None:
            self._relay.close()
            self._relay = None
