"""What the engine tests share."""

from __future__ import annotations

from decimal import Decimal

from rentnumber_tui.api.models import Offer
from rentnumber_tui.core.engine import Engine

START_BALANCE = Decimal("25000.00")


async def first_offer(engine: Engine, slug: str = "whatsapp") -> tuple[Offer, object]:
    services = await engine.services()
    service = next(s for s in services if s.slug == slug)
    prices = await engine.prices(slug)
    offer = next(o for o in prices.offers if o.available)
    return offer, service
