"""The base every screen and widget of this app mixes in: `self.app` typed as
`RentNumberApp` (Textual's own typed getter, which also checks it at run time), and
failed workers reported (`workers.ReportsWorkerFailures`).

It subclasses `MessagePump` so that the typed `app` overrides Textual's own in the
eyes of a type checker; app.py imports no screen or widget at module level, so
importing it here makes no cycle.
"""

from __future__ import annotations

from textual import getters
from textual.message_pump import MessagePump

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.workers import ReportsWorkerFailures


class AppNode(ReportsWorkerFailures, MessagePump):
    """Mixin for this app's screens and widgets: `class X(AppNode, Screen[None])`."""

    app = getters.app(RentNumberApp)
