"""A third process on the account, for the multi-process tests: the same engine the TUI
runs (built by the launcher: same store, same request budget), with no screen. It rents
`count` numbers one after another and asks about each of them at once (person-priority
polls), then prints a JSON line with the rental ids and exits.

    python -m tests.e2e.burst_worker BASE_URL COUNT SLUG PRICING_ID
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rentnumber_tui.api.models import Offer


async def burst(base_url: str, count: int, slug: str, pricing_id: int) -> list[int]:
    from rentnumber_tui.launch import _real_engine

    built = _real_engine(
        argparse.Namespace(profile="default", base_url=base_url, allow_insecure_http=False)
    )
    if isinstance(built, str):
        raise SystemExit(built)
    engine, _ = built
    engine.start()
    try:
        services = await engine.services()
        service = next(s for s in services if s.slug == slug)
        prices = await engine.prices(slug)
        offer: Offer | None = next((o for o in prices.offers if o.id == pricing_id), None)
        assert offer is not None, "no such offer"
        ids = []
        for _ in range(count):
            rental = await engine.rent(offer, service)
            ids.append(rental.rental_id)
        await asyncio.gather(*(engine.refresh_rental(rental_id) for rental_id in ids))
        return ids
    finally:
        engine.stop()
        engine.store.close()


def main() -> int:
    base_url, count, slug, pricing_id = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ids = asyncio.run(burst(base_url, count, slug, pricing_id))
    print(json.dumps({"rentals": ids}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
