"""The theme adjustments (`rentnumber_tui.app.theming`) and the 16-colour terminal.

In a terminal of 16 colours (`TERM=xterm` without `COLORTERM`), Rich rounds every hex
colour to the nearest of the 16: the default theme's orange accent (title, footer keys,
borders) became bright red. The app then uses an ANSI theme, drawn in the terminal's
own colours; these tests render the screen as that terminal gets it.
"""

from __future__ import annotations

import pytest
from rich.color import ColorSystem
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from rentnumber_tui.app import theming
from rentnumber_tui.app.options import AppOptions
from tests.app.contrast import (
    SIZE,
    cells_on_screen,
    contrast,
    hide_text_cursors,
    rental_with_code,
)

#: Rich's number for bright red among the 16 colours.
BRIGHT_RED = 9


def variables_of(name: str) -> dict[str, str]:
    """A built-in theme's variables, as `App.get_css_variables` builds them."""
    theme = BUILTIN_THEMES[name]
    return {**theme.to_color_system().generate(), **theme.variables}


def rgb(value: str) -> tuple[int, int, int]:
    return Color.parse(value).rgb


# -- choosing the theme -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theme", "color_system", "expected"),
    [
        ("textual-dark", "standard", "ansi-dark"),
        ("nord", "standard", "ansi-dark"),
        ("textual-light", "standard", "ansi-light"),
        ("textual-dark", "windows", "ansi-dark"),
        ("textual-dark", None, "ansi-dark"),
        ("textual-dark", "truecolor", "textual-dark"),
        ("textual-light", "256", "textual-light"),
        ("ansi-light", "standard", "ansi-light"),
    ],
)
def test_sixteen_colours_get_the_ansi_theme_of_the_same_lightness(
    theme: str, color_system: str | None, expected: str
) -> None:
    assert theming.theme_for_terminal(BUILTIN_THEMES[theme], color_system) == expected


@pytest.mark.parametrize(
    ("theme", "fitted"), [("textual-dark", "ansi-dark"), ("textual-light", "ansi-light")]
)
async def test_in_sixteen_colours_nothing_turns_bright_red_and_text_stays_readable(
    make_app, sandbox, theme: str, fitted: str
) -> None:
    saved: list[str] = []
    app = make_app(
        frozen_budget=True, options=AppOptions(demo=True, theme=theme, save_theme=saved.append)
    )
    async with app.run_test(size=SIZE) as pilot:
        await rental_with_code(app, pilot, sandbox)
        hide_text_cursors(app)
        await pilot.pause()
        # The bug: the hex theme, as a 16-colour terminal gets it.
        rounded = list(cells_on_screen(app, downgrade=ColorSystem.STANDARD))
        title = [c for c in rounded if c.widget.startswith("Static#topbar-title")]
        if theme == "textual-dark":
            assert title and all(c.ansi == BRIGHT_RED for c in title)

        app.fit_theme_to_terminal("standard")
        await pilot.pause()
        assert app.theme == fitted
        cells = list(cells_on_screen(app, downgrade=ColorSystem.STANDARD))
        assert any(c.widget.startswith("Digits") for c in cells)  # the code, drawn large
        assert not [c for c in cells if c.ansi == BRIGHT_RED]
        assert not [c for c in cells if c.ratio < c.needed]
        await pilot.pause()
    # The terminal's choice, not the person's: the settings keep the theme they chose.
    assert saved == []


# -- the adjusted variables ---------------------------------------------------------------


def test_colours_that_are_readable_are_left_as_they_are() -> None:
    """The default dark theme keeps its accent, success and foreground colours."""
    before = variables_of("textual-dark")
    after = theming.readable_variables(before, dark=True)
    for name in ("accent", "success", "warning", "foreground", "primary", "background"):
        assert after[name] == before[name], name


@pytest.mark.parametrize("name", [n for n, t in BUILTIN_THEMES.items() if not t.ansi])
def test_text_colours_reach_4_5_on_the_page_and_on_the_cursor_row(name: str) -> None:
    after = theming.readable_variables(variables_of(name), dark=BUILTIN_THEMES[name].dark)
    grounds = [
        rgb(after[n])
        for n in ("background", "surface", "panel", "block-cursor-background")
        if Color.parse(after[n]).a == 1
    ]
    assert len(grounds) >= 3
    for text in ("foreground", "accent", "success", "warning", "error", "block-cursor-foreground"):
        for ground in grounds:
            assert contrast(rgb(after[text]), ground) >= 4.5, (name, text, after[text], ground)


def test_a_colour_too_faint_keeps_its_hue() -> None:
    """`textual-light`: the orange accent (1.3:1 on its panel) becomes a dark orange."""
    before = variables_of("textual-light")
    after = theming.readable_variables(before, dark=False)
    old, new = Color.parse(before["accent"]), Color.parse(after["accent"])
    assert contrast(old.rgb, rgb(before["panel"])) < 1.5
    assert contrast(new.rgb, rgb(after["panel"])) >= 4.5
    assert new.hsl.h == pytest.approx(old.hsl.h, abs=0.02)
    assert new.hsl.l < old.hsl.l


def test_muted_text_gets_the_opacity_it_needs() -> None:
    """`auto 60%` is 4.3:1 on nord's panel; the opacity rises until it passes."""
    after = theming.readable_variables(variables_of("nord"), dark=True)
    assert after["text-muted"] != "auto 60%"
    percent = int(after["text-muted"].removeprefix("auto ").removesuffix("%"))
    assert 60 < percent <= 100


def test_ansi_themes_draw_the_cursor_row_in_reverse_video() -> None:
    for name in ("ansi-dark", "ansi-light"):
        after = theming.readable_variables(variables_of(name), dark=BUILTIN_THEMES[name].dark)
        assert after["block-cursor-background"] == "ansi_default"
        assert after["block-cursor-foreground"] == "ansi_default"
        assert "reverse" in after["block-cursor-text-style"]
        assert after["rn-on-primary"] == after["primary"]


def test_the_app_uses_the_adjusted_variables(make_app) -> None:
    """Both the CSS and the styles spans carry (`$success` in `Content`) read them."""
    app = make_app()
    app.theme = "textual-light"
    variables = app.get_css_variables()
    assert Color.parse(variables["accent"]) != Color.parse("#ffa62b")  # the orange
    assert app.theme_variables == variables
