"""The local store: rentals, codes, the purchase journal and the catalog cache."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rentnumber_tui.api.models import Country, RentalStatus, Service
from rentnumber_tui.core import catalog
from rentnumber_tui.core.rentals import RentalLabels, TrackedRental
from rentnumber_tui.core.store import Store, StoreError

NOW = datetime(2026, 4, 12, 14, 0, tzinfo=UTC)


def rental(rental_id: int, **changes) -> TrackedRental:
    base = TrackedRental(
        rental_id=rental_id,
        phone="+2348012345678",
        status=RentalStatus.WAITING,
        cost=Decimal("450.10"),
        labels=RentalLabels("WhatsApp", "whatsapp", "Nigeria", "NG", "🇳🇬", "Alpha"),
        created_at=NOW + timedelta(minutes=rental_id),
        expires_at=NOW + timedelta(minutes=rental_id + 15),
    )
    return replace(base, **changes)


def test_rentals_round_trip_exactly_and_newest_first(tmp_path):
    store = Store(tmp_path / "s.sqlite3", "acct")
    store.save_rental(rental(1))
    store.save_rental(rental(2, status=RentalStatus("on_hold")))
    loaded = store.load_rentals()
    assert [r.rental_id for r in loaded] == [2, 1]
    assert loaded[1] == rental(1)
    assert loaded[0].status.value == "on_hold" and not loaded[0].status.is_known
    assert isinstance(loaded[1].cost, Decimal) and loaded[1].cost == Decimal("450.10")


def test_every_code_seen_is_kept(tmp_path):
    store = Store(tmp_path / "s.sqlite3", "acct")
    store.save_rental(rental(1, code="111", sms="first", status=RentalStatus.RECEIVED))
    store.save_rental(rental(1, code="222", sms="second", status=RentalStatus.RECEIVED))
    store.save_rental(rental(1, code="222", sms="second", status=RentalStatus.COMPLETED))
    assert [code for code, _, _ in store.codes_of(1)] == ["111", "222"]
    assert store.load_rentals()[0].code == "222"


def test_followed_only_and_accounts_are_separate(tmp_path):
    path = tmp_path / "s.sqlite3"
    mine, other = Store(path, "me"), Store(path, "other")
    mine.save_rental(rental(1))
    mine.save_rental(rental(2, status=RentalStatus.REFUNDED))
    mine.save_rental(rental(3, problem="gone"))
    other.save_rental(rental(9))
    assert [r.rental_id for r in mine.load_rentals(followed_only=True)] == [1]
    assert [r.rental_id for r in other.load_rentals()] == [9]


def test_data_survives_reopening_and_file_is_private(tmp_path):
    path = tmp_path / "fresh" / "s.sqlite3"
    Store(path, "acct").save_rental(rental(1))
    assert Store(path, "acct").load_rentals()[0].rental_id == 1
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_purchase_journal_states(tmp_path):
    store = Store(tmp_path / "s.sqlite3", "acct")
    labels = RentalLabels("WhatsApp", "whatsapp", "Nigeria", "NG", "🇳🇬", "Alpha")
    first = store.begin_purchase(42, Decimal("450.00"), labels, NOW)
    other = replace(labels, provider="Beta")
    second = store.begin_purchase(43, Decimal("500.00"), other, NOW)
    store.finish_purchase(first, "done", rental_id=101)
    pending = store.unresolved_purchases()
    assert [p.id for p in pending] == [second]
    assert pending[0].labels == other and pending[0].price == Decimal("500.00")
    store.finish_purchase(second, "unknown", detail="timeout")
    assert store.unresolved_purchases()[0].state == "unknown"
    store.finish_purchase(second, "failed")
    assert store.unresolved_purchases() == []


def test_catalog_cache_round_trip(tmp_path):
    store = Store(tmp_path / "s.sqlite3", "acct")
    assert catalog.cached_services(store) is None
    services = (
        Service(1, "whatsapp", "WhatsApp", 3, Decimal("450.50")),
        Service(2, "x", "X", 0, None),
    )
    countries = (Country(1, "NG", "Nigeria", "🇳🇬"),)
    store.put_catalog(catalog.SERVICES, catalog.dump_services(services))
    store.put_catalog(catalog.COUNTRIES, catalog.dump_countries(countries))
    assert catalog.cached_services(store)[0] == services
    assert catalog.cached_countries(store)[0] == countries


def test_damaged_catalog_cache_is_ignored(tmp_path):
    store = Store(tmp_path / "s.sqlite3", "acct")
    store.put_catalog(catalog.SERVICES, "{not json")
    assert catalog.cached_services(store) is None


def test_unopenable_store_says_where(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as caught:
        Store(blocker / "s.sqlite3", "acct")
    assert str(blocker) in caught.value.message
