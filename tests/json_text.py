"""JSON text with raw values spliced in: numbers no Python value prints as
(`1e999999999999`, 5,000 digits), exactly as a hostile server would send them."""

from __future__ import annotations

import copy
import json
from typing import Any

#: A change: the place (keys and list indexes), what to do ("replace", "remove", or
#: "add" an unknown field beside it) and the raw JSON text to put there.
Change = tuple[tuple[Any, ...], str, str]

_HOLE = "\x00hole\x00"


def edited(body: Any, changes: list[Change]) -> str:
    """`body` as JSON text with each change made; a change to a place an earlier one
    removed or replaced is skipped."""
    body = copy.deepcopy(body)
    fills: list[str] = []
    for path, action, text in changes:
        parent: Any = body
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if action == "replace":
                parent[last] = f"{_HOLE}{len(fills)}"
                fills.append(text)
            elif action == "remove" and isinstance(parent, dict):
                parent.pop(last, None)
            elif action == "add" and isinstance(parent, dict):
                parent[f"x_{len(fills)}"] = f"{_HOLE}{len(fills)}"
                fills.append(text)
        except (KeyError, IndexError, TypeError):
            continue
    out = json.dumps(body, ensure_ascii=False)
    for i, text in enumerate(fills):
        out = out.replace(json.dumps(f"{_HOLE}{i}", ensure_ascii=False), text)
    return out
