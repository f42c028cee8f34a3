"""History works like a list (issue 12, part 6): `/` filters, Esc clears the filter
then goes back, `c` copies the code, `e` writes what is shown to CSV and JSON (path
said, readable by the user only), times in local time with the zone."""

from __future__ import annotations

import csv
import json
import stat
from dataclasses import replace

from textual.widgets import DataTable, Input

from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.screens.history import HistoryScreen
from rentnumber_tui.app.screens.services import ServicesScreen
from tests.app.helpers import open_prices, record_notes, rent_cursor_offer
from tests.core.waiting import wait_until

SIZE = (120, 30)


async def history_of_three(app, pilot, sandbox) -> list[int]:
    """Three rentals (WhatsApp Nigeria twice, Telegram Kenya once), one with a code."""
    await open_prices(app, pilot, "whats", "ng")
    ids = [await rent_cursor_offer(app, pilot)]
    await pilot.press("escape")
    engine = app.engine
    service = next(s for s in app.services if s.slug == "telegram")
    offers = (await engine.prices("telegram")).offers
    kenya = next(o for o in offers if o.available and o.iso_code == "KE")
    ids.append((await engine.rent(kenya, service)).rental_id)
    whatsapp = next(s for s in app.services if s.slug == "whatsapp")
    nigeria = next(o for o in (await engine.prices("whatsapp", 1)).offers if o.available)
    ids.append((await engine.rent(nigeria, whatsapp)).rental_id)
    sandbox.deliver_sms(ids[1], text="Telegram code 40411", code="40411")
    await wait_until(lambda: engine.rental(ids[1]).code == "40411", what="the code")
    return ids


async def test_filter_copy_and_local_times(make_app, sandbox, monkeypatch):
    app = make_app(options=AppOptions(demo=True, bell=False))
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await history_of_three(app, pilot, sandbox)
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        screen = app.screen
        table = screen.query_one(DataTable)
        await wait_until(lambda: table.row_count == 3, what="three rows")
        status = screen.query_one("#history-status")
        await wait_until(lambda: str(status.content).startswith("3 rentals · "), what="counted")
        # Local time, the zone in the title (the tests run in UTC).
        assert str(table.columns[next(iter(table.columns))].label) == "Created (UTC)"
        newest = screen.shown[0]
        assert str(table.get_row_at(0)[0]) == f"{newest.created_at:%Y-%m-%d %H:%M}"

        await pilot.press("slash")
        box = screen.query_one("#history-filter", Input)
        assert box.display and box.has_focus
        await pilot.press(*"kenya")
        await wait_until(lambda: table.row_count == 1, what="filtered to Kenya")
        await pilot.press("enter")
        assert table.has_focus
        await pilot.press("c")
        await wait_until(lambda: app.clipboard == "40411", what="the code copied")
        assert any("Copied the code 40411" in n for n in notes)

        await pilot.press("escape")  # clears the filter first
        await wait_until(lambda: table.row_count == 3, what="every row again")
        assert not box.display and isinstance(app.screen, HistoryScreen)
        assert app.screen.selected.code == "40411"  # the cursor stayed on its rental
        table.move_cursor(row=0)  # the newest: no code yet
        await pilot.press("c")
        await wait_until(lambda: any("This rental has no code yet." in n for n in notes))
        await pilot.press("escape")  # then goes back
        await wait_until(lambda: not isinstance(app.screen, HistoryScreen), what="back")


async def test_e_exports_what_is_shown(make_app, sandbox, monkeypatch, tmp_path):
    exports = tmp_path / "exports"
    app = make_app(options=AppOptions(demo=True, bell=False, export_dir=exports))
    notes = record_notes(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        ids = await history_of_three(app, pilot, sandbox)
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        table = app.screen.query_one(DataTable)
        await wait_until(lambda: table.row_count == 3, what="three rows")
        await pilot.press("slash", *"whatsapp", "enter")
        await wait_until(lambda: table.row_count == 2, what="WhatsApp only")
        await pilot.press("e")
        await wait_until(lambda: any(n.startswith("Exported 2 rentals to ") for n in notes))
        csv_file, json_file = sorted(exports.iterdir())
        assert csv_file.suffix == ".csv" and json_file.suffix == ".json"
        assert str(csv_file) in next(n for n in notes if n.startswith("Exported"))
        rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
        assert {int(r["id"]) for r in rows} == {ids[0], ids[2]}
        assert all(r["service"] == "WhatsApp" for r in rows)
        data = json.loads(json_file.read_text(encoding="utf-8"))
        assert {r["rental_id"] for r in data["rentals"]} == {ids[0], ids[2]}
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (csv_file, json_file))

        # A place that cannot be written is said, nothing else happens.
        blocked = tmp_path / "blocked"
        blocked.write_text("a file where the directory should be")
        app.options = replace(app.options, export_dir=blocked / "inside")
        await pilot.press("e")
        await wait_until(lambda: any(n.startswith("Could not export to ") for n in notes))
        assert isinstance(app.screen, HistoryScreen) and app.is_running


async def test_services_screen_is_home_after_history(make_app):
    """Esc from History without a filter goes back to where the person was."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await pilot.press("f3")
        await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="back home")
