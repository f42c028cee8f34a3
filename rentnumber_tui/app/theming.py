"""Readable colours in every theme, and a theme that suits the terminal.

Textual's built-in themes are designed for looks; several put text below WCAG's 4.5:1
(the orange accent on the light grey panel of `textual-light` is 1.3:1, its green
success 1.5-1.8:1). The screens colour text with the theme's own names (`$accent`,
`$success`, `$error`, `$text-muted`, ...), so the fix belongs here: `readable_variables`
takes the variables a theme generates and moves each text colour, keeping its hue,
just far enough towards white (dark themes) or black (light themes) to reach 4.5:1 on
every background it is drawn on — the screen, the surface of lists and dialogs, the
panel of the top bar and footer, and the cursor row. The cursor rows get a highlight a
step away from the background (instead of a saturated bar that coloured text cannot
contrast with). A colour that already passes is left exactly as it is.

ANSI themes draw with the terminal's own palette, which only the terminal knows: they
are left alone apart from pairs that are wrong in any palette.

In a terminal of 16 colours (`TERM=xterm`, `TERM=screen`), the hex colours of the other
themes are rounded to the nearest of 16, and the orange accent of the default theme
becomes bright red everywhere: `theme_for_terminal` chooses an ANSI theme instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence

from textual.color import BLACK, WHITE, Color, ColorParseError
from textual.theme import Theme

#: WCAG 2 AA for normal text, with a little room for the rounding of blended colours.
TEXT_RATIO = 4.6
#: For disabled text (WCAG asks nothing of it; the bar for large text keeps it legible).
DISABLED_RATIO = 3.1
#: How far the cursor row's highlight stands from the background.
CURSOR_STEP = 1.4
#: The same for the cursor of a list or table without focus.
BLURRED_CURSOR_STEP = 1.2

#: Theme variables that colour text on the page (screen, lists, dialogs, top bar).
PAGE_TEXT = (
    "foreground",
    "accent",
    "success",
    "warning",
    "error",
    "text-primary",
    "text-secondary",
    "text-accent",
    "text-success",
    "text-warning",
    "text-error",
    "button-foreground",
)
#: ... and in the footer, on its own background.
FOOTER_TEXT = ("footer-foreground", "footer-key-foreground", "footer-description-foreground")
#: Variables of the form `auto N%` (black or white, whichever contrasts): the opacity
#: each needs at least.
AUTO_TEXT = {"text": TEXT_RATIO, "text-muted": TEXT_RATIO, "text-disabled": DISABLED_RATIO}

_AUTO = re.compile(r"auto(?:\s+(\d+(?:\.\d+)?)%)?")

#: Themes for a 16-colour terminal.
ANSI_DARK = "ansi-dark"
ANSI_LIGHT = "ansi-light"


def luminance(color: Color) -> float:
    """WCAG 2 relative luminance of an opaque colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(color.r) + 0.7152 * linear(color.g) + 0.0722 * linear(color.b)


