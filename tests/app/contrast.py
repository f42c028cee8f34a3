"""What the contrast tests share: WCAG contrast and the colours of every cell on the
screen as the compositor resolved them (see test_contrast.py for the bars and why)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.segment import Segment
from rich.terminal_theme import TerminalTheme
from textual._context import visible_screen_stack
from textual.constants import DIM_FACTOR
from textual.errors import NoWidget
from textual.geometry import Offset
from textual.screen import ModalScreen, Screen
from textual.scrollbar import ScrollBar, ScrollBarCorner
from textual.widget import Widget
from textual.widgets import Digits, Input, OptionList

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.sandbox import Sandbox
from tests.app.helpers import open_prices, rent_cursor_offer
from tests.core.waiting import wait_until

SIZE = (120, 40)
#: WCAG 2 AA: normal text.
TEXT = 4.5
#: WCAG 2 AA: large text; here only for text in disabled widgets.
DISABLED = 3.0


# -- WCAG contrast ------------------------------------------------------------------------


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: tuple[int, int, int], two: tuple[int, int, int]) -> float:
    a, b = sorted((luminance(one), luminance(two)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# -- what is on screen --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A run of text drawn in one style, where it is and how readable it is."""

    screen: str
    widget: str
    text: str
    ratio: float
    needed: float
    colours: str
    #: The ANSI number of the text colour, when it is one of the 16 (or 256).
    ansi: int | None = None


def _is_line_drawing(char: str) -> bool:
    return "\u2500" <= char <= "\u259f" or char in "▕▏"


def _rgb(
    color: RichColor | None,
    palette: TerminalTheme,
    *,
    foreground: bool,
    downgrade: ColorSystem | None = None,
) -> tuple[int, int, int]:
    if color is None:
        color = RichColor.default()
    if downgrade is not None:
        color = color.downgrade(downgrade)
    triplet = color.get_truecolor(palette, foreground=foreground)
    return (triplet.red, triplet.green, triplet.blue)


def _colours(
    segment: Segment, palette: TerminalTheme, downgrade: ColorSystem | None = None
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The foreground and background a terminal would show for `segment` (with
    `downgrade`: once Rich has rounded its colours to that many)."""
    style = segment.style
    fg = _rgb(style.color if style else None, palette, foreground=True, downgrade=downgrade)
    bg = _rgb(style.bgcolor if style else None, palette, foreground=False, downgrade=downgrade)
    if style is not None and style.reverse:
        fg, bg = bg, fg
    if style is not None and style.dim:
        # As Textual draws dim text when it converts ANSI colours (`dim_color`).
        fg = (
            round(bg[0] + (fg[0] - bg[0]) * DIM_FACTOR),
            round(bg[1] + (fg[1] - bg[1]) * DIM_FACTOR),
            round(bg[2] + (fg[2] - bg[2]) * DIM_FACTOR),
        )
    return fg, bg


def _describe(widget: Widget) -> str:
    names = [type(widget).__name__ + (f"#{widget.id}" if widget.id else "")]
    for node in widget.ancestors:
        if isinstance(node, Screen):
            break
        if isinstance(node, Widget) and node.id:
            names.append(f"#{node.id}")
            break
    return " in ".join(names)


def _needed(widget: Widget) -> float | None:
    """The ratio text in `widget` needs; None: not text (scrollbars)."""
    if isinstance(widget, (ScrollBar, ScrollBarCorner)):
        return None
    if widget.disabled or any(isinstance(a, Widget) and a.disabled for a in widget.ancestors):
        return DISABLED
    return TEXT


def hide_text_cursors(app: RentNumberApp) -> None:
    """No blinking text cursor: whether its cell is drawn would depend on the moment
    (and it is a block of its own colours, not text)."""
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
            box._cursor_visible = False


def forget_rendered_options(app: RentNumberApp) -> None:
    """An option list keeps each option drawn, keyed by the option and its CSS style:
    in two ANSI themes that style is the same (`ansi_default`), so after a switch it
    would show the colours of the theme it was first drawn in. Measure a fresh draw."""
    for screen in app.screen_stack:
        for options in screen.query(OptionList):
            options._clear_caches()
            options.refresh()


def cells_on_screen(app: RentNumberApp, downgrade: ColorSystem | None = None) -> Iterator[Cell]:
    """Every run of visible text on the current screen, with its contrast ratio (with
    `downgrade`: as a terminal of that many colours shows it)."""
    screen = app.screen
    palette = app.ansi_theme
    visible_screen_stack.set(app._background_screens)
    strips = screen._compositor.render_strips()
    for y, strip in enumerate(strips):
        x = 0
        for segment in strip:
            text = segment.text
            width = segment.cell_length
            start = x
            x += width
            if segment.control or not text.strip():
                continue
            offset = start + (len(text) - len(text.lstrip()))
            try:
                widget, _ = screen.get_widget_at(offset, y)
            except NoWidget:
                continue
            if widget is screen:
                # Only what shows through from the screen below a dialog has no widget
                # of its own here; it is dimmed on purpose.
                assert isinstance(screen, ModalScreen), (y, text)
                continue
            needed = _needed(widget)
            if needed is None:
                continue
            if not widget.content_region.contains_point(Offset(offset, y)):
                continue  # a border or padding: line drawing, not text
            is_code = isinstance(widget, Digits)
            glyphs = "".join(c for c in text if not c.isspace())
            if not is_code and all(_is_line_drawing(c) for c in glyphs):
                continue
            fg, bg = _colours(segment, palette, downgrade)
            color = segment.style.color if segment.style else None
            if color is not None and downgrade is not None:
                color = color.downgrade(downgrade)
            yield Cell(
                type(screen).__name__,
                _describe(widget),
                glyphs,
                contrast(fg, bg),
                needed,
                "#{:02x}{:02x}{:02x} on #{:02x}{:02x}{:02x}".format(*fg, *bg),
                color.number if color is not None else None,
            )


async def rental_with_code(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await open_prices(app, pilot)
    rental_id = await rent_cursor_offer(app, pilot)
    sandbox.deliver_sms(rental_id, code="482913")
    await wait_until(lambda: app.screen.query_one(Digits).value == "482913")
