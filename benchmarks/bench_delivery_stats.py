"""The delivery statistics query at 10,000 local rentals (target < 50 ms): what the
price table asks the store for when it opens, timed around `Store.delivery_rows` and
`delivery_stats` on a real SQLite file.

    python benchmarks/bench_delivery_stats.py [--rentals 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rentnumber_tui.api.models import RentalStatus  # noqa: E402
from rentnumber_tui.core.delivery import delivery_stats  # noqa: E402
from rentnumber_tui.core.rentals import OfferRef, RentalLabels, TrackedRental  # noqa: E402
from rentnumber_tui.core.store import Store  # noqa: E402


def fill(store: Store, count: int, services: int) -> None:
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(count):
        delivered = rng.random() < 0.8
        created = start + timedelta(minutes=n)
        slug = "whatsapp" if n % services == 0 else f"service{n % services}"
        store.save_rental(
            TrackedRental(
                rental_id=n + 1,
                phone=f"+234800{n:07d}",
                status=RentalStatus.COMPLETED if delivered else RentalStatus.EXPIRED,
                cost=Decimal("450.00"),
                labels=RentalLabels(service=slug, service_slug=slug, provider="P"),
                code="123456" if delivered else None,
                created_at=created,
                code_seen_at=created + timedelta(seconds=rng.uniform(5, 300))
                if delivered
                else None,
                offer=OfferRef(n % 50 + 1, rng.randrange(1, 30), rng.randrange(1, 8)),
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rentals", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for services, label in ((1, "all of one service"), (20, "spread over 20 services")):
            store = Store(Path(tmp) / f"store-{services}.sqlite3", "bench")
            fill(store, args.rentals, services)
            times = []
            for _ in range(21):
                began = time.perf_counter()
                stats = delivery_stats(store.delivery_rows("whatsapp"))
                times.append((time.perf_counter() - began) * 1000)
            store.close()
            print(
                f"{args.rentals} local rentals, {label}: statistics for one service in "
                f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
                f"({len(stats)} country × provider pairs; target < 50 ms)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
