"""Benchmark the price table (`OfferTable`) against a plain `DataTable`.

Run: `.venv/bin/python benchmarks/bench_offer_table.py [--runs N] [--quick]`

It prints figures; it asserts nothing (timings are not tests, DESIGN.md "Testing").
Targets from the issue: 10,000 offers load to first paint < 200 ms; a sort or filter
keystroke to repaint < 100 ms; 50,000 offers: no event-loop stall > 100 ms.

How "paint" is measured (honestly, in a headless `App.run_test(size=(120, 40))`):

- The table's `render_line` is wrapped to note that the table drew a line after the
  action started, and `App._display` (the point where the compositor hands a finished
  frame to the driver) is wrapped to time the first frame after that. In the wrapper
  the frame is also encoded to terminal escape sequences (`render_segments`), which a
  real terminal run would do and the headless driver skips, so that cost is counted.
- "load": from just before `set_offers(...)` (or `DataTable.add_rows(...)`) to that
  first frame. "until pilot.pause() returns": until the app has also processed
  everything pending; for the DataTable this includes measuring every cell, for both it
  includes pilot's own idle polling (a few tens of ms), so read it as an upper bound.
- "sort key" / "filter key": from `pilot.press(key)` to the first frame drawn after the
  table re-rendered. The screen's refresh timer (up to 1/60 s) is included, as a user
  would see it. The filter key goes to an `Input` whose `Changed` handler filters.
  A DataTable has no filter: its baseline is the usual `clear()` + `add_rows(matches)`.
- Each run starts with `gc.collect()`, so one run's garbage (a whole App) is not
  collected during the next; the collector's own full passes during a run (the 50,000
  offers are GC-tracked objects) are counted in the stall, as a user would feel them.
- "max stall": a ticker task wakes every 5 ms (`await asyncio.sleep(0.005)`) and records
  the longest gap beyond 5 ms while the loading, a sort, a filter keystroke and paging
  happen: the longest time the event loop could not answer a key press.

Medians over `--runs` runs (default 5; 50,000-offer runs default to 3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import on
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Input

from rentnumber_tui.api.models import Offer
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.core.money import format_money

SIZE = (120, 40)
FILTER_KEY = "a"  # typed into the filter: matches many providers and countries


def make_offers(count: int, seed: int = 7) -> list[Offer]:
    """Deterministic offers: 60 providers, 200 countries, some sold out."""
    rng = random.Random(seed)
    providers = [f"{rng.choice(['Alpha', 'Beta', 'Nova', 'Orbit', 'Zen'])} {i}" for i in range(60)]
    countries = [
        (i, f"Country {chr(65 + i % 26)}{i:03d}", chr(65 + i % 26) + chr(65 + (i * 7) % 26))
        for i in range(200)
    ]
    offers = []
    for i in range(count):
        country_id, country, iso = rng.choice(countries)
        provider = rng.randrange(len(providers))
        offers.append(
            Offer(
                id=i + 1,
                price=Decimal(rng.randrange(5_000, 2_000_000)) / 100,
                stock=rng.choice((0, 0, 1, 5, 20, 120, 3000, rng.randrange(1, 10_000))),
                provider_id=provider,
                provider_name=providers[provider],
                country_id=country_id,
                country_name=country,
                iso_code=iso,
            )
        )
    return offers


class Probe:
    """Times the first frame after the watched widget re-rendered."""

    def __init__(self, app: App, widget: Widget) -> None:
        self.app = app
        self.t0 = 0.0
        self.painted = asyncio.Event()
        self.paint_time = 0.0
        self._drew = False
        self._armed = False
        original_render_line = widget.render_line
        original_display = app._display

        def render_line(y: int) -> Any:
            if self._armed:
                self._drew = True
            return original_render_line(y)

        def display(screen: Any, renderable: Any) -> None:
            if self._armed and self._drew and renderable is not None:
                if isinstance(renderable, CompositorUpdate):
                    renderable.render_segments(app.console)  # what a terminal run costs
                self.paint_time = time.perf_counter() - self.t0
                self._armed = False
                self.painted.set()
            original_display(screen, renderable)

        widget.render_line = render_line  # type: ignore[method-assign]
        app._display = display  # type: ignore[method-assign]

    def arm(self) -> None:
        self.painted.clear()
        self._drew = False
        self._armed = True
        self.t0 = time.perf_counter()

    async def wait(self, timeout: float = 60.0) -> float:
        await asyncio.wait_for(self.painted.wait(), timeout)
        return self.paint_time


class StallMeter:
    """Longest gap between 5 ms ticks of a task on the event loop."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.max_stall = 0.0
        self._task: asyncio.Task[None] | None = None
        self._running = asyncio.Event()

    async def _tick(self) -> None:
        last = time.perf_counter()
        self._running.set()
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.max_stall = max(self.max_stall, now - last - self.interval)
            last = now

    async def start(self) -> None:
        """Start ticking; returns once the ticker runs, so nothing before is missed."""
        self.max_stall = 0.0
        self._running.clear()
        self._task = asyncio.get_running_loop().create_task(self._tick())
        await self._running.wait()

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.max_stall


