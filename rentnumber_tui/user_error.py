"""The one base of every error a person is shown: it carries `message`, a sentence they
can act on (never a key, never markup).

Stdlib only (and the key masking beside it), so every layer — the API client, the
domain, settings and key storage, the screens — raises subclasses of it, and a caller
shows `error.message` for any of them without guessing at attributes.
"""

from __future__ import annotations

from rentnumber_tui.masking import redact


class UserFacingError(Exception):
    """An error whose `message` is meant for the person using the program."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        # Kept in step with `args`, so str(error) and a traceback say the same thing.
        self._message = value
        self.args = (value,)


def message_of(error: BaseException) -> str:
    """What to tell a person about `error`: its `message` when it is meant for them,
    otherwise its type and text (an unexpected failure, still worth saying), with every
    key this process knows masked."""
    if isinstance(error, UserFacingError):
        return error.message
    text = redact(str(error).strip().splitlines()[0] if str(error).strip() else "")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
