"""Updating a Static only when its text changed, and laying the screen out again only
when its size may have: what ticks once a second must not cost a repaint, or a layout
of the whole screen, for a value that did not move."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


def same_content(a: object, b: Content) -> bool:
    """The same words in the same styles (Content's own `==` compares the words only)."""
    return isinstance(a, Content) and a.plain == b.plain and a.spans == b.spans


def update_static(static: Static, content: Content) -> bool:
    """Show `content` in `static`; False (nothing done) when it already shows it."""
    before = static.content
    if same_content(before, content):
        return False
    same_shape = (
        isinstance(before, Content)
        and before.cell_length == content.cell_length
        and before.plain.count("\n") == content.plain.count("\n")
    )
    static.update(content, layout=not same_shape)
    return True
