"""SMS-to-screen: how long after the sandbox delivers an SMS its code is on screen,
with N rentals active at once (N = 1, 5, 20), at the real request budget (2 per second,
the default poll settings).

The sandbox runs on the real clock; every rental's SMS arrives at a seeded random
moment. For each rental the latency is the time the App (UI thread) has the code minus
the moment the sandbox delivered it. Target: p95 within max(1 s, N/2 s) + 0.5 s.

    .venv/bin/python benchmarks/bench_sms_to_screen.py [--counts 1 5 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rentnumber_tui.api.scheduler import RequestScheduler
from rentnumber_tui.app.app import RentNumberApp
from rentnumber_tui.app.options import AppOptions
from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.store import Store
from rentnumber_tui.launch import sandbox_client_factory
from rentnumber_tui.sandbox import Sandbox, SandboxConfig


async def measure(count: int, seed: int) -> list[float]:
    # SMS arrive after everything is rented (at 2 requests/s that takes ~count/2 s).
    start_delay = count / 2 + 3
    sandbox = Sandbox(SandboxConfig(seed=seed, sms_delay=(start_delay, start_delay + 20)))
    engine = Engine(
        sandbox_client_factory(sandbox, scheduler=RequestScheduler()), Store(":memory:", "b")
    )
    app = RentNumberApp(engine, AppOptions(demo=True, bell=False, notifications=False))
    seen: dict[int, float] = {}
    original = app._rental_changed

    def record(rental, new_code):
        if rental.code and rental.rental_id not in seen:
            seen[rental.rental_id] = time.time()
        original(rental, new_code)

    app._rental_changed = record  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        while not engine.ready:
            await asyncio.sleep(0.01)
        prices = await engine.prices("telegram")
        offers = [o for o in prices.offers if o.available]
        service = next(s for s in await engine.services() if s.slug == "telegram")
        ids = []
        for index in range(count):
            rental = await engine.rent(offers[index % len(offers)], service)
            ids.append(rental.rental_id)
        deadline = time.time() + start_delay + 60
        while len(seen) < count and time.time() < deadline:
            await pilot.pause(0.1)
    latencies = []
    for rental_id in ids:
        delivered = sandbox.sms_delivered_at(rental_id)
        if rental_id in seen and delivered is not None:
            latencies.append(seen[rental_id] - delivered.timestamp())
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--rounds", type=int, default=2, help="runs per N (latencies pooled)")
    args = parser.parse_args()
    print("SMS-to-screen latency (seconds from the sandbox delivering to the code on screen)")
    for count in args.counts:
        pooled: list[float] = []
        for round_ in range(args.rounds):
            pooled += asyncio.run(measure(count, seed=100 + round_))
        bound = max(1.0, count / 2) + 0.5
        print(
            f"  N={count:<3} samples={len(pooled):<3} median {statistics.median(pooled):5.2f}"
            f"  p95 {p95(pooled):5.2f}  max {max(pooled):5.2f}   target p95 <= {bound:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
