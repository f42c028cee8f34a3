"""The list of rentals on Live rentals: an OptionList whose rows can change one at a
time, repainting only the cells that changed.

Every second each waiting rental's countdown moves. Textual's own way to change a row
(`replace_option_prompt_at_index`) drops every row's rendering and repaints the whole
list: with 20 rentals that is the whole screen every second, in CPU and in bytes to
the terminal (over SSH too). Here a row's new text replaces only that row's rendering,
and only the span of cells that differ is marked for repaint (a countdown's few cells).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.geometry import Region
from textual.widgets import OptionList

from rentnumber_tui.app.widgets.repaint import same_content


def changed_span(old: str, new: str) -> tuple[int, int] | None:
    """The cells (start, end) where `new` differs from `old`, or None when they are the
    same. Cells, not characters: a wide character before the change shifts it."""
    if old == new:
        return None
    start = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    first = cell_len(new[:start])
    last = first + max(cell_len(old[start:end_old]), cell_len(new[start:end_new]))
    return first, max(last, first + 1)


class RentalsList(OptionList):
    def set_prompt(self, index: int, prompt: Content) -> bool:
        """Give row `index` the text `prompt`; True when it changed."""
        option = self.get_option_at_index(index)
        old = option.prompt
        if same_content(old, prompt):
            return False
        # What replace_option_prompt_at_index does, without dropping every row's rendering.
        option._set_prompt(prompt)
        cache = self._option_render_cache
        for key in [key for key in cache.keys() if key[0] is option]:  # noqa: SIM118 (no __iter__)
            cache.discard(key)
        line = self._index_to_line.get(index)
        if line is None or self._heights.get(index) != 1:
            self.refresh()  # not laid out yet, or a row of several lines: all of it
            return True
        y = line - self.scroll_offset.y
        region = self.scrollable_content_region
        if not 0 <= y < region.height:
            return True  # out of sight: drawn from the new text when scrolled to
        span = changed_span(str(old), prompt.plain)
        if span is None:  # the same words in other styles: the whole row
            self.refresh(Region(0, y, region.width, 1))
            return True
        padding = self.get_component_styles("option-list--option").padding
        left = self._get_left_gutter_width() + padding.left
        start, end = span
        self.refresh(Region(left + start, y, end - start, 1))
        return True
