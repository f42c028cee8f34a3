"""The store as several processes share it: schema migrations, revisions that tell a
process what the others changed, the journal's lock on an offer in flight, polling
leases divided between live processes, and failures said in words."""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.core.rentals import OfferRef, RentalLabels, TrackedRental
from rentnumber_tui.core.store import SCHEMA_VERSION, PurchaseLocked, Store, StoreError
from tests.fs_faults import fill, mounted_tmpfs, remount_read_only

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 4, 12, 14, 0, tzinfo=UTC)
ACCOUNT = "default|https://v2.rentnumber.net/api/v1"
LABELS = RentalLabels("WhatsApp", "whatsapp", "Nigeria", "NG", "🇳🇬", "Alpha")


def rental(rental_id: int, **changes: object) -> TrackedRental:
    base = TrackedRental(
        rental_id=rental_id,
        phone="+2348012345678",
        status=RentalStatus.WAITING,
        cost=Decimal("450.10"),
        labels=LABELS,
        created_at=NOW + timedelta(minutes=rental_id),
        expires_at=NOW + timedelta(minutes=rental_id + 15),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_store_written_by_release_0_1_0_migrates_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATA / "store-0.1.0.sqlite3", path)
    store = Store(path, ACCOUNT)
    assert store.schema_version == SCHEMA_VERSION
    rentals = {r.rental_id: r for r in store.load_rentals()}
    assert set(rentals) == {101, 102, 103, 104}
    first = rentals[101]
    assert first.status.value == "completed" and first.code == "654321"
    assert first.sms == "Your WhatsApp code is 654321"
    assert first.earlier_codes == ("123456",)
    assert first.cost == Decimal("450.00") and first.labels == LABELS
    assert first.created_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert first.origin == "here"  # the journal bought it
    assert rentals[102].origin == "elsewhere"  # no purchase names it
    assert rentals[104].status.value == "on_hold" and rentals[104].problem
    assert [c for c, _, _ in store.codes_of(101)] == ["123456", "654321"]
    # The journal: every state kept; the two open ones still to settle.
    unresolved = store.unresolved_purchases()
    assert [(p.pricing_id, p.state) for p in unresolved] == [(77, "unknown"), (79, "sending")]
    assert unresolved[0].detail and unresolved[0].price == Decimal("405.50")
    assert store.purchase(1) is not None and store.purchase(1).rental_id == 101
    # The other account in the same file is untouched and separate.
    other = Store(path, "work|https://v2.rentnumber.net/api/v1")
    assert [r.rental_id for r in other.load_rentals()] == [9001]
    # The catalog cache survived.
    assert store.get_catalog("services") is not None
    # Opening it again migrates nothing more and loses nothing.
    store.close()
    other.close()
    again = Store(path, ACCOUNT)
    assert again.schema_version == SCHEMA_VERSION
    assert {r.rental_id for r in again.load_rentals()} == {101, 102, 103, 104}


def test_a_store_from_a_newer_release_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Store(path, ACCOUNT).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="written by a newer release"):
        Store(path, ACCOUNT)


def test_revisions_tell_one_process_what_another_changed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    mine, theirs = Store(path, ACCOUNT), Store(path, ACCOUNT)
    other_account = Store(path, "other")
    start = mine.revision()
    version = mine.data_version()
    theirs.save_rental(rental(1))
    other_account.save_rental(rental(5))
    theirs.save_rental(rental(1, code="4242", status=RentalStatus.RECEIVED))
    assert mine.data_version() != version  # the cheap check moves
    changed, rev = mine.changes_since(start)
    assert [(r.rental_id, r.code) for r in changed] == [(1, "4242")]
    assert rev > start
    assert mine.changes_since(rev) == ([], rev)


