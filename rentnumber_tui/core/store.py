"""The local store: one SQLite file holding every rental and code seen, the purchase
journal and the catalog cache.

Writes are durable (WAL, `synchronous=FULL`) and happen *before* the screen shows a
change, so a killed app or a dropped SSH session loses nothing. Rows are keyed by
account (profile and base URL) so several accounts never mix. Methods are blocking and
thread-safe; async callers run them in a thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.core.rentals import RentalLabels, TrackedRental
from rentnumber_tui.user_error import UserFacingError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
    account TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, fetched_at TEXT NOT NULL,
    PRIMARY KEY (account, name)
);
CREATE TABLE IF NOT EXISTS rentals (
    account TEXT NOT NULL, rental_id INTEGER NOT NULL,
    phone TEXT NOT NULL, status TEXT NOT NULL, cost TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '', service_slug TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '', iso_code TEXT NOT NULL DEFAULT '',
    flag TEXT NOT NULL DEFAULT '', provider TEXT NOT NULL DEFAULT '',
    code TEXT, sms TEXT, created_at TEXT, expires_at TEXT, code_seen_at TEXT, problem TEXT,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (account, rental_id)
);
CREATE TABLE IF NOT EXISTS codes (
    account TEXT NOT NULL, rental_id INTEGER NOT NULL, code TEXT NOT NULL, sms TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (account, rental_id, code, sms)
);
CREATE TABLE IF NOT EXISTS purchases (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
    pricing_id INTEGER NOT NULL, price TEXT NOT NULL,
    service TEXT NOT NULL, service_slug TEXT NOT NULL, country TEXT NOT NULL,
    iso_code TEXT NOT NULL, flag TEXT NOT NULL, provider TEXT NOT NULL,
    started_at TEXT NOT NULL, state TEXT NOT NULL, rental_id INTEGER, detail TEXT
);
"""


class StoreError(UserFacingError):
    """The local store cannot be opened or written; `message` says where and why."""


@dataclass(frozen=True, slots=True)
class Purchase:
    """A journal entry: a rent we intended, and what became of it.

    `state` is "sending" (written before the request went out), "done" (rental known),
    "failed" (the server refused; nothing was bought) or "unknown" (to reconcile)."""

    id: int
    pricing_id: int
    price: Decimal
    labels: RentalLabels
    started_at: datetime
    state: str
    rental_id: int | None
    detail: str | None


