"""The engine against the in-process sandbox: rent, code, cancel, expiry, journal,
reconciliation and recovery."""

from __future__ import annotations

import asyncio
import contextvars
from decimal import Decimal

import pytest

from rentnumber_tui.api.errors import InsufficientBalance
from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.core.engine import (
    RentBlocked,
    RentStillUnknown,
)
from rentnumber_tui.core.events import AuthLost, PurchaseUpdate, RentalChanged
from rentnumber_tui.core.rentals import RentalLabels
from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox
from tests.core.helpers import START_BALANCE, first_offer
from tests.core.waiting import wait_until


async def test_rent_debits_once_tracks_and_stores(make_engine, sandbox: Sandbox, recorder):
    engine = make_engine()
    engine.subscribe(recorder)
    offer, service = await first_offer(engine)

    rental = await engine.rent(offer, service, "🇳🇬")

    assert rental.status is RentalStatus.WAITING
    assert rental.labels.provider == offer.provider_name
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE - offer.price
    assert [r.rental_id for r in sandbox.rentals_of(DEMO_API_KEY)] == [rental.rental_id]
    assert engine.store.load_rentals()[0].rental_id == rental.rental_id
    assert engine.store.unresolved_purchases() == []
    assert any(r.rental_id == rental.rental_id for r in engine.rentals())
    await wait_until(lambda: engine.last_balance is not None, what="balance refresh")
    assert engine.last_balance.amount == START_BALANCE - offer.price


async def test_code_is_stored_before_it_is_announced(make_engine, sandbox, clock, recorder):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    stored_when_announced: list[bool] = []

    def check(event) -> None:
        if isinstance(event, RentalChanged) and event.new_code:
            stored_when_announced.append(bool(engine.store.codes_of(rental.rental_id)))
            recorder(event)

    engine.subscribe(check)
    clock.advance(25)  # beyond the 5–20 s SMS delay

    await wait_until(lambda: recorder.of(RentalChanged), what="the code")
    event = recorder.of(RentalChanged)[0]
    server_side = sandbox.rentals_of(DEMO_API_KEY)[0]
    assert event.rental.code == server_side.code
    assert event.rental.sms == server_side.sms
    assert event.rental.status is RentalStatus.RECEIVED
    assert stored_when_announced == [True]


async def test_cancel_before_sms_refunds(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)

    result, cancelled = await engine.cancel(rental.rental_id)

    assert result.refunded and result.amount == offer.price
    assert cancelled.status is RentalStatus.REFUNDED
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE
    assert engine.store.load_rentals()[0].status is RentalStatus.REFUNDED
    assert rental.rental_id not in [r.rental_id for r in engine.poller.followed]


