"""One account, several engines (processes) on one machine, and a server others use too:
rentals reach every engine, each active rental is polled by one of them, a silent one's
rentals move, rentals made elsewhere are found and marked, and reconciliation never
adopts a stranger's rental. Engines here share a store file as processes do; the real
multi-process runs are in tests/e2e/test_processes.py."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.core.engine import (
    CancelChanged,
    Engine,
    RentAmbiguous,
    RentBlocked,
    RentStillUnknown,
)
from rentnumber_tui.core.events import PurchaseUpdate, StoreFailed
from rentnumber_tui.core.store import Store
from rentnumber_tui.sandbox import DEMO_API_KEY, ManualClock, Sandbox
from tests.core.helpers import START_BALANCE, first_offer
from tests.core.waiting import wait_until


def polled_by(engines: list[Engine], rental_id: int) -> list[Engine]:
    assert all(e.poller is not None for e in engines)
    return [e for e in engines if rental_id in e.poller.followed_ids]  # type: ignore[union-attr]


def freeze(engine: Engine) -> None:
    """The process stops dead (SIGKILL): its loop ends without a word to the others."""
    loop = engine._loop
    assert loop is not None
    loop.call_soon_threadsafe(loop.stop)
    assert engine._thread is not None
    engine._thread.join(timeout=5)
    engine._thread = None  # stop() has nothing left to do


async def test_a_rent_in_one_engine_reaches_the_other_and_one_polls_it(
    make_engine, sandbox: Sandbox, clock: ManualClock, tmp_path
) -> None:
    path = tmp_path / "shared.sqlite3"
    a, b = make_engine(store_path=path), make_engine(store_path=path)
    offer, service = await first_offer(a)

    rental = await a.rent(offer, service)

    await wait_until(lambda: b.rental(rental.rental_id), what="the rental in the other engine")
    assert b.rental(rental.rental_id).origin == "here"  # type: ignore[union-attr]
    await wait_until(lambda: len(polled_by([a, b], rental.rental_id)) == 1, what="one poller")
    sandbox.deliver_sms(rental.rental_id, code="515151")
    for engine in (a, b):
        await wait_until(
            lambda e=engine: (e.rental(rental.rental_id) or rental).code == "515151",
            what="the code on both",
        )
    assert len(polled_by([a, b], rental.rental_id)) <= 1


async def test_polling_is_divided_not_duplicated(make_engine, sandbox, tmp_path) -> None:
    path = tmp_path / "shared.sqlite3"
    a, b = make_engine(store_path=path), make_engine(store_path=path)
    offer, service = await first_offer(a)
    rentals = [await (a if i % 2 else b).rent(offer, service) for i in range(6)]
    ids = {r.rental_id for r in rentals}

    def divided() -> bool:
        mine_a = a.poller.followed_ids & ids
        mine_b = b.poller.followed_ids & ids
        return not mine_a & mine_b and mine_a | mine_b == ids and len(mine_a) == 3

    await wait_until(divided, what="three each, none twice")


async def test_a_silent_engine_s_rentals_move_to_another(make_engine, sandbox, tmp_path) -> None:
    path = tmp_path / "shared.sqlite3"
    a = make_engine(store_path=path)
    offer, service = await first_offer(a)
    rental = await a.rent(offer, service)
    assert polled_by([a], rental.rental_id) == [a]
    b = make_engine(store_path=path)

    freeze(a)  # a held the lease; it stops without letting go

    await wait_until(lambda: polled_by([b], rental.rental_id), timeout=5, what="b takes it")
    sandbox.deliver_sms(rental.rental_id, code="626262")
    await wait_until(lambda: b.rental(rental.rental_id).code == "626262", what="the code in b")


async def test_a_rental_made_elsewhere_is_found_followed_and_marked(
    make_engine, sandbox: Sandbox
) -> None:
    engine = make_engine(discover_every=0.2)
    offer, _ = await first_offer(engine)
    elsewhere = sandbox.state.rent(DEMO_API_KEY, offer.id)  # the website

    await wait_until(lambda: engine.rental(elsewhere.rental_id), what="found on the account")
    found = engine.rental(elsewhere.rental_id)
    assert found is not None and found.origin == "elsewhere" and found.followed
    sandbox.deliver_sms(elsewhere.rental_id, code="737373")
    await wait_until(lambda: engine.rental(elsewhere.rental_id).code == "737373", what="code")


async def test_reconciliation_never_adopts_a_rental_created_before_ours(
    make_engine, sandbox: Sandbox, clock: ManualClock, recorder
) -> None:
    engine = make_engine(timeout=0.5)
    engine.subscribe(recorder)
    offer, service = await first_offer(engine)
    await engine.balance()
    foreign = sandbox.state.rent(DEMO_API_KEY, offer.id)  # a colleague, moments earlier
    clock.advance(8)
    await engine.balance()  # time has passed for the client too (its Date headers say so)
    sandbox.faults.rent_response_delay = 3.0  # ours is rented, its answer lost

    ours = await engine.rent(offer, service)

    server_side = sandbox.rentals_of(DEMO_API_KEY)
    assert [r.rental_id for r in server_side] == [foreign.rental_id, ours.rental_id]
    assert ours.rental_id != foreign.rental_id and ours.origin == "here"
    # Exactly the charges asked for: the colleague's and ours.
    assert sandbox.balance_of(DEMO_API_KEY) == START_BALANCE - 2 * offer.price
    # The colleague's is found as a rental made elsewhere, and marked so.
    await wait_until(lambda: engine.rental(foreign.rental_id), what="the other one found")
    assert engine.rental(foreign.rental_id).origin == "elsewhere"  # type: ignore[union-attr]
    assert engine.store.unresolved_purchases() == []


async def test_two_matching_rentals_at_that_moment_are_shown_marked_and_not_adopted(
    make_engine, sandbox: Sandbox
) -> None:
    engine = make_engine(timeout=0.5)
    offer, service = await first_offer(engine)
    sandbox.faults.rent_response_delay = 3.0
    foreign = sandbox.state.rent(DEMO_API_KEY, offer.id)  # the same second as ours

    with pytest.raises(RentAmbiguous) as ambiguous:
        await engine.rent(offer, service)

    assert "None was taken as yours" in ambiguous.value.message
    (_, ours) = sandbox.rentals_of(DEMO_API_KEY)
    for rental_id in (foreign.rental_id, ours.rental_id):
        shown = engine.rental(rental_id)
        assert shown is not None and shown.origin == "unsure"
    purchase = engine.store.purchase(1)
    assert purchase is not None and purchase.state == "ambiguous"
    assert set(purchase.candidates) == {foreign.rental_id, ours.rental_id}
    assert engine.renting_locked_for(offer, service.name) is None  # nothing hidden


async def test_cancel_checks_again_and_keeps_the_code_it_paid_for(make_engine, sandbox) -> None:
    engine = make_engine(coordinate_every=30.0)  # no background poll in the way
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    engine.poller.pause()
    sandbox.deliver_sms(rental.rental_id, code="848484")  # arrives while the dialog is open

    with pytest.raises(CancelChanged) as changed:
        await engine.cancel(rental.rental_id, expect_refund=True)

    assert "NO refund" in changed.value.message and "848484" in changed.value.message
    assert sandbox.rentals_of(DEMO_API_KEY)[0].status == "received"  # nothing was sent
    assert changed.value.rental.code == "848484"
    result, cancelled = await engine.cancel(rental.rental_id, expect_refund=False)
    assert not result.refunded
    assert cancelled is not None and cancelled.code == "848484"
    assert cancelled.status is RentalStatus.CANCELLED
    assert engine.store.rental(rental.rental_id).code == "848484"  # type: ignore[union-attr]


async def test_a_cancel_without_refund_fetches_the_code(make_engine, sandbox) -> None:
    engine = make_engine()
    offer, service = await first_offer(engine)
    rental = await engine.rent(offer, service)
    engine.poller.pause()
    sandbox.deliver_sms(rental.rental_id, code="959595")
    # The engine has not seen the SMS; the person did not promise themselves a refund.
    result, cancelled = await engine.cancel(rental.rental_id)
    assert not result.refunded
    assert cancelled is not None and cancelled.code == "959595" and cancelled.sms


async def test_a_rent_whose_journal_write_fails_is_not_sent(make_engine, sandbox, tmp_path):
    from rentnumber_tui.core.engine import RentNotSent
    from tests.core.faulty_store import FULL, FaultyStore

    store = FaultyStore(tmp_path / "s.sqlite3", "test", failing={"begin_purchase": FULL})
    engine = make_engine(store=store)
    offer, service = await first_offer(engine)
    sandbox.clear_request_log()

    with pytest.raises(RentNotSent) as refused:
        await asyncio.wait_for(engine.rent(offer, service), timeout=5)

    assert "the disk is full" in refused.value.message
    assert "Nothing was sent" in refused.value.message
    assert not [r for r in sandbox.request_log if r.method == "POST"]
    assert sandbox.rentals_of(DEMO_API_KEY) == []


async def test_catalog_and_history_go_on_when_the_store_fails(
    make_engine, sandbox, tmp_path, recorder
):
    from tests.core.faulty_store import CORRUPT, FULL, FaultyStore

    store = FaultyStore(
        tmp_path / "s.sqlite3", "test", failing={"put_catalog": FULL, "load_rentals": CORRUPT}
    )
    engine = make_engine(store=store)
    engine.subscribe(recorder)

    services = await asyncio.wait_for(engine.services(), timeout=5)
    assert services  # shown although it could not be cached
    history = await asyncio.wait_for(engine.history(), timeout=5)
    assert history.problem is not None and "damaged" in history.problem
    await wait_until(lambda: recorder.of(StoreFailed), what="the failure said")
    assert any("the disk is full" in e.message for e in recorder.of(StoreFailed))


async def test_an_unreadable_store_at_start_is_said_and_renting_refused(
    make_engine, sandbox, tmp_path, recorder
):
    from tests.core.faulty_store import CORRUPT, FaultyStore

    store = FaultyStore(tmp_path / "s.sqlite3", "test", failing={"register_process": CORRUPT})
    engine = make_engine(store=store, start=False)
    engine.subscribe(recorder)
    engine.start()
    assert engine.ready  # not hung
    assert engine.store_problem and "damaged" in engine.store_problem
    assert recorder.of(StoreFailed)
    offer, service = await first_offer(engine)  # browsing still works
    with pytest.raises(RentBlocked) as refused:
        await engine.rent(offer, service)
    assert "needs the local store" in refused.value.message


async def test_nothing_bought_waits_for_the_wallet_to_agree(make_engine, sandbox, recorder):
    """The second look finds no rental, but the wallet is lower than the account's
    rentals explain: a charge may still show up, so the offer stays locked."""
    engine = make_engine(rent_grace=0.3)
    engine.subscribe(recorder)
    offer, service = await first_offer(engine)
    await engine.balance()
    sandbox.faults.inject("502_html", "/rent", method="POST")
    with pytest.raises(RentStillUnknown):
        await engine.rent(offer, service)
    sandbox.set_balance(DEMO_API_KEY, START_BALANCE - Decimal("450.00"))  # money gone

    await wait_until(
        lambda: any("wallet is" in u.message for u in recorder.of(PurchaseUpdate)),
        what="the wallet disagreeing",
    )
    assert engine.renting_locked_for(offer, service.name) is not None
    assert not any(u.final for u in recorder.of(PurchaseUpdate))
    sandbox.set_balance(DEMO_API_KEY, START_BALANCE)  # the provider put it back
    await wait_until(
        lambda: any(u.final and u.nothing_bought for u in recorder.of(PurchaseUpdate)),
        timeout=10,
        what="settled once the wallet agrees",
    )


async def test_a_store_shared_by_two_accounts_keeps_them_apart(make_engine, tmp_path) -> None:
    path = tmp_path / "shared.sqlite3"
    engine = make_engine(store_path=path)
    other = Store(path, "someone-else")
    assert engine.store.account != other.account
    assert other.unresolved_purchases() == []


async def test_money_moved_in_another_engine_shows_in_the_wallet(make_engine, tmp_path) -> None:
    path = tmp_path / "shared.sqlite3"
    a, b = make_engine(store_path=path), make_engine(store_path=path)
    offer, service = await first_offer(a)
    await b.balance()
    assert b.last_balance is not None and b.last_balance.amount == START_BALANCE

    await a.rent(offer, service)

    await wait_until(
        lambda: b.last_balance is not None and b.last_balance.amount == START_BALANCE - offer.price,
        what="the other window's wallet",
    )


async def test_a_rental_first_heard_of_through_its_lease_refreshes_the_wallet(
    make_engine, tmp_path, monkeypatch
) -> None:
    # A window may learn of a rental made elsewhere by taking its lease (the renter
    # quit: a CLI that rented and left) before its watcher has seen it: its wallet must
    # follow all the same.
    path = tmp_path / "shared.sqlite3"
    a, b = make_engine(store_path=path), make_engine(store_path=path)
    offer, service = await first_offer(a)
    await b.balance()
    monkeypatch.setattr(b, "_take_external", lambda rental, rev: None)  # its watcher deaf

    rental = await a.rent(offer, service)
    a.stop()  # it gives its rentals to the others

    await wait_until(lambda: b.rental(rental.rental_id), what="the rental taken over")
    await wait_until(
        lambda: b.last_balance is not None and b.last_balance.amount == START_BALANCE - offer.price,
        what="the wallet of the window that took it over",
    )
