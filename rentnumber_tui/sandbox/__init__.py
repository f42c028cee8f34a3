"""A faithful, self-contained simulation of the RentNumber server (see
`shared/spec/rentnumber-api.md`), for demo mode and tests.

Written from the API documentation, not from the client: nothing here imports the rest
of the package, and importing it is cheap (the catalog is built on first use; uvicorn
is imported only by `server.py` when serving over a socket).

    sb = Sandbox(SandboxConfig(seed=7), clock=ManualClock(start))
    httpx.AsyncClient(transport=httpx.ASGITransport(app=sb), base_url="http://sandbox/api/v1")
"""

from .asgi import DroppedConnection, RequestRecord, Sandbox
from .catalog import Catalog, Country, Offer, Provider, Service
from .clock import Clock, ManualClock, SystemClock
from .config import DEMO_API_KEY, SandboxConfig, sms_delay_around
from .faults import FAULT_KINDS, Faults
from .state import RentalInfo

__all__ = [
    "DEMO_API_KEY",
    "FAULT_KINDS",
    "Catalog",
    "Clock",
    "Country",
    "DroppedConnection",
    "Faults",
    "ManualClock",
    "Offer",
    "Provider",
    "RentalInfo",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "Service",
    "SystemClock",
    "sms_delay_around",
]
