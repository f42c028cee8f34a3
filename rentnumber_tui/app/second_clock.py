"""One clock for everything on screen that moves by the second: countdowns, the
request budget, the rentals bar.

Each of them once had its own one-second timer, started whenever its widget mounted,
so each ticked at its own moment: on Live rentals the detail's countdown and the top
bar's budget made two frames a second where one would do. Ticking them all from one
timer puts every change of the second into the same frame.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from textual.screen import ModalScreen
from textual.widget import Widget


def in_sight(node: Widget) -> bool:
    """Whether `node`'s screen can be seen: in front, or behind dialogs only. What
    ticks (countdowns, the budget) skips its work on screens out of sight."""
    stack = node.app.screen_stack
    screen = node.screen
    if screen not in stack:
        return False
    return all(isinstance(above, ModalScreen) for above in stack[stack.index(screen) + 1 :])


def on_its_way_out(node: Widget) -> bool:
    """Whether `node` is being removed, or its App is closing: Textual closes a node's
    children before the node and a screen's before it leaves the stack, so such a node
    can still be attached and in sight with its children gone. Neither comes back."""
    return (
        node._pruning  # `remove()`, a screen popped, every screen as the App closes
        or node._closing
        or not node.is_running
        or not node.app.is_running  # `App._shutdown` (`run_test` ends, or the App exits)
    )


class SecondClock:
    """What to call each second, by widget. It holds neither the widgets nor their
    methods (a closed screen is not kept alive by its countdown) and forgets a widget
    once it is detached from the DOM or on its way out (`on_its_way_out`)."""

    def __init__(self) -> None:
        self._ticks: dict[tuple[weakref.ref[Widget], Callable[[Any], object]], None] = {}

    def add(self, node: Widget, method: Callable[[], object]) -> None:
        """Call `method`, bound to `node`, each second `node`'s screen is in sight."""
        if getattr(method, "__self__", None) is not node:
            raise TypeError(f"{method!r} is not a method of {node!r}")
        self._ticks[(weakref.ref(node), getattr(method, "__func__"))] = None  # noqa: B009

    def following(self) -> list[Widget]:
        """The widgets it still ticks (in sight or not)."""
        return [node for node in (ref() for ref, _ in self._ticks) if node is not None]

    def tick(self) -> None:
        """Called by the App's one-second timer. A node being torn down is never ticked:
        a tick once landed as a test's App closed, between the rentals detail losing its
        children and its screen leaving the stack (`NoMatches: '#detail-status'`)."""
        for key in list(self._ticks):
            ref, function = key
            node = ref()
            if node is None or not node.is_attached or on_its_way_out(node):
                del self._ticks[key]
            elif in_sight(node):
                function(node)
