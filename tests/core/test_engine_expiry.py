"""Expiry of a rental whose SMS never comes: refunded, no longer polled, still shown."""

from __future__ import annotations

import pytest

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from tests.core.helpers import START_BALANCE, first_offer
from tests.core.waiting import wait_until


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, no_sms_probability=1.0), clock=clock)


async def test_expiry_without_sms_refunds_and_stops_polling(make_engine, sandbox, clock):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    clock.advance(901)

    await wait_until(lambda: not engine.poller.followed, what="polling to stop")

    stored = engine.store.load_rentals()[0]
    assert stored.status is RentalStatus.EXPIRED and stored.code is None
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE
    assert rental.rental_id in [r.rental_id for r in engine.rentals()]
    await wait_until(
        lambda: engine.last_balance and engine.last_balance.amount == START_BALANCE,
        what="the refund in the balance",
    )
