"""Updating a Static only when its text changed, and laying the screen out again only
when its size may have: what ticks once a second must not cost a repaint, or a layout
of the whole screen, for a value that did not move."""

from __future__ import annotations

from rich.cells import cell_len
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
    width = static.content_region.width
    shape = _line_widths(content, width)
    same_shape = (
        shape is not None and isinstance(before, Content) and _line_widths(before, width) == shape
    )
    static.update(content, layout=not same_shape)
    return True


def _line_widths(content: Content, width: int) -> list[int] | None:
    """Each line's width in cells; None when one is wider than `width` (it wraps, and
    text of the same length can wrap into another number of lines)."""
    widths = [cell_len(line) for line in content.plain.split("\n")]
    return widths if max(widths) <= width else None
