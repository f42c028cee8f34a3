"""Text is readable in every theme the app offers: the colours a cell is drawn with,
as the compositor resolved them (CSS, theme variables and the styles spans carry in
`Content` such as `$success` or `$text-muted`), have a WCAG contrast ratio of at least
4.5:1 — body text, the top bar, the footer, dialogs, and the codes (the large `Digits`
and the code in the rentals bar and list).

What is held to a lower bar, and why:
- text in a disabled widget (a button that cannot be pressed): 3:1, WCAG's bar for
  large text; WCAG asks nothing of inactive controls, but it should still be legible;
- what shows through behind a modal dialog (the screen below, dimmed on purpose to say
  it is inactive) and line drawing (borders, scrollbars, separators): not checked.
  The box-drawing strokes of the large code (`Digits`) *are* the code, and are checked.

ANSI themes draw with the terminal's own palette: their cells are measured with the
palette Textual assumes when it has to convert (`App.ansi_theme`: Monokai for a dark
theme, Alabaster for a light one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.widgets import DataTable
from textual.widgets._toast import Toast

from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.confirm import ConfirmCancelScreen
from rentnumber_tui.app.screens.countries import CountriesScreen
from rentnumber_tui.app.screens.help import HelpScreen
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.login import LoginScreen
from rentnumber_tui.app.screens.rentals import RentalsScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.sandbox import Sandbox
from tests.app.contrast import (
    SIZE,
    TEXT,
    Cell,
    cells_on_screen,
    contrast,
    forget_rendered_options,
    hide_text_cursors,
    rental_with_code,
)
from tests.app.helpers import open_confirmation, open_prices, rent_cursor_offer
from tests.core.waiting import wait_until


def test_contrast_matches_the_wcag_figures() -> None:
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    # #767676 on white is the classic just-passing grey (4.54:1).
    assert contrast((0x76, 0x76, 0x76), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


# -- the screens --------------------------------------------------------------------------


Steps = Callable[[RentNumberApp, object, Sandbox], Awaitable[None]]


async def _services(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await wait_until(lambda: isinstance(app.screen, ServicesScreen))
    listing = app.screen.query_one(FilterList)
    await wait_until(lambda: bool(listing.shown) and app.engine.status().balance is not None)


async def _countries(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await _services(app, pilot, sandbox)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_until(lambda: isinstance(app.screen, CountriesScreen))
    await wait_until(lambda: bool(app.screen.query_one(FilterList).shown))


async def _prices(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await open_prices(app, pilot)
    await wait_until(lambda: app.engine.status().balance is not None)


async def _confirm_rent(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await open_prices(app, pilot)
    dialog = await open_confirmation(app, pilot)
    await wait_until(lambda: dialog.balance is not None)


async def _rental_waiting(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await open_prices(app, pilot)
    await rent_cursor_offer(app, pilot)


async def _code_in_rentals_bar(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    """Two rentals, one with a code, seen from the services screen (the rentals bar)."""
    await open_prices(app, pilot)
    first = await rent_cursor_offer(app, pilot)
    sandbox.deliver_sms(first, code="482913")
    await wait_until(lambda: any(r.code for r in app.engine.rentals()))
    while not isinstance(app.screen, ServicesScreen):
        await pilot.press("escape")  # type: ignore[attr-defined]
    await wait_until(lambda: app.screen.query_one("#rentals-bar").display)


async def _confirm_cancel(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await open_prices(app, pilot)
    await rent_cursor_offer(app, pilot)
    await pilot.press("x")  # type: ignore[attr-defined]
    await wait_until(lambda: isinstance(app.screen, ConfirmCancelScreen))


async def _history(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await open_prices(app, pilot)
    await rent_cursor_offer(app, pilot)
    await pilot.press("f3")  # type: ignore[attr-defined]
    await wait_until(lambda: isinstance(app.screen, HistoryScreen))
    await wait_until(lambda: app.screen.query_one(DataTable).row_count == 1)


async def _help(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await _services(app, pilot, sandbox)
    await pilot.press("f1")  # type: ignore[attr-defined]
    await wait_until(lambda: isinstance(app.screen, HelpScreen))


async def _login(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    await wait_until(lambda: isinstance(app.screen, ServicesScreen))
    await wait_until(lambda: app.engine.ready)
    await pilot.press("f6")  # type: ignore[attr-defined]
    await wait_until(lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)


async def _toasts(app: RentNumberApp, pilot: object, sandbox: Sandbox) -> None:
    """A notification of each severity, over the services screen."""
    await _services(app, pilot, sandbox)
    app.clear_notifications()
    for severity in ("information", "warning", "error"):
        app.notify(f"A {severity} toast.", title=severity.title(), severity=severity, timeout=600)  # type: ignore[arg-type]
    await wait_until(lambda: len(app.screen.query(Toast)) == 3)


SCREENS: dict[str, Steps] = {
    "services": _services,
    "countries": _countries,
    "prices": _prices,
    "confirm-rent": _confirm_rent,
    "rental-waiting": _rental_waiting,
    "rental-with-code": rental_with_code,
    "code-in-rentals-bar": _code_in_rentals_bar,
    "confirm-cancel": _confirm_cancel,
    "history": _history,
    "help": _help,
    "login": _login,
    "toasts": _toasts,
}


def _report(failures: list[tuple[str, Cell]]) -> str:
    lines = [
        f"{theme:<22} {c.ratio:5.2f}:1 < {c.needed}  {c.colours}  {c.widget:<36} {c.text[:30]!r}"
        for theme, c in failures
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("state", list(SCREENS))
async def test_text_is_readable_in_every_theme(make_app, sandbox, state: str) -> None:
    app = make_app(frozen_budget=True, options=AppOptions(demo=True))
    failures: list[tuple[str, Cell]] = []
    worst: dict[str, float] = {}
    async with app.run_test(size=SIZE, notifications=state == "toasts") as pilot:
        await SCREENS[state](app, pilot, sandbox)
        await pilot.pause()
        hide_text_cursors(app)
        themes = list(app.available_themes)
        assert {"textual-dark", "textual-light", "ansi-dark", "ansi-light"} <= set(themes)
        for theme in themes:
            app.theme = theme
            await pilot.pause()
            forget_rendered_options(app)
            await pilot.pause()
            cells = list(cells_on_screen(app))
            assert cells, f"nothing measured on {state} in {theme}"
            if isinstance(app.screen, RentalsScreen) and state == "rental-with-code":
                assert any(c.widget.startswith("Digits") for c in cells), theme
            worst[theme] = min(c.ratio for c in cells if c.needed == TEXT)
            failures += [
                (theme, c) for c in cells if c.ratio < c.needed and (theme, c) not in failures
            ]
    print(f"\n{state}: " + ", ".join(f"{t} {r:.2f}" for t, r in worst.items()))
    assert not failures, f"{state}:\n{_report(failures)}"
