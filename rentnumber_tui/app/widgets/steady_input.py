"""An Input whose cursor does not blink.

A blinking cursor repaints its box twice a second for as long as it has the focus: CPU
while the person only looks, and bytes down an SSH connection that say nothing. The
cursor is shown steadily instead, as in most terminal programs' prompts.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class SteadyInput(Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False
