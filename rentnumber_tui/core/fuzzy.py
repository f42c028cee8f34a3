"""Fuzzy filtering for the service and country lists: instant on thousands of entries.

A candidate matches when the query's characters appear in it in order. Exact and prefix
matches rank first, then matches at word starts, then compact matches; ties keep the
input order, so results are stable while typing.

Above all of them come exact terms: an item may also have words that match only when
typed in full (a service's code, its short names such as `tg` for Telegram), so a
two-letter alias is never beaten by a name that merely contains those letters
(`tg` in "OpenAI / ChatGPT").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

#: The score of a query equal to one of an item's exact terms: above any fuzzy score
#: (an exact name scores 1000).
EXACT_TERM = 2000.0


def score(query: str, candidate: str) -> float:
    """How well `candidate` matches `query` (case-insensitive); 0 means no match."""
    if not query:
        return 1.0
    q = query.casefold()
    c = candidate.casefold()
    if c == q:
        return 1000.0
    if c.startswith(q):
        return 500.0 + len(q) / len(c)
    at = c.find(q)
    if at >= 0:
        word_start = at == 0 or not c[at - 1].isalnum()
        return (300.0 if word_start else 200.0) + len(q) / len(c)
    # In-order subsequence: reward characters at word starts and tight spans.
    position = 0
    first = -1
    bonus = 0.0
    for char in q:
        found = c.find(char, position)
        if found < 0:
            return 0.0
        if first < 0:
            first = found
        if found == 0 or not c[found - 1].isalnum():
            bonus += 1.0
        position = found + 1
    span = position - first
    return 10.0 + bonus * 5.0 + 10.0 * len(q) / span


def rank(
    query: str,
    items: Iterable[T],
    keys: Callable[[T], Sequence[str]],
    exact: Callable[[T], Collection[str]] | None = None,
) -> list[T]:
    """Items matching `query` in any of their keys, best first (stable for ties).

    `exact(item)`: the item's exact terms, casefolded; a query equal to one of them
    (any case) ranks the item above every fuzzy match."""
    query = query.strip()
    if not query:
        return list(items)
    folded = query.casefold()
    scored: list[tuple[float, int, T]] = []
    for index, item in enumerate(items):
        if exact is not None and folded in exact(item):
            best = EXACT_TERM
        else:
            best = max((score(query, key) for key in keys(item)), default=0.0)
        if best > 0:
            scored.append((-best, index, item))
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in scored]
