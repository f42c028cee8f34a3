"""The RentNumber API layer: the HTTP client, typed models, the error taxonomy, the
process-wide request scheduler and the server-clock estimate.

Imports only httpx and the standard library (never Textual), so the domain can be used
and tested without a screen.
"""

from typing import TYPE_CHECKING, Any

from .clock import ServerClock
from .errors import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    InsecureTransport,
    InsufficientBalance,
    InvalidResponse,
    NotFound,
    OutOfStock,
    ProviderError,
    RentOutcomeUnknown,
    RequestTimeout,
    ServerError,
    Throttled,
    Unauthorized,
)
from .models import (
    Balance,
    CancelResult,
    Country,
    HistoryEntry,
    Offer,
    PriceList,
    RentalState,
    RentalStatus,
    RentedNumber,
    Rows,
    Service,
    ServiceRef,
)
from .scheduler import Priority, RequestScheduler, default_scheduler

if TYPE_CHECKING:
    from .client import Health, HealthState, RentNumberClient

#: Names from `client`, which imports httpx (~60 ms): loaded on first use, so importing
#: the models or errors never pays for it (start-up time is first-frame time).
_FROM_CLIENT = frozenset({"Health", "HealthState", "RentNumberClient"})


def __getattr__(name: str) -> Any:
    if name in _FROM_CLIENT:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ApiError",
    "BadRequest",
    "Balance",
    "CancelResult",
    "ConnectionFailed",
    "Country",
    "Health",
    "HealthState",
    "HistoryEntry",
    "InsecureTransport",
    "InsufficientBalance",
    "InvalidResponse",
    "NotFound",
    "Offer",
    "OutOfStock",
    "PriceList",
    "Priority",
    "ProviderError",
    "RentNumberClient",
    "RentOutcomeUnknown",
    "RentalState",
    "RentalStatus",
    "RentedNumber",
    "RequestScheduler",
    "RequestTimeout",
    "Rows",
    "ServerClock",
    "ServerError",
    "Service",
    "ServiceRef",
    "Throttled",
    "Unauthorized",
    "default_scheduler",
]
