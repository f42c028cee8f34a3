"""A screen compositor that, for a partial update, renders only the widgets under the
changed regions — not every widget under the rectangle around them.

Textual renders a partial update by cropping to the union of the dirty regions: on
Live rentals the top bar's budget (row 1) and the detail's countdown (row 22) change
in the same second, and the rectangle between them holds the whole list, so every
frame re-rendered some 17 widgets to write two short lines. What reaches the terminal
is the same either way (`tests/app/test_compositor.py` compares the two): a cell of a
changed line is painted by a widget whose visible part (its region within its clip)
holds it, so that widget overlaps the changed region.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip


class SparseCompositor(Compositor):
    """`Compositor` whose partial updates render the widgets that overlap a dirty
    region, each once."""

    #: The dirty regions of the partial update being rendered (None between updates).
    _sparse_regions: list[Region] | None = None

    def render_partial_update(self) -> ChopsUpdate | None:
        regions = list(self._dirty_regions)
        self._sparse_regions = regions if len(regions) > 1 else None
        try:
            return super().render_partial_update()
        finally:
            self._sparse_regions = None

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        regions = self._sparse_regions
        if crop is None or regions is None:
            yield from super()._get_renders(crop)
            return
        contains_region = Region.contains_region
        intersection = Region.intersection
        for widget, (region, clip) in self.visible_widgets.items():
            if not crop.overlaps(clip):
                continue
            shown = intersection(region, clip)
            if not any(dirty.overlaps(shown) for dirty in regions):
                continue
            # As Textual's own: the whole widget when it is not clipped, else the part
            # inside its clip.
            if contains_region(clip, region):
                yield region, clip, widget.render_lines(Region(0, 0, region.width, region.height))
                continue
            x, y, width, height = shown
            if width and height:
                yield (
                    region,
                    clip,
                    widget.render_lines(Region(x - region.x, y - region.y, width, height)),
                )