def _private_parent(path: Path) -> None:
    """Create the store's directory readable only by its owner (umask notwithstanding)."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        os.chmod(parent, 0o700)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    def __init__(self, path: Path | str, account: str) -> None:
        self.path = str(path)
        self.account = account
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                _private_parent(Path(self.path))
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                os.chmod(self.path, 0o600)  # codes and numbers are nobody else's business
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the local store {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot write the local store {self.path}: {exc}") from exc

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot read the local store {self.path}: {exc}") from exc

    # -- catalog cache -------------------------------------------------------------------

    def get_catalog(self, name: str) -> tuple[str, datetime] | None:
        rows = self._read(
            "SELECT body, fetched_at FROM catalog WHERE account=? AND name=?", (self.account, name)
        )
        return (rows[0][0], datetime.fromisoformat(rows[0][1])) if rows else None

    def put_catalog(self, name: str, body: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO catalog VALUES (?, ?, ?, ?)",
            (self.account, name, body, datetime.now(UTC).isoformat()),
        )

    # -- rentals and codes ---------------------------------------------------------------

    def save_rental(self, rental: TrackedRental) -> None:
        """Insert or update a rental (and record its code, if any) in one transaction."""
        labels = rental.labels
        now = datetime.now(UTC).isoformat()
        row = (
            self.account,
            rental.rental_id,
            rental.phone,
            str(rental.status),
            str(rental.cost),
            labels.service,
            labels.service_slug,
            labels.country,
            labels.iso_code,
            labels.flag,
            labels.provider,
            rental.code,
            rental.sms,
            _iso(rental.created_at),
            _iso(rental.expires_at),
            _iso(rental.code_seen_at),
            rental.problem,
            now,
        )
        with self._lock:
            try:
                with self._transaction():
                    self._db.execute(
                        """INSERT INTO rentals VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                        ON CONFLICT (account, rental_id) DO UPDATE SET
                          phone=excluded.phone, status=excluded.status, cost=excluded.cost,
                          service=excluded.service, service_slug=excluded.service_slug,
                          country=excluded.country, iso_code=excluded.iso_code,
                          flag=excluded.flag, provider=excluded.provider, code=excluded.code,
                          sms=excluded.sms, created_at=excluded.created_at,
                          expires_at=excluded.expires_at, code_seen_at=excluded.code_seen_at,
                          problem=excluded.problem""",
                        row,
                    )
                    if rental.code:
                        self._db.execute(
                            "INSERT OR IGNORE INTO codes VALUES (?, ?, ?, ?, ?)",
                            (self.account, rental.rental_id, rental.code, rental.sms or "", now),
                        )
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot write the local store {self.path}: {exc}") from exc

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def load_rentals(
        self, *, followed_only: bool = False, limit: int | None = None
    ) -> list[TrackedRental]:
        """Rentals of this account, newest first."""
        sql = (
            "SELECT rental_id, phone, status, cost, service, service_slug, country, iso_code,"
            " flag, provider, code, sms, created_at, expires_at, code_seen_at, problem"
            " FROM rentals WHERE account=?"
        )
        if followed_only:
            sql += (
                " AND status NOT IN ('completed','cancelled','expired','refunded')"
                " AND problem IS NULL"
            )
        sql += " ORDER BY COALESCE(created_at, first_seen) DESC, rental_id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rentals = [_rental_from_row(row) for row in self._read(sql, (self.account,))]
        return self._with_earlier_codes(rentals)

    def _with_earlier_codes(self, rentals: list[TrackedRental]) -> list[TrackedRental]:
        """Attach the codes each rental showed before its current one."""
        seen: dict[int, list[str]] = {}
        rows = self._read(
            "SELECT rental_id, code FROM codes WHERE account=? ORDER BY seen_at, rowid",
            (self.account,),
        )
        for rental_id, code in rows:
            codes = seen.setdefault(rental_id, [])
            if code not in codes:
                codes.append(code)
        out = []
        for rental in rentals:
            earlier = tuple(c for c in seen.get(rental.rental_id, ()) if c != rental.code)
            out.append(replace(rental, earlier_codes=earlier) if earlier else rental)
        return out

    def codes_of(self, rental_id: int) -> list[tuple[str, str, datetime]]:
        rows = self._read(
            "SELECT code, sms, seen_at FROM codes WHERE account=? AND rental_id=? ORDER BY seen_at",
            (self.account, rental_id),
        )
        return [(code, sms, datetime.fromisoformat(seen)) for code, sms, seen in rows]

    # -- purchase journal ----------------------------------------------------------------

    def begin_purchase(
        self, pricing_id: int, price: Decimal, labels: RentalLabels, started_at: datetime
    ) -> int:
        """Record the intent to rent, durably, before the request goes out."""
        cursor = self._write(
            "INSERT INTO purchases (account, pricing_id, price, service, service_slug, country,"
            " iso_code, flag, provider, started_at, state) VALUES (?,?,?,?,?,?,?,?,?,?,'sending')",
            (
                self.account,
                pricing_id,
                str(price),
                labels.service,
                labels.service_slug,
                labels.country,
                labels.iso_code,
                labels.flag,
                labels.provider,
                _iso(started_at),
            ),
        )
        return int(cursor.lastrowid or 0)

    def finish_purchase(
        self,
        purchase_id: int,
        state: str,
        *,
        rental_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        self._write(
            "UPDATE purchases SET state=?, rental_id=?, detail=? WHERE id=? AND account=?",
            (state, rental_id, detail, purchase_id, self.account),
        )

    def unresolved_purchases(self) -> list[Purchase]:
        """Purchases whose outcome is not known yet ("sending" after a crash, or "unknown")."""
        rows = self._read(
            "SELECT id, pricing_id, price, service, service_slug, country, iso_code, flag,"
            " provider, started_at, state, rental_id, detail FROM purchases"
            " WHERE account=? AND state IN ('sending', 'unknown') ORDER BY id",
            (self.account,),
        )
        return [
            Purchase(
                id=row[0],
                pricing_id=row[1],
                price=Decimal(row[2]),
                labels=RentalLabels(*row[3:9]),
                started_at=datetime.fromisoformat(row[9]),
                state=row[10],
                rental_id=row[11],
                detail=row[12],
            )
            for row in rows
        ]


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (or ROLLBACK) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _rental_from_row(row: tuple[Any, ...]) -> TrackedRental:
    return TrackedRental(
        rental_id=row[0],
        phone=row[1],
        status=RentalStatus(row[2]),
        cost=Decimal(row[3]),
        labels=RentalLabels(*row[4:10]),
        code=row[10],
        sms=row[11],
        created_at=_dt(row[12]),
        expires_at=_dt(row[13]),
        code_seen_at=_dt(row[14]),
        problem=row[15],
    )
