"""One process of the program, for `test_shared_budget`: a burst of BACKGROUND requests
through `shared_scheduler(path)` against a sandbox, and (with --user) one USER request
once a line arrives on stdin. Prints `{"grants": [[ledger time, priority], ...]}`.

    python tests/api/budget_worker.py LEDGER BASE_URL API_KEY --background N [--user]

(The key comes as an argument so that the worker need not import the sandbox.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import rentnumber_tui.api.client as client_module
from rentnumber_tui.api import Priority, RentNumberClient
from rentnumber_tui.api.scheduler import Ticket
from rentnumber_tui.api.shared_budget import shared_scheduler


async def run(
    path: str, base_url: str, api_key: str, background: int, user: bool
) -> list[list[float]]:
    scheduler = shared_scheduler(path)
    grants: list[list[float]] = []
    original = scheduler.slot

    @asynccontextmanager
    async def recording_slot(priority: Priority = Priority.USER) -> AsyncIterator[Ticket]:
        async with original(priority) as ticket:
            grants.append([scheduler.clock(), int(priority)])
            yield ticket

    scheduler.slot = recording_slot  # type: ignore[method-assign]
    # The test holds everyone with a pause it keeps extending; the person's request must
    # queue behind it like any other, not be answered at once with the time left (what
    # the app does for a person during a server's 429 pause).
    client_module.TELL_PAUSE_AFTER = float("inf")
    client = RentNumberClient(api_key=api_key, base_url=base_url, scheduler=scheduler, timeout=10.0)
    try:
        burst = [
            asyncio.create_task(client.balance(priority=Priority.BACKGROUND))
            for _ in range(background)
        ]
        if user:
            await asyncio.to_thread(sys.stdin.readline)  # the test says when
            await client.services(priority=Priority.USER)
        await asyncio.gather(*burst)
    finally:
        await client.aclose()
    return grants


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("ledger")
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("--background", type=int, default=3)
    parser.add_argument("--user", action="store_true")
    args = parser.parse_args()
    grants = asyncio.run(run(args.ledger, args.base_url, args.api_key, args.background, args.user))
    print(json.dumps({"grants": grants}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