async def test_cancel_after_sms_gives_no_refund(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    sandbox.deliver_sms(rental.rental_id, code="424242")
    await wait_until(lambda: engine.store.codes_of(rental.rental_id), what="the code")

    result, cancelled = await engine.cancel(rental.rental_id)

    assert not result.refunded and result.amount == 0
    assert cancelled.status is RentalStatus.CANCELLED
    assert cancelled.code == "424242"  # the code stays known after the rental ends
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE - offer.price


async def test_expiry_ends_polling_and_keeps_the_code(make_engine, sandbox, clock):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    sandbox.faults.inject("500", "/rental", count=1)  # a failed poll is survived
    clock.advance(901)  # past the 15-minute lifetime; the SMS came meanwhile

    await wait_until(lambda: not engine.poller.followed, what="polling to stop")
    stored = engine.store.load_rentals()[0]
    assert stored.status is RentalStatus.COMPLETED
    assert stored.code == sandbox.rentals_of(DEMO_API_KEY)[0].code
    assert rental.rental_id in [r.rental_id for r in engine.rentals()]  # still shown


async def test_refused_rent_is_journalled_as_failed(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    sandbox.set_balance(DEMO_API_KEY, Decimal("1.00"))

    with pytest.raises(InsufficientBalance):
        await engine.rent(offer, service)

    assert engine.store.unresolved_purchases() == []
    assert engine.renting_locked is None
    assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_unknown_outcome_finds_the_rental_and_charges_once(make_engine, sandbox):
    engine = make_engine(timeout=0.5)
    offer, service = await first_offer(engine)
    sandbox.faults.rent_response_delay = 3.0  # committed, then answered too late

    rental = await engine.rent(offer, service)

    assert [r.rental_id for r in sandbox.rentals_of(DEMO_API_KEY)] == [rental.rental_id]
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE - offer.price
    assert rental.labels.service == service.name
    assert engine.store.unresolved_purchases() == []
    assert engine.renting_locked is None


async def test_unknown_outcome_with_nothing_created_allows_retry_only_after_the_grace(
    make_engine, sandbox, recorder
):
    engine = make_engine(rent_grace=0.5)
    engine.subscribe(recorder)
    offer, service = await first_offer(engine)
    sandbox.faults.inject("502_html", "/rent", method="POST")  # refused before renting

    with pytest.raises(RentStillUnknown) as caught:
        await engine.rent(offer, service)

    # Not "safe" yet: a slow server could still perform it. The offer stays locked.
    assert "safe to try again" not in caught.value.message
    assert "stays locked until" in caught.value.message
    assert engine.renting_locked_for(offer, service.name) is not None
    with pytest.raises(RentBlocked):
        await engine.rent(offer, service)
    await wait_until(
        lambda: any(u.final for u in recorder.of(PurchaseUpdate)), what="the second look"
    )
    (final,) = [u for u in recorder.of(PurchaseUpdate) if u.final]
    assert final.nothing_bought and final.rental is None
    assert "did not go through" in final.message
    assert engine.renting_locked_for(offer, service.name) is None
    assert sandbox.rentals_of(DEMO_API_KEY) == []
    rental = await engine.rent(offer, service)  # and now it works
    assert len(sandbox.rentals_of(DEMO_API_KEY)) == 1
    assert rental.rental_id == sandbox.rentals_of(DEMO_API_KEY)[0].rental_id


async def test_error_after_the_server_rented_still_shows_the_rental(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    sandbox.faults.inject("500", "/rent", method="POST")  # rented, then answered 500

    rental = await engine.rent(offer, service)

    assert [r.rental_id for r in sandbox.rentals_of(DEMO_API_KEY)] == [rental.rental_id]
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE - offer.price
    assert rental.rental_id in [r.rental_id for r in engine.poller.followed]


async def test_unknown_outcome_unreachable_account_locks_renting(make_engine, sandbox, recorder):
    engine = make_engine(timeout=0.5)
    engine.subscribe(recorder)
    offer, service = await first_offer(engine)
    sandbox.faults.rent_response_delay = 3.0
    sandbox.faults.inject("500", "/rentals", count=3)  # the check fails, and twice more

    with pytest.raises(RentStillUnknown):
        await engine.rent(offer, service)

    assert engine.renting_locked_for(offer, service.name) is not None
    with pytest.raises(RentBlocked):
        await engine.rent(offer, service)
    # The engine keeps checking; once the account answers, the rental is found.
    final = lambda: [u for u in recorder.of(PurchaseUpdate) if u.final]  # noqa: E731
    await wait_until(final, timeout=15, what="reconciliation")
    resolved = final()[0]
    assert resolved.rental is not None
    assert resolved.rental.rental_id == sandbox.rentals_of(DEMO_API_KEY)[0].rental_id
    assert engine.renting_locked_for(offer, service.name) is None
    assert len(sandbox.rentals_of(DEMO_API_KEY)) == 1


async def test_restart_restores_and_polls_rentals(make_engine, sandbox, tmp_path):
    path = tmp_path / "journal.sqlite3"
    first = make_engine(store_path=path)
    offer, service = await first_offer(first)
    rental = await first.rent(offer, service)
    first.stop()
    first.store.close()

    sandbox.deliver_sms(rental.rental_id, code="777888")
    second = make_engine(store_path=path)

    assert [r.rental_id for r in second.rentals()] == [rental.rental_id]
    await wait_until(
        lambda: second.store.load_rentals()[0].code == "777888", what="code after restart"
    )


async def test_crash_while_sending_is_reconciled_on_start(make_engine, sandbox, tmp_path):
    """A purchase left "sending" (the app died mid-request) is settled at the next start."""
    path = tmp_path / "journal.sqlite3"
    first = make_engine(store_path=path)
    offer, service = await first_offer(first)
    labels = RentalLabels(
        service=service.name,
        service_slug=service.slug,
        country=offer.country_name,
        provider=offer.provider_name,
    )
    purchase_id = first.store.begin_purchase(offer.id, offer.price, labels, first.server_now())
    first.stop()
    first.store.close()
    # The server did rent it (the request went out before the crash):
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url="http://sandbox/api/v1"
    ) as raw:
        answer = await raw.post(
            "/rent", data={"pricing_id": offer.id}, headers={"X-API-KEY": DEMO_API_KEY}
        )
    rental_id = answer.json()["rental_id"]

    second = make_engine(store_path=path)
    await wait_until(lambda: not second.store.unresolved_purchases(), what="reconciliation")
    assert [r.rental_id for r in second.rentals()] == [rental_id]
    assert purchase_id not in [p.id for p in second.store.unresolved_purchases()]


async def test_history_keeps_rentals_past_the_servers_100(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rented = [await engine.rent(offer, service) for _ in range(2)]
    # An older rental the server no longer lists (beyond its last 100):
    from dataclasses import replace

    old = replace(rented[0], rental_id=5, created_at=rented[0].expires_at.replace(year=2025))
    engine.store.save_rental(old)

    history = (await engine.history()).rentals

    ids = [r.rental_id for r in history]
    assert ids == [rented[1].rental_id, rented[0].rental_id, 5]
    assert all(r.created_at is not None for r in history)


async def test_revoked_key_pauses_polling(make_engine, sandbox, recorder):
    engine = make_engine()
    engine.subscribe(recorder)
    offer, service = await first_offer(engine)
    await engine.rent(offer, service)
    sandbox.revoke_key(DEMO_API_KEY)

    await wait_until(lambda: recorder.of(AuthLost), what="auth lost")
    assert engine.poller.paused
    assert engine.poller.followed  # the rental stays in view


async def test_balance_shows_rent_and_refund_at_once(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    await engine.balance()

    rental = await engine.rent(offer, service)
    assert engine.last_balance.amount == START_BALANCE - offer.price  # before any refresh

    await engine.cancel(rental.rental_id)
    assert engine.last_balance.amount == START_BALANCE


async def test_the_history_shows_local_records_when_the_server_fails(make_engine, sandbox):
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    sandbox.faults.inject("502_html", "/rentals", count=100)

    history = await engine.history()

    assert [r.rental_id for r in history.rentals] == [rental.rental_id]
    assert history.server_error is not None and "(status 502)" in history.server_error.message


#: A caller's context variable (a front end's, as Textual's active app, screen, worker).
CALLER: contextvars.ContextVar[object] = contextvars.ContextVar("caller")


async def test_engine_work_runs_without_the_callers_context(make_engine):
    """The engine's work, and every handle it schedules (a request's 15 s timeout stays
    in the loop's heap until due, cancelled or not), hold none of the caller's context
    variables: Textual's kept each closed screen that asked alive that long."""
    engine = make_engine()
    seen: list[object] = []

    async def look() -> None:
        seen.append(CALLER.get(None))
        loop = asyncio.get_running_loop()
        handle = loop.call_later(3600, lambda: None)
        seen.append(handle._context.get(CALLER))  # what a timer keeps
        handle.cancel()

    token = CALLER.set(object())
    try:
        await asyncio.wrap_future(engine.submit(look()))
    finally:
        CALLER.reset(token)

    assert seen == [None, None]


def test_a_stop_that_gives_up_waiting_still_leaves_no_task_pending(
    make_engine, monkeypatch, caplog
):
    """A stop waits `SHUTDOWN_WAIT` for the shutdown, then stops the loop. It once
    stopped it with the tasks still ending (the poller had swallowed its cancel: Python
    3.11's `wait_for`), and they were destroyed pending at exit, a warning each. Here
    a task swallows the first cancel: the stopped loop cancels it again and runs it to
    its end, and the shutdown still leaves the store's roll."""
    from rentnumber_tui.core import engine as engine_module

    monkeypatch.setattr(engine_module, "SHUTDOWN_WAIT", 0.2)
    engine = make_engine()
    cancels = 0

    async def stubborn() -> None:
        nonlocal cancels
        forever = asyncio.Event()
        try:
            await forever.wait()
        except asyncio.CancelledError:
            cancels += 1  # swallowed
        await forever.wait()

    # Started before the stop's shutdown (the loop runs what it is handed in order).
    future = engine.submit(stubborn())
    loop = engine._loop
    assert engine.owner in engine.store.live_processes(60)

    engine.stop()

    assert "shutdown took over" in caplog.text  # it did give up waiting
    assert loop.is_closed()
    assert asyncio.all_tasks(loop) == set()
    assert cancels == 1 and future.cancelled()
    assert engine.owner not in engine.store.live_processes(60)  # the shutdown finished
