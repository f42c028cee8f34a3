"""Make the SVG screenshots in this folder from the demo (the in-process sandbox).

The sandbox runs on a fixed clock and seed, so the pictures change only when the app's
look does.    .venv/bin/python screenshots/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rentnumber_tui.api.clock import ServerClock
from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.app.widgets.filter_list import FilterList
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.store import Store
from rentnumber_tui.launch import sandbox_client_factory
from rentnumber_tui.sandbox import ManualClock, Sandbox, SandboxConfig

HERE = Path(__file__).resolve().parent
SIZE = (100, 30)


async def until(condition, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the demo did not reach the expected state")
        await asyncio.sleep(0.02)


async def main() -> None:
    clock = ManualClock(datetime(2026, 4, 12, 14, 0, tzinfo=UTC))
    sandbox = Sandbox(SandboxConfig(seed=1, sms_delay=(20, 40)), clock=clock)
    factory = sandbox_client_factory(
        sandbox,
        scheduler=RequestScheduler(),
        server_clock=ServerClock(time_func=lambda: clock.now().timestamp()),
    )
    engine = Engine(factory, Store(":memory:", "screenshots"))
    engine.request_stats = lambda: (1, 0, 2.0)  # type: ignore[method-assign]
    app = RentNumberApp(engine, AppOptions(demo=True, bell=False, notifications=False))

    def shot(name: str) -> None:
        app.save_screenshot(str(HERE / f"{name}.svg"))
        print(f"screenshots/{name}.svg")

    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.screen.query(FilterList) and app.engine.status().balance)
        await until(lambda: app.screen.query_one(FilterList).shown)
        await pilot.pause()
        shot("services")
        await pilot.press(*"whats", "enter")
        await until(lambda: app.screen.query_one(FilterList).shown)
        await pilot.press("enter")  # all countries
        await until(lambda: app.screen.query(OfferTable))
        table = app.screen.query_one(OfferTable)
        await until(lambda: table.row_count > 0)
        await pilot.pause()
        shot("prices")
        first = next(i for i, offer in enumerate(table.visible_offers) if offer.available)
        table.move_cursor(first)
        await pilot.press("enter")
        await until(lambda: getattr(app.screen, "balance", None) is not None)
        await pilot.pause()
        shot("confirm-rent")
        await pilot.press("y")
        await until(lambda: app.engine.rentals())
        rental = app.engine.rentals()[0]
        await pilot.pause()
        shot("rental-waiting")
        sandbox.deliver_sms(rental.rental_id)
        await until(lambda: app.engine.rental(rental.rental_id).code)
        await pilot.pause(0.2)
        shot("rental-code")
        await pilot.press("f3")
        await until(
            lambda: app.screen.query("DataTable") and app.screen.query_one("DataTable").row_count
        )
        await pilot.pause()
        shot("history")
        await pilot.press("f1")
        await pilot.pause()
        shot("help")


if __name__ == "__main__":
    asyncio.run(main())
