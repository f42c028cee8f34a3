"""The RentNumber API layer: the HTTP client, typed models, the error taxonomy, the
process-wide request scheduler and the server-clock estimate.

Imports only httpx and the standard library (never Textual), so the domain can be used
and tested without a screen.
"""

from .client import (
    DEFAULT_BASE_URL,
    ENV_BASE_URL,
    Health,
    HealthState,
    RentNumberClient,
    base_url_from_env,
    mask_key,
)
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
    Service,
    ServiceRef,
)
from .scheduler import Priority, RequestScheduler, default_scheduler

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_BASE_URL",
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
    "ServerClock",
    "ServerError",
    "Service",
    "ServiceRef",
    "Throttled",
    "Unauthorized",
    "base_url_from_env",
    "default_scheduler",
    "mask_key",
]