# -- the two apps ------------------------------------------------------------------------


class OfferTableApp(App[None]):
    CSS = "OfferTable { height: 1fr; }"
    BINDINGS = [Binding("p", "sort('price')"), Binding("s", "sort('stock')")]
    FIRST_LAST_KEYS = ("home", "end")

    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        yield OfferTable(id="table")

    def action_sort(self, column: str) -> None:
        self.query_one(OfferTable).sort_by(column)

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(OfferTable).set_filter(event.value)

    def load(self, offers: list[Offer]) -> Any:
        return self.query_one(OfferTable).set_offers(offers)


class DataTableApp(App[None]):
    CSS = "DataTable { height: 1fr; }"
    BINDINGS = [Binding("p", "sort('price')"), Binding("s", "sort('stock')")]
    FIRST_LAST_KEYS = ("ctrl+home", "ctrl+end")  # DataTable's home/end move sideways

    def __init__(self) -> None:
        super().__init__()
        self.offers: list[Offer] = []
        self.reverse = False

    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        yield DataTable(id="table", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Price", "Stock", "Provider", "Country")

    @staticmethod
    def row(offer: Offer) -> tuple[Any, ...]:
        return (
            format_money(offer.price),
            offer.stock if offer.stock > 0 else "sold out",
            offer.provider_name,
            f"{offer.country_name} ({offer.iso_code})",
        )

    def load(self, offers: list[Offer]) -> None:
        self.offers = offers
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows([self.row(o) for o in offers])

    def action_sort(self, column: str) -> None:
        table = self.query_one(DataTable)
        self.reverse = not self.reverse
        key = table.ordered_columns[0 if column == "price" else 1].key
        table.sort(
            key,
            key=lambda v: (
                Decimal(v.replace("₦", "").replace(",", ""))
                if isinstance(v, str) and v.startswith("₦")
                else (v if isinstance(v, int) else -1)
            ),
            reverse=self.reverse,
        )

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        needle = event.value.casefold()
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [
                self.row(o)
                for o in self.offers
                if needle in o.provider_name.casefold() or needle in o.country_name.casefold()
            ]
        )


# -- scenarios ---------------------------------------------------------------------------


async def wait_loaded(app: App, worker: Any) -> None:
    """Wait for OfferTable's indexing worker (only for big lists); its result is applied
    on the loop (call_from_thread) before the worker completes."""
    if worker is not None:
        await worker.wait()


async def run_10k(app_cls: Callable[[], App[None]], offers: list[Offer]) -> dict[str, float]:
    gc.collect()  # start clean: the previous run's app is garbage now
    app = app_cls()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#table")
        probe = Probe(app, table)
        table.focus()
        await pilot.pause()

        probe.arm()
        worker = app.load(offers)  # type: ignore[attr-defined]
        load = await probe.wait()
        await wait_loaded(app, worker)
        await pilot.pause()
        settled = time.perf_counter() - probe.t0

        probe.arm()
        await pilot.press("p")
        sort = await probe.wait()
        await pilot.pause()

        app.query_one("#filter").focus()
        await pilot.pause()
        probe.arm()
        await pilot.press(FILTER_KEY)
        filter_ = await probe.wait()
        await pilot.pause()
    return {"load": load, "settled": settled, "sort": sort, "filter": filter_}


