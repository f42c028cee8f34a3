"""`HostileProxy`: a server that is not our sandbox, for issue 11's cases.

It stands on 127.0.0.1 in front of the sandbox and passes every request through, but
rewrites the answers that match a rule: a field set to raw JSON text the sandbox would
never send (`1e999999999999`, a 5,000-digit id, a row without its date, a status it
does not document), or the whole answer replaced (a 429 with `Retry-After:
99999999999`, a 401). It logs every request with its arrival time and the status sent,
so a test counts what the app asked for on the server's side, not the app's own idea.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from tests.e2e.delaying_proxy import Answer, DelayingProxy
from tests.json_text import Change, edited

Edit = Callable[[Answer], Answer]


class Seen(NamedTuple):
    """One request as the proxy answered it (`at` from `time.monotonic()`)."""

    at: float
    method: str
    path: str  # below the API root, without the query: "/rental/1001"
    status: int
    rewritten: bool


@dataclass
class Rule:
    """Answers to `method` `path` (a regular expression over the path below the API
    root) are rewritten by `edit`, the next `times` times (None: every time) — only
    for requests that arrive once the rule is in place (one already on its way is
    answered as it would have been: its asker may no longer be listening)."""

    method: str
    path: str
    edit: Edit
    times: int | None = None
    since: float = field(default_factory=time.monotonic)

    def matches(self, method: str, path: str, arrived: float) -> bool:
        return (
            arrived >= self.since
            and method == self.method
            and re.fullmatch(self.path, path) is not None
        )


def fields(*changes: Change) -> Edit:
    """Edit the JSON answer's fields (see `tests.json_text.edited`)."""

    def edit(answer: Answer) -> Answer:
        text = edited(json.loads(answer.content), list(changes))
        return answer._replace(content=text.encode())

    return edit


def answer(status: int, text: str, headers: dict[str, str] | None = None) -> Edit:
    """Replace the answer whole."""
    reason = httpx.codes.get_reason_phrase(status) or "Status"
    extra = [("content-type", "application/json"), *(headers or {}).items()]
    return lambda _: Answer(status, reason, extra, text.encode())


class HostileProxy(DelayingProxy):
    """A pass-through proxy that rewrites what the rules say; nothing is held."""

    def __init__(self, upstream_base_url: str) -> None:
        self._rules: list[Rule] = []
        self._seen: list[Seen] = []
        self._rules_lock = threading.Lock()
        super().__init__(upstream_base_url)

    def add(self, rule: Rule) -> Rule:
        with self._rules_lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Behave again: every rule gone."""
        with self._rules_lock:
            self._rules.clear()

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests answered so far, those matching `method` and `path` (a regular
        expression) when given."""
        with self._rules_lock:
            seen = list(self._seen)
        return [
            s
            for s in seen
            if (method is None or s.method == method)
            and (path is None or re.fullmatch(path, s.path) is not None)
        ]

    def _holds(self, method: str, target: str) -> bool:
        return False

    async def _answer(
        self,
        upstream: httpx.AsyncClient,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Answer:
        arrived = time.monotonic()
        path = urlsplit(target).path.removeprefix(self._api_path) or "/"
        result = await super()._answer(upstream, method, target, headers, body)
        edit = self._take(method, path, arrived)
        if edit is not None:
            result = edit(result)
        with self._rules_lock:
            self._seen.append(Seen(arrived, method, path, result.status, edit is not None))
        return result

    def _take(self, method: str, path: str, arrived: float) -> Edit | None:
        with self._rules_lock:
            for rule in self._rules:
                if rule.matches(method, path, arrived) and rule.times != 0:
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.edit
        return None


def busiest_second(seen: list[Seen]) -> int:
    """The most requests that arrived within any one second."""
    times = sorted(s.at for s in seen)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
