"""Waiting on a condition (never a blind sleep) for tests that cross threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.css.query import NoMatches

#: A wait is only a guard against a hang, never a speed check (speed is measured by the
#: benchmarks): on a loaded machine a step that takes 50 ms may take seconds, so every
#: wait allows at least this long before it fails.
MIN_TIMEOUT = 30.0


async def wait_until(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Return as soon as `condition()` is true; fail after `timeout` seconds (at least
    `MIN_TIMEOUT`). A condition that queries a widget not composed yet (`NoMatches`: a
    screen just pushed) is not true yet."""
    deadline = time.monotonic() + max(timeout, MIN_TIMEOUT)
    while not _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


def _holds(condition: Callable[[], object]) -> bool:
    try:
        return bool(condition())
    except NoMatches:
        return False
