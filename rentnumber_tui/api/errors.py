"""The error taxonomy: every way a request can fail, as a class a screen can act on.

Each error carries `message`, a sentence a person can act on. Server text (the JSON
`error` field) is kept verbatim in `server_text` and is untrusted: display it literally.
"""

from __future__ import annotations

from rentnumber_tui.user_error import UserFacingError


class ApiError(UserFacingError):
    """Base of every failure the client reports; nothing else escapes the client."""

    #: Whether a safe (GET) request may be retried after this error.
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        server_text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.server_text = server_text


class Unauthorized(ApiError):
    """401: the key is missing, wrong or revoked."""


class NotFound(ApiError):
    """404: no such service, pricing option or rental (for this account)."""


class BadRequest(ApiError):
    """Any other 4xx the server explains with its own text."""


class InsufficientBalance(BadRequest):
    """400: the wallet cannot pay for the rental."""


class OutOfStock(BadRequest):
    """400: the offer has no numbers left."""


class ProviderError(ApiError):
    """502: the upstream provider failed."""

    transient = True


class Throttled(ApiError):
    """429: too many requests; `retry_after` seconds from the `Retry-After` header."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        server_text: str | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, server_text=server_text)
        self.retry_after = retry_after


class ServerError(ApiError):
    """Any other 5xx."""


class RequestTimeout(ApiError):
    """No answer in time."""

    transient = True


class ConnectionFailed(ApiError):
    """The server could not be reached, or the connection dropped."""

    transient = True


class InvalidResponse(ApiError):
    """The server answered something that is not the documented JSON: an HTML page,
    truncated JSON, wrong types, missing fields, or `success: false` with a 200."""


class RentOutcomeUnknown(ApiError):
    """`POST /rent` was sent but we cannot tell whether it succeeded (timeout, dropped
    connection, 5xx, unreadable answer). The caller must reconcile with `GET /rentals`
    before offering to rent again (spec, clarification 8). `cause` is the underlying error."""

    def __init__(self, message: str, *, cause: ApiError) -> None:
        super().__init__(message, status_code=cause.status_code, server_text=cause.server_text)
        self.cause = cause


class InsecureTransport(ApiError):
    """The API key would travel in clear text: only HTTPS, a loopback address or an
    in-process transport may carry it (spec, clarification 12). Nothing was sent."""
