"""Showing an API key without revealing it: masks, redaction, a masked `str`, a log filter.

Stdlib only. The key only ever appears masked — ``rn_…c4f2`` — on screen, in logs and in
error texts (spec, clarification 12).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

ELLIPSIS = "…"

# At least this many characters stay hidden; shorter keys are hidden completely.
_MIN_HIDDEN = 8
_SUFFIX_LEN = 4

_registry_lock = threading.Lock()
_registered: set[str] = set()


def mask_key(key: str | None) -> str:
    """``rn_abcdef…c4f2`` → ``rn_…c4f2``.

    Shows the prefix up to and including the first underscore when it is short
    (``rn_``), otherwise the first three characters, then ``…``, then the last four.
    A key so short that this would reveal most of it is shown as ``…`` alone.
    """
    if not key:
        return ELLIPSIS
    key = str(key)
    underscore = key.find("_")
    prefix = key[: underscore + 1] if 0 < underscore <= 3 else key[:3]
    if len(key) - len(prefix) - _SUFFIX_LEN < _MIN_HIDDEN:
        return ELLIPSIS
    return f"{prefix}{ELLIPSIS}{key[-_SUFFIX_LEN:]}"


class SecretKey(str):
    """A `str` holding an API key whose ``repr`` is masked.

    It is a real string (usable as an HTTP header value, comparable, hashable), but
    ``repr()`` — which debuggers, dataclass reprs and Textual's crash tracebacks (they
    show local variables) use — prints only the mask.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"SecretKey({mask_key(self)!r})"

    @property
    def masked(self) -> str:
        return mask_key(self)


def register_secret(secret: str) -> None:
    """Remember `secret` so that `redact(text)` without an explicit list hides it."""
    if secret:
        with _registry_lock:
            _registered.add(str(secret))


def forget_secret(secret: str) -> None:
    with _registry_lock:
        _registered.discard(str(secret))


def registered_secrets() -> tuple[str, ...]:
    with _registry_lock:
        return tuple(_registered)


def redact(text: str, secrets: Iterable[str | None] | None = None) -> str:
    """Replace every occurrence of each secret in `text` by its mask.

    `secrets` defaults to those given to `register_secret` (every key this process
    has loaded or saved). Use it on any text that may quote a request or a key before it
    is shown, logged or raised.
    """
    if secrets is None:
        secrets = registered_secrets()
    text = str(text)
    for secret in sorted({str(s) for s in secrets if s}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, mask_key(secret))
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in messages, arguments and tracebacks.

    Attach it to *handlers* (a filter on a logger does not see records propagated from
    child loggers such as ``httpx``). With no explicit secrets it hides every
    registered one.
    """

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        self._secrets = None if secrets is None else tuple(secrets)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template, drop the args
            message = str(record.msg)
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True
