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
from textual.widget import Widget

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.events import EngineRelay
from rentnumber_tui.app.workers import ReportsWorkerFailures
from rentnumber_tui.core.events import EngineEvent


def every_second_in_sight(node: Widget, method: Callable[[], object]) -> None:
    """Call `method` (bound to `node`) once a second while `node`'s screen is in sight,
    on the App's one clock (`SecondClock`): whatever moves by the second on a screen
    changes in the same frame."""
    app = node.app
    if isinstance(app, RentNumberApp):
        app.second_clock.add(node, method)


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
