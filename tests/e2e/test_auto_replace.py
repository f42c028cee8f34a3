"""Auto-replace (issue 12, part 4) against the sandbox, with a provider that never
delivers: the engine cancels a rental with no SMS after `after` seconds (refunded) and
rents the next cheapest offer from another provider, at most `attempts` rentals, never
above the cap; the sandbox's wallet shows the refunds and charges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rentnumber_tui.core.replace import ReplacePolicy, default_cap
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox, SandboxConfig
from tests.core.waiting import wait_until

START = Decimal("25000.00")


def nigerian_whatsapp(sandbox: Sandbox) -> list:
    """The offers in stock, cheapest first."""
    offers = [
        o for o in sandbox.catalog.offers if o.service_id == 1 and o.country_id == 1 and o.stock > 0
    ]
    return sorted(offers, key=lambda o: (o.final_price, -o.stock, o.id))


def silent(*positions: int):
    """A sandbox (seed 7) where the offers at `positions` (cheapest first) never deliver."""
    probe = Sandbox(SandboxConfig(seed=7))
    offers = nigerian_whatsapp(probe)
    return tuple(offers[i].provider_id for i in positions)


@pytest.fixture
def sandbox(clock: ManualClock, request) -> Sandbox:
    positions = getattr(request, "param", (0,))
    config = SandboxConfig(seed=7, sms_delay=(5, 20), silent_providers=silent(*positions))
    sandbox = Sandbox(config, clock=clock)
    _ = sandbox.catalog
    return sandbox


def wallet(sandbox: Sandbox) -> Decimal:
    return sandbox.state.balance(DEMO_API_KEY)


async def rent_cheapest(h):
    engine, app = h.engine, h.app
    await wait_until(lambda: engine.ready and app.services, what="the catalog")
    service = next(s for s in app.services if s.slug == "whatsapp")
    offers = [o for o in (await engine.prices("whatsapp", 1)).offers if o.available]
    first = await engine.rent(min(offers, key=lambda o: (o.price, -o.stock, o.id)), service)
    await wait_until(lambda: engine.rental(first.rental_id).created_at, what="its start known")
    return first


def policy(**changes) -> dict:
    return {"replace_policy": ReplacePolicy(enabled=True, **changes), "replace_every": 0.05}


async def test_a_silent_provider_is_replaced_by_the_next_cheapest(harness, sandbox, clock):
    async with harness(**policy(after=120, attempts=3)) as h:
        engine = h.engine
        first = await rent_cheapest(h)
        offers = nigerian_whatsapp(sandbox)
        assert wallet(sandbox) == START - offers[0].final_price
        clock.advance(100)  # not yet
        await wait_until(lambda: engine.poller.followed, what="followed")
        assert len(engine.rentals()) == 1
        clock.advance(21)
        await wait_until(lambda: len(engine.rentals()) == 2, what="the replacement")
        second = next(r for r in engine.rentals() if r.rental_id != first.rental_id)
        assert second.offer.provider_id == offers[1].provider_id
        await wait_until(lambda: engine.rental(first.rental_id).is_final, what="first ended")
        # The first was refunded; only the second is charged.
        assert wallet(sandbox) == START - offers[1].final_price
        await wait_until(lambda: any("Rented" in n for n in h.notes), what="the step said")
        note = next(n for n in h.notes if "Rented" in n)
        assert note.startswith(f"No SMS from {first.labels.provider} in 120 s; cancelled, ")
        assert "refunded. Rented " in note and "(rental 2 of 3)" in note
        assert offers[1].final_price <= default_cap(offers[0].final_price)  # the default cap
        # The second delivers: no third rental, whatever time passes.
        clock.advance(25)
        await wait_until(lambda: engine.rental(second.rental_id).code, what="its code")
        clock.advance(300)
        await wait_until(lambda: engine.rental(second.rental_id).code_seen_at, what="seen")
        assert len(engine.rentals()) == 2
        rents = [r for r in sandbox.request_log if r.method == "POST" and r.path.endswith("/rent")]
        assert len(rents) == 2


@pytest.mark.parametrize("sandbox", [(0, 1)], indirect=True)
async def test_at_most_attempts_rentals_then_it_stops(harness, sandbox, clock):
    async with harness(**policy(after=60, attempts=2, max_price=Decimal("10000"))) as h:
        engine = h.engine
        await rent_cheapest(h)
        offers = nigerian_whatsapp(sandbox)
        for count in (2,):
            clock.advance(61)
            await wait_until(lambda count=count: len(engine.rentals()) == count, what="next")
            newest = max(engine.rentals(), key=lambda r: r.rental_id)
            await wait_until(lambda newest=newest: engine.rental(newest.rental_id).created_at)
        clock.advance(61)
        await wait_until(lambda: any("2 rentals tried" in n for n in h.notes), what="stopped")
        assert len(engine.rentals()) == 2
        # The first refunded, the second still open (and charged).
        assert wallet(sandbox) == START - offers[1].final_price
        cancels = [r for r in sandbox.request_log if r.path.endswith("/cancel")]
        assert len(cancels) == 1


async def test_no_other_offer_under_the_cap_keeps_the_rental(harness, sandbox, clock):
    offers = nigerian_whatsapp(sandbox)
    cap = offers[0].final_price  # nothing else is this cheap
    async with harness(**policy(after=60, max_price=cap)) as h:
        engine = h.engine
        first = await rent_cheapest(h)
        clock.advance(61)
        await wait_until(lambda: any("kept waiting" in n for n in h.notes), what="said")
        assert len(engine.rentals()) == 1 and not engine.rental(first.rental_id).is_final
        assert wallet(sandbox) == START - offers[0].final_price
        assert not [r for r in sandbox.request_log if r.path.endswith("/cancel")]


async def test_off_by_default_and_t_turns_it_on_for_one_rental(harness, sandbox, clock):
    async with harness(replace_policy=ReplacePolicy(after=60), replace_every=0.05) as h:
        engine = h.engine
        first = await rent_cheapest(h)
        clock.advance(61)
        await wait_until(lambda: engine.poller.followed, what="followed")
        assert len(engine.rentals()) == 1  # not enabled: nothing happens
        assert await engine.toggle_auto_replace(first.rental_id) is True
        await wait_until(lambda: len(engine.rentals()) == 2, what="replaced once turned on")


@pytest.mark.parametrize("sandbox", [(0, 1)], indirect=True)
async def test_a_restart_keeps_the_count(harness, sandbox, clock):
    """The chain (its count, the providers tried) is kept in the store: after a restart
    the second rental is not replaced again when `attempts` is 2."""
    settings = policy(after=60, attempts=2, max_price=Decimal("10000"))
    async with harness(**settings) as h:
        await rent_cheapest(h)
        clock.advance(61)
        await wait_until(lambda: len(h.engine.rentals()) == 2, what="the replacement")
        newest = max(h.engine.rentals(), key=lambda r: r.rental_id)
        await wait_until(lambda: h.engine.rental(newest.rental_id).created_at, what="started")
    async with harness(**settings) as h:
        await wait_until(lambda: h.engine.ready and h.engine.poller.followed, what="restarted")
        clock.advance(61)
        await wait_until(lambda: any("2 rentals tried" in n for n in h.notes), what="stopped")
        rents = [r for r in sandbox.request_log if r.method == "POST" and r.path.endswith("/rent")]
        assert len(rents) == 2