def contrast(one: Color, two: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _worst(color: Color, backgrounds: Iterable[Color]) -> float:
    return min(contrast(color, background) for background in backgrounds)


def readable_on(color: Color, backgrounds: Sequence[Color], ratio: float = TEXT_RATIO) -> Color:
    """`color` if it has `ratio` on every background; otherwise the same hue and
    saturation made just light enough (or dark enough, whichever contrasts more) to
    have it; at worst white or black."""
    if _worst(color, backgrounds) >= ratio:
        return color
    lighter = _worst(WHITE, backgrounds) >= _worst(BLACK, backgrounds)
    hue, saturation, lightness = color.hsl
    for step in range(1, 101):
        candidate = Color.from_hsl(
            hue,
            saturation,
            min(1.0, lightness + step / 100) if lighter else max(0.0, lightness - step / 100),
        )
        if _worst(candidate, backgrounds) >= ratio:
            return candidate
    return WHITE if lighter else BLACK


def step_from(background: Color, towards: Color, step: float) -> Color:
    """The colour between `background` and `towards` nearest `background` whose
    contrast with it reaches `step` (or `towards` itself, if nearer)."""
    for n in range(1, 51):
        candidate = background.blend(towards, n / 50, alpha=1.0)
        if contrast(candidate, background) >= step:
            return candidate
    return towards


def _opaque(value: str | None, over: Color) -> Color | None:
    """A variable's colour as drawn over `over`; None for `auto`, ANSI or not a colour."""
    if value is None:
        return None
    try:
        color = Color.parse(value)
    except ColorParseError:
        return None
    if color.auto or color.ansi is not None:
        return None
    return over + color if color.a < 1 else color


def _auto_alpha(value: str) -> float | None:
    """The opacity of an `auto N%` value (`auto`: 1); None for anything else."""
    match = _AUTO.fullmatch(value.strip())
    if match is None:
        return None
    return float(match[1]) / 100 if match[1] else 1.0


def _auto_on(background: Color, alpha: float) -> Color:
    return background + background.get_contrast_text(alpha)


def readable_variables(variables: Mapping[str, str], *, dark: bool) -> dict[str, str]:
    """`variables` (a theme's, as `App.get_css_variables` returns them) with every text
    colour readable on every background text is drawn on, and the app's own `rn-*`
    variables defined. ANSI themes: see `_ansi_variables`."""
    result = dict(variables)
    background = _opaque(variables.get("background"), BLACK)
    if background is None:
        return _ansi_variables(result, dark=dark)
    surface = _opaque(variables.get("surface"), background) or background
    panel = _opaque(variables.get("panel"), background) or surface
    foreground = _opaque(variables.get("foreground"), background) or WHITE
    page: list[Color] = [background, surface, panel]
    for name in ("boost", "block-hover-background"):
        over_background = _opaque(variables.get(name), background)
        over_surface = _opaque(variables.get(name), surface)
        page += [c for c in (over_background, over_surface) if c is not None]
    # Focused inputs, lists and tables tint their surface (and a table its header on
    # the panel) with the foreground, 5%.
    page += [surface + foreground.with_alpha(0.05), panel + foreground.with_alpha(0.05)]

    cursor_base = _opaque(variables.get("block-cursor-background"), surface)
    if cursor_base is not None:
        cursor = step_from(surface, cursor_base, CURSOR_STEP)
        blurred = step_from(surface, cursor_base, BLURRED_CURSOR_STEP)
        result["block-cursor-background"] = cursor.hex
        result["block-cursor-blurred-background"] = blurred.hex
        page += [cursor, blurred]

    for name in PAGE_TEXT:
        color = _opaque(variables.get(name), background)
        if color is not None:
            result[name] = readable_on(color, page).hex
    # The cursor rows carry the ordinary text colour; Textual's default for the focused
    # cursor is `$text`, made for the saturated bar replaced above.
    if cursor_base is not None:
        result["block-cursor-foreground"] = result["foreground"]
        result["block-cursor-blurred-foreground"] = result["foreground"]

    for name, ratio in AUTO_TEXT.items():
        alpha = _auto_alpha(variables.get(name, ""))
        if alpha is None:
            continue
        while alpha < 1 and _worst_auto(page, alpha) < ratio:
            alpha = min(1.0, alpha + 0.02)
        result[name] = f"auto {round(alpha * 100)}%"

    # The footer has a background of its own (solarized: blue).
    footer = _opaque(variables.get("footer-background"), background) or panel
    footers = [footer] + [
        c
        for name in (
            "footer-item-background",
            "footer-key-background",
            "footer-description-background",
        )
        if (c := _opaque(variables.get(name), footer)) is not None
    ]
    for name in FOOTER_TEXT:
        color = _opaque(variables.get(name), footer)
        if color is not None:
            result[name] = readable_on(color, footers).hex

    # Text on a button of a colour (Rent, Cancel rental, Quit): white or black, as
    # Textual's `auto` would choose (by perceived brightness), unless that one is under
    # 4.5:1 — on mid-tones such as solarized's blue it is the weaker of the two.
    for variant in ("primary", "success", "warning", "error"):
        fill = _opaque(result.get(variant), background)
        result[f"rn-on-{variant}"] = "auto 90%" if fill is None else _text_on(fill).hex
    return result


def _text_on(fill: Color) -> Color:
    """White or black on `fill`: the one Textual's `auto` picks, if it reaches 4.5:1."""
    preferred, other = (WHITE, BLACK) if fill.brightness < 0.5 else (BLACK, WHITE)
    return preferred if contrast(preferred, fill) >= 4.5 else other


def _ansi_variables(variables: dict[str, str], *, dark: bool) -> dict[str, str]:
    """An ANSI theme's variables, with what is wrong in any palette put right:

    - the cursor row: Textual draws it in one colour of the palette on another
      (`ansi_white` under the default text in `ansi-dark`, the success green on it:
      1.1:1 in Monokai's palette). Reverse video instead — the terminal's own two
      colours swapped, and a coloured word keeps the contrast it has elsewhere;
    - `ansi-light`'s success (the codes, "online"): green on a light background is weak
      in every common palette (xterm 2.0:1, GNOME 3.2:1, Alabaster 3.9:1): the
      terminal's own text colour (codes are bold, so they still stand out); its
      warning, bright red (3.3:1 in Alabaster): red, as errors;
    - the app's own `rn-on-*`: a button's text in the colour of its variant on the
      terminal's background (what Textual does for ANSI buttons)."""
    variables["block-cursor-foreground"] = "ansi_default"
    variables["block-cursor-background"] = "ansi_default"
    variables["block-cursor-text-style"] = "bold reverse"
    if not dark:
        variables["success"] = "ansi_default"
        variables["text-success"] = "ansi_default"
        variables["warning"] = "ansi_red"
        variables["text-warning"] = "ansi_red"
    for variant in ("primary", "success", "warning", "error"):
        variables[f"rn-on-{variant}"] = variables.get(variant, "ansi_default")
    return variables


def _worst_auto(backgrounds: Collection[Color], alpha: float) -> float:
    return min(contrast(_auto_on(b, alpha), b) for b in backgrounds)


def theme_for_terminal(theme: Theme, color_system: str | None) -> str:
    """The theme to use: `theme`, unless the terminal has 16 colours or fewer (Rich's
    `standard`, `windows`; None: no colour at all) and `theme` is drawn in hex
    colours — then the ANSI theme of the same lightness."""
    if theme.ansi or color_system in ("truecolor", "256"):
        return theme.name
    return ANSI_DARK if theme.dark else ANSI_LIGHT
