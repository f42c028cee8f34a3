"""The API key as text: what a key may look like, and showing it without revealing it.

Stdlib only and imports nothing else of ours: the client, key storage, the login screen
and the command line all check and mask a key here, so they agree. The key only ever
appears masked — ``rn_…c4f2`` — on screen, in logs and in error texts (spec,
clarification 12).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

ELLIPSIS = "…"

# At least this many characters stay hidden; shorter keys are hidden completely.
_MIN_HIDDEN = 8
_SUFFIX_LEN = 4

#: Longer than this is not a key (a pasted page, a file).
MAX_KEY_LENGTH = 512

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


def key_problem(text: str) -> str | None:
    """Why `text` (already stripped) cannot be an API key, or None: a key is one word
    of printable ASCII, which is also all an HTTP header can carry. The sentence never
    quotes the text."""
    if not text:
        return "The API key is empty; paste your API key first."
    if len(text) > MAX_KEY_LENGTH:
        return "That is too long to be an API key."
    if any(not 33 <= ord(ch) <= 126 for ch in text):
        return (
            "That is not an API key: a key is one word of plain ASCII characters, and this "
            "has spaces, line breaks or other characters in it."
        )
    return None


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
