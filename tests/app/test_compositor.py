"""A partial update renders only the widgets under the changed regions, and writes to
the terminal exactly what Textual's own compositor writes (`app/compositor.py`)."""

from __future__ import annotations

from textual._compositor import Compositor
from textual.geometry import Region
from textual.widgets import Static

from rentnumber_tui.app.compositor import SparseCompositor
from tests.app.helpers import live_rentals_with
from tests.core.waiting import wait_until


def _render(app, compositor: SparseCompositor, regions: list[Region], *, sparse: bool):
    """What the terminal receives for `regions`, and how many widgets were rendered."""
    rendered = 0
    get_renders = compositor._get_renders

    def counted(crop=None):
        nonlocal rendered
        for item in get_renders(crop):
            rendered += 1
            yield item

    compositor._get_renders = counted  # type: ignore[method-assign]
    try:
        compositor._dirty_regions.update(regions)
        if sparse:
            update = compositor.render_partial_update()
        else:
            update = Compositor.render_partial_update(compositor)
    finally:
        del compositor._get_renders
    assert update is not None
    return update.render_segments(app.console), rendered


async def test_a_partial_update_writes_what_textual_writes_and_renders_fewer_widgets(
    make_app,
):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await live_rentals_with(app, pilot, 6)
        compositor = app.screen._compositor
        assert isinstance(compositor, SparseCompositor)
        cases = [
            # The top bar's budget and the detail's countdown: far apart, as each second.
            [Region(50, 0, 20, 1), Region(2, 21, 117, 1)],
            # Two rows of the list and the footer; one region across a border.
            [Region(4, 3, 40, 1), Region(4, 6, 40, 1), Region(0, 39, 120, 1)],
            [Region(0, 1, 3, 8), Region(100, 18, 20, 4)],
            # Overlapping regions.
            [Region(10, 2, 30, 3), Region(20, 3, 30, 3)],
        ]
        # A widget drawn over the list and the detail: what is in front still wins.
        overlay = Static("in front " * 6)
        overlay.styles.position = "absolute"
        overlay.styles.offset = (60, 6)
        overlay.styles.width = 50
        overlay.styles.height = 3
        await app.screen.mount(overlay)
        await wait_until(lambda: overlay.region.height == 3, what="the overlay laid out")
        await pilot.pause()
        assert overlay in compositor.visible_widgets
        cases.append([Region(40, 6, 60, 4), Region(0, 0, 120, 1)])
        for regions in cases:
            theirs, all_under = _render(app, compositor, regions, sparse=False)
            ours, under_changes = _render(app, compositor, regions, sparse=True)
            assert ours == theirs
            assert theirs  # something was written
        assert "in front" in ours  # the last case: the overlay over the rows it covers
        # Across the list (the first case), Textual renders every widget between.
        _, all_under = _render(app, compositor, cases[0], sparse=False)
        _, under_changes = _render(app, compositor, cases[0], sparse=True)
        assert under_changes < all_under
        # One region: Textual's own path, unchanged.
        one = [Region(4, 3, 40, 1)]
        assert _render(app, compositor, one, sparse=True) == _render(
            app, compositor, one, sparse=False
        )