async def run_stall(app_cls: Callable[[], App[None]], offers: list[Offer]) -> dict[str, float]:
    gc.collect()  # start clean: the previous run's app is garbage now
    app = app_cls()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#table")
        probe = Probe(app, table)
        table.focus()
        await pilot.pause()
        meter = StallMeter()
        await meter.start()
        started = time.perf_counter()
        probe.arm()
        worker = app.load(offers)  # type: ignore[attr-defined]
        await probe.wait()
        await wait_loaded(app, worker)
        await pilot.pause()
        load = time.perf_counter() - started
        for key in ("p", "p", "s", "pagedown", *app.FIRST_LAST_KEYS[::-1]):  # type: ignore[attr-defined]
            probe.arm()
            await pilot.press(key)
            await probe.wait()
        app.query_one("#filter").focus()
        await pilot.pause()
        for key in (FILTER_KEY, "backspace"):
            probe.arm()
            await pilot.press(key)
            await probe.wait()
        await pilot.pause()
        stall = await meter.stop()
    return {"stall": stall, "load50k": load}


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(value: float) -> str:
    return f"{value * 1000:8.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs for 10,000 offers")
    parser.add_argument("--stall-runs", type=int, default=3, help="runs for 50,000 offers")
    parser.add_argument("--quick", action="store_true", help="1 run each, skip DataTable 50k")
    args = parser.parse_args()
    runs, stall_runs = (1, 1) if args.quick else (args.runs, args.stall_runs)

    offers_10k = make_offers(10_000)
    offers_50k = make_offers(50_000)
    results: dict[str, dict[str, list[float]]] = {"OfferTable": {}, "DataTable": {}}

    for name, app_cls in (("OfferTable", OfferTableApp), ("DataTable", DataTableApp)):
        for _ in range(runs):
            for key, value in (await run_10k(app_cls, offers_10k)).items():
                results[name].setdefault(key, []).append(value)
        n_stall = stall_runs if name == "OfferTable" else (0 if args.quick else 1)
        for _ in range(n_stall):
            for key, value in (await run_stall(app_cls, offers_50k)).items():
                results[name].setdefault(key, []).append(value)

    rows = [
        ("10,000 offers: set_offers -> first paint", "load", "< 200 ms"),
        ("10,000 offers: until pilot.pause() returns", "settled", ""),
        ("10,000 offers: sort keystroke -> repaint", "sort", "< 100 ms"),
        ("10,000 offers: filter keystroke -> repaint", "filter", "< 100 ms"),
        ("50,000 offers: load -> pilot.pause() returns", "load50k", ""),
        ("50,000 offers: max event-loop stall", "stall", "< 100 ms"),
    ]
    print(f"\nOfferTable vs DataTable, size {SIZE[0]}x{SIZE[1]}, medians of {runs} run(s)")
    print(f"(50,000: {stall_runs} run(s) for OfferTable, 1 for DataTable)\n")
    print(f"{'measure':44} {'OfferTable':>11} {'DataTable':>11}  target")
    print("-" * 80)
    for label, key, target in rows:
        cells = []
        for name in ("OfferTable", "DataTable"):
            values = results[name].get(key)
            cells.append(ms(median(values)) if values else f"{'-':>11}")
        print(f"{label:44} {cells[0]:>11} {cells[1]:>11}  {target}")
    print()
    for key in ("load", "sort", "filter", "stall"):
        values = results["OfferTable"].get(key, [])
        if values:
            print(f"OfferTable {key:7} runs: " + ", ".join(f"{v * 1000:.1f}" for v in values))


if __name__ == "__main__":
    asyncio.run(main())
