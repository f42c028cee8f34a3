"""What the backend tests share."""

from __future__ import annotations

from decimal import Decimal

from rentnumber_tui.api.models import Offer
from rentnumber_tui.core.backend import Backend

START_BALANCE = Decimal("25000.00")


async def first_offer(backend: Backend, slug: str = "whatsapp") -> tuple[Offer, object]:
    services = await backend.services()
    service = next(s for s in services if s.slug == slug)
    prices = await backend.prices(slug)
    offer = next(o for o in prices.offers if o.available)
    return offer, service