def test_the_origin_only_moves_towards_here(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3", ACCOUNT)
    store.save_rental(rental(1, origin="here", offer=OfferRef(42, 1, 3)))
    store.save_rental(rental(1, origin="elsewhere"))  # e.g. a history merge elsewhere
    saved = store.rental(1)
    assert saved is not None and saved.origin == "here" and saved.offer == OfferRef(42, 1, 3)
    store.save_rental(rental(2, origin="elsewhere"))
    store.save_rental(rental(2, origin="here"))
    assert store.rental(2).origin == "here"  # type: ignore[union-attr]


def test_one_offer_in_flight_at_a_time_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    a, b = Store(path, ACCOUNT), Store(path, ACCOUNT)
    first = a.begin_purchase(42, Decimal("450"), LABELS, NOW, owner="a")
    with pytest.raises(PurchaseLocked, match="still on its way or being checked"):
        b.begin_purchase(42, Decimal("450"), LABELS, NOW, owner="b")
    b.begin_purchase(43, Decimal("450"), replace(LABELS, provider="Beta"), NOW, owner="b")
    a.update_purchase(first, state="unknown")
    with pytest.raises(PurchaseLocked):
        b.begin_purchase(42, Decimal("450"), LABELS, NOW, owner="b")
    a.finish_purchase(first, "done", rental_id=7)
    b.begin_purchase(42, Decimal("450"), LABELS, NOW, owner="b")
    assert 7 in a.claimed_ids()


def test_leases_divide_the_rentals_and_free_a_dead_process_s(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    a, b = Store(path, ACCOUNT), Store(path, ACCOUNT)
    for rental_id in range(1, 11):
        a.save_rental(rental(rental_id))
    a.save_rental(rental(11, status=RentalStatus.EXPIRED))  # final: nobody polls it
    alone = a.sync_leases("a", ttl=3.0)
    assert alone.mine == frozenset(range(1, 11)) and alone.processes == 1
    assert (alone.waiting, alone.slow) == (10, 0)
    b.register_process("b", 2)
    shared_b = b.sync_leases("b", ttl=3.0)
    shared_a = a.sync_leases("a", ttl=3.0)  # gives back what it holds beyond its share
    shared_b = b.sync_leases("b", ttl=3.0)  # and b takes it
    assert len(shared_a.mine) == 5 and len(shared_b.mine) == 5
    assert not shared_a.mine & shared_b.mine and shared_a.mine | shared_b.mine == set(range(1, 11))
    # b dies without a word: once its heartbeat is older than the TTL, a takes all.
    with sqlite3.connect(path) as db:
        db.execute("UPDATE processes SET beat_at=? WHERE owner='b'", (time.time() - 10,))
    assert a.sync_leases("a", ttl=3.0).mine == frozenset(range(1, 11))
    # A code makes a rental slow; leaving cleanly frees its leases at once.
    a.save_rental(rental(3, code="1", status=RentalStatus.RECEIVED))
    assert a.sync_leases("a", ttl=3.0).slow == 1
    a.unregister_process("a")
    assert b.sync_leases("b", ttl=3.0).mine == frozenset(range(1, 11))


def test_a_chore_goes_to_one_process_per_period(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    a, b = Store(path, ACCOUNT), Store(path, ACCOUNT)
    assert a.claim_task("discover", every=60) is True
    assert b.claim_task("discover", every=60) is False
    assert a.claim_task("discover", every=0) is True


def test_a_corrupt_file_is_said_in_words(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path, ACCOUNT)
    store.save_rental(rental(1))
    store.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header's tail and the first page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged") as failed:
        Store(path, ACCOUNT).load_rentals()
    assert str(path) in failed.value.message


def test_a_full_disk_and_a_read_only_one_are_said_in_words(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "disk", size="512k") as disk:
        if disk is None:
            pytest.skip("mounting a tmpfs is not permitted here (faulty_store covers it)")
        path = disk / "s.sqlite3"
        store = Store(path, ACCOUNT)
        store.save_rental(rental(1))
        fill(disk)
        with pytest.raises(StoreError, match="the disk is full") as full:
            for rental_id in range(2, 200):  # WAL pages: the first writes may still fit
                store.save_rental(rental(rental_id, sms="x" * 4000))
        assert str(path) in full.value.message
        store.close()
        (disk / "filler").unlink()
        (disk / "filler2").unlink()
        store = Store(path, ACCOUNT)
        store.close()
        assert remount_read_only(disk)
        with pytest.raises(StoreError, match="read-only"):
            Store(path, ACCOUNT).save_rental(rental(300))


def test_the_files_signature_moves_with_every_commit_of_another_connection(tmp_path: Path) -> None:
    # The watcher asks the store only when this moved (engine._watch): a write it did not
    # move for would show only after WATCH_TRUST.
    path = tmp_path / "s.sqlite3"
    mine, theirs = Store(path, ACCOUNT), Store(path, ACCOUNT)
    seen = {mine.files_signature()}
    for n in range(1, 6):
        theirs.save_rental(rental(n))
        signature = mine.files_signature()
        assert signature not in seen
        seen.add(signature)
    assert mine.files_signature() == mine.files_signature()  # nothing written: still
    assert Store(":memory:", ACCOUNT).files_signature() == ()
