"""The local store: one SQLite file holding every rental and code seen, the purchase
journal, the catalog cache — and, since every process of this program on the machine
shares it, what they need to work together: who is running, and who polls which rental.

Writes that matter (the journal, rentals, codes) are durable (WAL, `synchronous=FULL`)
and happen *before* the screen shows a change, so a killed app or a dropped SSH session
loses nothing. Coordination rows (heartbeats, polling leases) go through a second
connection with `synchronous=NORMAL`: they are rewritten every second and worthless
after a power cut. Rows are keyed by account (profile and base URL) so several accounts
never mix. Every rental write bumps a store-wide revision (`rev`), so a process learns
what the others changed with one indexed query when `PRAGMA data_version` moves.

The file has a schema version (`PRAGMA user_version`) and forward migrations; a file
from a newer release is refused rather than misread. Methods are blocking and
thread-safe; async callers run them on one thread, in order.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rentnumber_tui.api.models import RentalStatus
from rentnumber_tui.core.delivery import DeliveryRow
from rentnumber_tui.core.picks import MAX_RECENT, Pick
from rentnumber_tui.core.rentals import ORIGINS, OfferRef, Origin, RentalLabels, TrackedRental
from rentnumber_tui.user_error import UserFacingError

#: The schema this code reads and writes. 1 is release 0.1.0's (no version was written
#: then: a file with its tables and user_version 0 is a version-1 file).
SCHEMA_VERSION = 3

#: Seconds another connection may hold the write lock before a write gives up.
BUSY_TIMEOUT_MS = 10_000

_FINAL_SQL = "('completed','cancelled','expired','refunded')"

#: Release 0.1.0's tables, exactly (migration 0 → 1 creates them on a new file).
_SCHEMA_1 = """
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

#: 1 → 2: the offer a rental came from, where it came from, revisions; the journal's
#: timing for reconciliation; processes and polling leases.
_MIGRATION_2 = """
ALTER TABLE rentals ADD COLUMN pricing_id INTEGER;
ALTER TABLE rentals ADD COLUMN country_id INTEGER;
ALTER TABLE rentals ADD COLUMN provider_id INTEGER;
ALTER TABLE rentals ADD COLUMN origin TEXT NOT NULL DEFAULT 'here';
ALTER TABLE rentals ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
UPDATE rentals SET rev = rowid;
UPDATE rentals SET origin = 'elsewhere' WHERE NOT EXISTS (
    SELECT 1 FROM purchases p WHERE p.account = rentals.account
    AND p.rental_id = rentals.rental_id);
CREATE INDEX IF NOT EXISTS rentals_by_rev ON rentals (rev);
ALTER TABLE purchases ADD COLUMN country_id INTEGER;
ALTER TABLE purchases ADD COLUMN provider_id INTEGER;
ALTER TABLE purchases ADD COLUMN sent_at TEXT;
ALTER TABLE purchases ADD COLUMN uncertainty REAL;
ALTER TABLE purchases ADD COLUMN dead_at TEXT;
ALTER TABLE purchases ADD COLUMN check_at TEXT;
ALTER TABLE purchases ADD COLUMN balance_before TEXT;
ALTER TABLE purchases ADD COLUMN balance_seen_at TEXT;
ALTER TABLE purchases ADD COLUMN candidates TEXT;
ALTER TABLE purchases ADD COLUMN owner TEXT;
CREATE TABLE IF NOT EXISTS processes (
    owner TEXT PRIMARY KEY, account TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at REAL NOT NULL, beat_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    account TEXT NOT NULL, rental_id INTEGER NOT NULL, owner TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (account, rental_id)
);
CREATE TABLE IF NOT EXISTS tasks (
    account TEXT NOT NULL, name TEXT NOT NULL, done_at REAL NOT NULL,
    PRIMARY KEY (account, name)
);
"""

#: 2 → 3: recent service/country pairs and favourites (-1: no country / provider).
_MIGRATION_3 = """
CREATE TABLE IF NOT EXISTS picks (
    account TEXT NOT NULL, kind TEXT NOT NULL, service_id INTEGER NOT NULL,
    country_id INTEGER NOT NULL DEFAULT -1, provider_id INTEGER NOT NULL DEFAULT -1,
    service_slug TEXT NOT NULL, service_name TEXT NOT NULL,
    country_name TEXT NOT NULL DEFAULT '', iso_code TEXT NOT NULL DEFAULT '',
    flag TEXT NOT NULL DEFAULT '', provider_name TEXT NOT NULL DEFAULT '', at TEXT NOT NULL,
    PRIMARY KEY (account, kind, service_id, country_id, provider_id)
);
CREATE INDEX IF NOT EXISTS rentals_by_service ON rentals (account, service_slug);
"""

#: Forward migrations: MIGRATIONS[n] turns a version-n file into version n + 1.
MIGRATIONS: dict[int, str] = {0: _SCHEMA_1, 1: _MIGRATION_2, 2: _MIGRATION_3}

_RENTAL_COLUMNS = (
    "rental_id, phone, status, cost, service, service_slug, country, iso_code, flag,"
    " provider, code, sms, created_at, expires_at, code_seen_at, problem,"
    " pricing_id, country_id, provider_id, origin, rev"
)
_PURCHASE_COLUMNS = (
    "id, pricing_id, price, service, service_slug, country, iso_code, flag, provider,"
    " started_at, state, rental_id, detail, country_id, provider_id, sent_at, uncertainty,"
    " dead_at, check_at, balance_before, balance_seen_at, candidates, owner"
)


class StoreError(UserFacingError):
    """The local store cannot be opened, read or written; `message` says where and why."""


class PurchaseLocked(StoreError):
    """A rent of the same offer (same service, country and provider) is in flight or
    unresolved, in this process or another: a second one now could not be told apart
    from it if its answer were lost."""


#: Purchase states. "sending": written before the request went out; "unknown": the
#: answer was lost and the account is being checked; "done": the rental is known;
#: "failed": nothing was bought; "ambiguous": several rentals on the account match the
#: lost answer, each is shown marked, none was adopted.
UNRESOLVED = ("sending", "unknown")


@dataclass(frozen=True, slots=True)
class Purchase:
    """A journal entry: a rent we intended, and what became of it."""

    id: int
    pricing_id: int
    price: Decimal
    labels: RentalLabels
    started_at: datetime
    state: str
    rental_id: int | None = None
    detail: str | None = None
    country_id: int | None = None
    provider_id: int | None = None
    #: Server time (estimated) when the request left, and ± how sure that is.
    sent_at: datetime | None = None
    uncertainty: float | None = None
    #: When our side of the request ended without an answer (the connection closed).
    dead_at: datetime | None = None
    #: When the account is to be checked again ("nothing was bought" needs a second look).
    check_at: datetime | None = None
    #: The wallet as the server last said before the rent, and when it said it.
    balance_before: Decimal | None = None
    balance_seen_at: datetime | None = None
    #: Rentals that matched when the outcome was ambiguous.
    candidates: tuple[int, ...] = ()
    #: The process that is settling it (its token); another takes over when it is gone.
    owner: str | None = None

    @property
    def unresolved(self) -> bool:
        return self.state in UNRESOLVED


@dataclass(frozen=True, slots=True)
class Leases:
    """What `sync_leases` decided for one process."""

    #: Rentals this process polls (no other process polls them).
    mine: frozenset[int]
    #: Active rentals of the account in all: waiting for an SMS, and slow (a code
    #: already, or a status we do not know) — the poller paces itself on these.
    waiting: int
    slow: int
    #: Processes of this program following the account now (this one included).
    processes: int


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


def _money(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _reason(exc: BaseException) -> str:
    """What a SQLite failure means, in words a person can act on."""
    text = str(exc)
    lowered = text.lower()
    if "disk is full" in lowered or "disk full" in lowered:
        return "the disk is full — free some space"
    if (
        "readonly" in lowered
        or "read-only" in lowered
        or isinstance(exc, PermissionError)
        or "not permitted" in lowered
    ):
        return "the file is read-only (or not yours) — check its permissions"
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return "the file is damaged (SQLite reports it as corrupt) — move it aside to start afresh"
    if "unable to open" in lowered:
        return "it cannot be opened — check the directory exists and is writable"
    if "locked" in lowered or "busy" in lowered:
        return "another program holds it locked — try again in a moment"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return text or type(exc).__name__


class Store:
    def __init__(self, path: Path | str, account: str) -> None:
        self.path = str(path)
        self.account = account
        self._lock = threading.RLock()
        memory = self.path == ":memory:"
        try:
            if not memory:
                _private_parent(Path(self.path))
            self._db = self._connect()
            if not memory:
                os.chmod(self.path, 0o600)  # codes and numbers are nobody else's business
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            if memory:
                self._coord = self._db  # a second connection would be another database
            else:
                self._coord = self._connect()
                self._coord.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the local store {self.path}: {_reason(exc)}.") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return db

    def _migrate(self) -> None:
        """Bring the file to `SCHEMA_VERSION`, once, even with several processes starting
        together (the check and the steps run in one write transaction)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The local store {self.path} was written by a newer release of "
                    f"rentnumber-tui (schema {version}; this one reads up to "
                    f"{SCHEMA_VERSION}). Upgrade rentnumber-tui to use it."
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[step]):
                    db.execute(statement)
            if version != SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version", ())[0][0])

    def close(self) -> None:
        """Checkpoint (so the data is in the main file, not only in the -wal) and close."""
        with self._lock:
            try:
                if self._coord is not self._db:
                    self._coord.close()
                if self.path != ":memory:":
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # closing still releases the file; the WAL is replayed next time
            finally:
                self._db.close()

    # -- low level ---------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise self._error("write", exc) from None

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None

    def _transaction(
        self, body: Callable[[sqlite3.Connection], Any], *, coord: bool = False
    ) -> Any:
        """Run `body(connection)` inside BEGIN IMMEDIATE … COMMIT (ROLLBACK on error)."""
        db = self._coord if coord else self._db
        with self._lock:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = body(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                raise self._error("write", exc) from None

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"Cannot {action} the local store {self.path}: {_reason(exc)}.")

    def files_signature(self) -> tuple[int, ...]:
        """Size and modification time of the database and its write-ahead log: read
        without a query (a `stat` each, no lock, safe on any thread), so a watcher can
        skip `data_version` while nothing on disk moved. `()` for an in-memory store."""
        if self.path == ":memory:":
            return ()
        signature: list[int] = []
        for name in (self.path, self.path + "-wal"):
            try:
                info = os.stat(name)
            except OSError:
                signature += (-1, -1)
            else:
                signature += (info.st_size, info.st_mtime_ns)
        return tuple(signature)

    def data_version(self) -> int:
        """Changes when another connection (another process) commits: a cheap way to
        know that something may have changed without reading anything."""
        return int(self._read("PRAGMA data_version", ())[0][0])

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

    def save_rental(self, rental: TrackedRental) -> int:
        """Insert or update a rental (and record its code, if any) in one transaction;
        returns the new revision. The origin only ever moves towards "here": a rental
        another process adopted as ours stays ours."""
        labels = rental.labels
        now = datetime.now(UTC).isoformat()
        offer = rental.offer
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
            offer.pricing_id if offer else None,
            offer.country_id if offer else None,
            offer.provider_id if offer else None,
            rental.origin,
        )

        def write(db: sqlite3.Connection) -> int:
            rev = int(db.execute("SELECT COALESCE(MAX(rev), 0) + 1 FROM rentals").fetchone()[0])
            db.execute(
                """INSERT INTO rentals (account, rental_id, phone, status, cost, service,
                  service_slug, country, iso_code, flag, provider, code, sms, created_at,
                  expires_at, code_seen_at, problem, first_seen, pricing_id, country_id,
                  provider_id, origin, rev)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                ON CONFLICT (account, rental_id) DO UPDATE SET
                  phone=excluded.phone, status=excluded.status, cost=excluded.cost,
                  service=excluded.service, service_slug=excluded.service_slug,
                  country=excluded.country, iso_code=excluded.iso_code,
                  flag=excluded.flag, provider=excluded.provider, code=excluded.code,
                  sms=excluded.sms, created_at=excluded.created_at,
                  expires_at=excluded.expires_at, code_seen_at=excluded.code_seen_at,
                  problem=excluded.problem,
                  pricing_id=COALESCE(excluded.pricing_id, pricing_id),
                  country_id=COALESCE(excluded.country_id, country_id),
                  provider_id=COALESCE(excluded.provider_id, provider_id),
                  origin=CASE WHEN origin='here' THEN 'here' ELSE excluded.origin END,
                  rev=excluded.rev""",
                (*row, rev),
            )
            if rental.code:
                db.execute(
                    "INSERT OR IGNORE INTO codes VALUES (?, ?, ?, ?, ?)",
                    (self.account, rental.rental_id, rental.code, rental.sms or "", now),
                )
            return rev

        return int(self._transaction(write))

    def load_rentals(
        self, *, followed_only: bool = False, limit: int | None = None
    ) -> list[TrackedRental]:
        """Rentals of this account, newest first."""
        sql = f"SELECT {_RENTAL_COLUMNS} FROM rentals WHERE account=?"
        if followed_only:
            sql += f" AND status NOT IN {_FINAL_SQL} AND problem IS NULL"
        sql += " ORDER BY COALESCE(created_at, first_seen) DESC, rental_id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rentals = [_rental_from_row(row) for row in self._read(sql, (self.account,))]
        return self._with_earlier_codes(rentals)

    def rental(self, rental_id: int) -> TrackedRental | None:
        rows = self._read(
            f"SELECT {_RENTAL_COLUMNS} FROM rentals WHERE account=? AND rental_id=?",
            (self.account, rental_id),
        )
        return self._with_earlier_codes([_rental_from_row(rows[0])])[0] if rows else None

    def known_ids(self) -> set[int]:
        """Every rental any process of this program has seen on this account."""
        rows = self._read("SELECT rental_id FROM rentals WHERE account=?", (self.account,))
        return {int(row[0]) for row in rows}

    def revision(self) -> int:
        """The newest revision written so far (by any process)."""
        return int(self._read("SELECT COALESCE(MAX(rev), 0) FROM rentals", ())[0][0])

    def changes_since(self, rev: int) -> tuple[list[TrackedRental], int]:
        """Rentals of this account written after revision `rev` (by any process), and
        the revision to ask from next time."""
        with self._lock:
            top = self.revision()
            rows = self._read(
                f"SELECT {_RENTAL_COLUMNS} FROM rentals WHERE account=? AND rev > ?"
                " AND rev <= ? ORDER BY rev",
                (self.account, rev, top),
            )
            return self._with_earlier_codes([_rental_from_row(row) for row in rows]), top

    def _with_earlier_codes(self, rentals: list[TrackedRental]) -> list[TrackedRental]:
        """Attach the codes each rental showed before its current one."""
        if not rentals:
            return rentals
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
        self,
        pricing_id: int,
        price: Decimal,
        labels: RentalLabels,
        started_at: datetime,
        *,
        country_id: int | None = None,
        provider_id: int | None = None,
        owner: str | None = None,
        balance_before: Decimal | None = None,
        balance_seen_at: datetime | None = None,
    ) -> int:
        """Record the intent to rent, durably, before the request goes out. Raises
        `PurchaseLocked` when a rent of the same offer is unresolved (in any process):
        the check and the write are one transaction, so two processes cannot both
        start one."""

        def write(db: sqlite3.Connection) -> int:
            busy = db.execute(
                "SELECT COUNT(*) FROM purchases WHERE account=? AND state IN ('sending',"
                "'unknown') AND service=? AND country=? AND provider=?",
                (self.account, labels.service, labels.country, labels.provider),
            ).fetchone()[0]
            if busy:
                raise PurchaseLocked(
                    "A rent of this same offer is still on its way or being checked "
                    "(here or in another window); renting it again waits until its "
                    "outcome is known."
                )
            cursor = db.execute(
                "INSERT INTO purchases (account, pricing_id, price, service, service_slug,"
                " country, iso_code, flag, provider, started_at, state, country_id,"
                " provider_id, owner, balance_before, balance_seen_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,'sending',?,?,?,?,?)",
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
                    country_id,
                    provider_id,
                    owner,
                    None if balance_before is None else str(balance_before),
                    _iso(balance_seen_at),
                ),
            )
            return int(cursor.lastrowid or 0)

        return int(self._transaction(write))

    def update_purchase(self, purchase_id: int, **fields: object) -> None:
        """Set journal fields (names of `Purchase`); datetimes, Decimals and tuples are
        stored as text."""
        allowed = {
            "state",
            "rental_id",
            "detail",
            "sent_at",
            "uncertainty",
            "dead_at",
            "check_at",
            "candidates",
            "owner",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise TypeError(f"update_purchase() got unknown fields {sorted(unknown)}")
        columns: list[str] = []
        values: list[object] = []
        for name, value in fields.items():
            columns.append(f"{name}=?")
            if isinstance(value, datetime):
                values.append(_iso(value))
            elif isinstance(value, tuple):
                values.append(json.dumps(list(value)))
            else:
                values.append(value)
        self._write(
            f"UPDATE purchases SET {', '.join(columns)} WHERE id=? AND account=?",
            (*values, purchase_id, self.account),
        )

    def finish_purchase(
        self,
        purchase_id: int,
        state: str,
        *,
        rental_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.update_purchase(purchase_id, state=state, rental_id=rental_id, detail=detail)

    def purchase(self, purchase_id: int) -> Purchase | None:
        rows = self._read(
            f"SELECT {_PURCHASE_COLUMNS} FROM purchases WHERE account=? AND id=?",
            (self.account, purchase_id),
        )
        return _purchase_from_row(rows[0]) if rows else None

    def unresolved_purchases(self) -> list[Purchase]:
        """Purchases whose outcome is not known yet ("sending" after a crash, or
        "unknown"), by any process, oldest first."""
        rows = self._read(
            f"SELECT {_PURCHASE_COLUMNS} FROM purchases"
            " WHERE account=? AND state IN ('sending', 'unknown') ORDER BY id",
            (self.account,),
        )
        return [_purchase_from_row(row) for row in rows]

    def claimed_ids(self) -> set[int]:
        """Rentals the journal says a purchase of this account bought (or may have)."""
        rows = self._read(
            "SELECT rental_id, candidates FROM purchases WHERE account=?", (self.account,)
        )
        ids: set[int] = set()
        for rental_id, candidates in rows:
            if rental_id is not None:
                ids.add(int(rental_id))
            if candidates:
                ids.update(int(c) for c in json.loads(candidates))
        return ids

    # -- processes and polling leases ------------------------------------------------------

    def register_process(self, owner: str, pid: int) -> None:
        now = time.time()
        self._transaction(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO processes VALUES (?, ?, ?, ?, ?)",
                (owner, self.account, pid, now, now),
            ),
            coord=True,
        )

    def unregister_process(self, owner: str) -> None:
        """Leaving cleanly: others take this process's rentals at once."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM leases WHERE owner=?", (owner,))
            db.execute("DELETE FROM processes WHERE owner=?", (owner,))

        self._transaction(write, coord=True)

    def live_processes(self, ttl: float) -> set[str]:
        """Owners of this account that sent a heartbeat in the last `ttl` seconds."""
        with self._lock:
            try:
                rows = self._coord.execute(
                    "SELECT owner FROM processes WHERE account=? AND beat_at >= ?",
                    (self.account, time.time() - ttl),
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return {str(row[0]) for row in rows}

    def sync_leases(self, owner: str, ttl: float, *, keep: Iterable[int] = ()) -> Leases:
        """Heartbeat, then divide the account's active rentals between the processes
        that are alive: a dead process's leases are freed, this one claims unleased
        rentals up to its fair share (and gives back what it holds beyond it), so each
        active rental is polled by exactly one process. `keep`: rentals this process
        must hold on to if they are not another's (a poll in flight)."""
        keep_ids = set(keep)

        def write(db: sqlite3.Connection) -> Leases:
            now = time.time()
            db.execute("UPDATE processes SET beat_at=? WHERE owner=?", (now, owner))
            if db.execute("SELECT changes()").fetchone()[0] == 0:
                db.execute(
                    "INSERT OR REPLACE INTO processes VALUES (?, ?, ?, ?, ?)",
                    (owner, self.account, os.getpid(), now, now),
                )
            live = {
                str(row[0])
                for row in db.execute(
                    "SELECT owner FROM processes WHERE account=? AND beat_at >= ?",
                    (self.account, now - ttl),
                )
            }
            db.execute(
                "DELETE FROM processes WHERE account=? AND beat_at < ?",
                (self.account, now - 10 * ttl),
            )
            active = db.execute(
                "SELECT rental_id, status, code FROM rentals WHERE account=? AND status NOT IN"
                f" {_FINAL_SQL} AND problem IS NULL ORDER BY rental_id",
                (self.account,),
            ).fetchall()
            active_ids = {int(row[0]) for row in active}
            slow = sum(1 for _, status, code in active if code or not _known_waiting(str(status)))
            leases = {
                int(rental_id): str(holder)
                for rental_id, holder in db.execute(
                    "SELECT rental_id, owner FROM leases WHERE account=?", (self.account,)
                )
            }
            for rental_id, holder in list(leases.items()):
                if holder not in live or rental_id not in active_ids:
                    db.execute(
                        "DELETE FROM leases WHERE account=? AND rental_id=?",
                        (self.account, rental_id),
                    )
                    del leases[rental_id]
            share = -(-len(active_ids) // max(1, len(live)))  # ceiling division
            mine = {rid for rid, holder in leases.items() if holder == owner}
            for rental_id in sorted(active_ids - set(leases)):
                if len(mine) >= share and rental_id not in keep_ids:
                    break
                db.execute(
                    "INSERT INTO leases VALUES (?, ?, ?, ?)", (self.account, rental_id, owner, now)
                )
                mine.add(rental_id)
            excess = len(mine) - share
            if excess > 0:
                for rental_id in sorted(mine - keep_ids, reverse=True)[:excess]:
                    db.execute(
                        "DELETE FROM leases WHERE account=? AND rental_id=? AND owner=?",
                        (self.account, rental_id, owner),
                    )
                    mine.discard(rental_id)
            return Leases(frozenset(mine), len(active_ids) - slow, slow, max(1, len(live)))

        result: Leases = self._transaction(write, coord=True)
        return result

    def delivery_rows(self, service_slug: str) -> list[DeliveryRow]:
        """What `core.delivery` needs of every rental of one service rented here."""
        rows = self._read(
            "SELECT country_id, provider_id, code IS NOT NULL, status, created_at,"
            " code_seen_at FROM rentals WHERE account = ? AND service_slug = ?"
            " AND country_id IS NOT NULL AND provider_id IS NOT NULL",
            (self.account, service_slug),
        )
        return [
            (c, p, bool(code), status, _dt(at), _dt(seen)) for c, p, code, status, at, seen in rows
        ]

    # -- recent and favourites ------------------------------------------------------------

    _PICK_COLUMNS = (
        "kind, service_id, service_slug, service_name, at, country_id, country_name,"
        " iso_code, flag, provider_id, provider_name"
    )

    def _pick_row(self, pick: Pick) -> tuple[object, ...]:
        return (
            self.account,
            pick.kind,
            pick.service_id,
            pick.service_slug,
            pick.service_name,
            _iso(pick.at),
            -1 if pick.country_id is None else pick.country_id,
            pick.country_name,
            pick.iso_code,
            pick.flag,
            -1 if pick.provider_id is None else pick.provider_id,
            pick.provider_name,
        )

    def record_recent(self, pick: Pick) -> None:
        """`pick` used now: first among the recent ones; only the newest few are kept."""

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                f"INSERT OR REPLACE INTO picks (account, {self._PICK_COLUMNS})"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                self._pick_row(replace(pick, kind="recent")),
            )
            db.execute(
                "DELETE FROM picks WHERE account = ? AND kind = 'recent' AND rowid NOT IN"
                " (SELECT rowid FROM picks WHERE account = ? AND kind = 'recent'"
                "  ORDER BY at DESC LIMIT ?)",
                (self.account, self.account, MAX_RECENT),
            )

        self._transaction(write)

    def toggle_favourite(self, pick: Pick) -> bool:
        """Make `pick` a favourite, or no longer one; True when it now is."""

        def write(db: sqlite3.Connection) -> bool:
            row = self._pick_row(replace(pick, kind="favourite"))
            gone = db.execute(
                "DELETE FROM picks WHERE account = ? AND kind = 'favourite'"
                " AND service_id = ? AND country_id = ? AND provider_id = ?",
                (self.account, row[2], row[6], row[10]),
            ).rowcount
            if gone:
                return False
            db.execute(
                f"INSERT INTO picks (account, {self._PICK_COLUMNS})"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            return True

        return bool(self._transaction(write))

    def picks(self) -> list[Pick]:
        """Recent ones newest first, then favourites newest first."""
        rows = self._read(
            f"SELECT {self._PICK_COLUMNS} FROM picks WHERE account = ? ORDER BY kind DESC, at DESC",
            (self.account,),
        )
        return [_pick_from_row(row) for row in rows]

    def claim_task(self, name: str, every: float) -> bool:
        """True for exactly one process per `every` seconds: who does an account-wide
        chore (looking for rentals made elsewhere) this time."""

        def write(db: sqlite3.Connection) -> bool:
            now = time.time()
            row = db.execute(
                "SELECT done_at FROM tasks WHERE account=? AND name=?", (self.account, name)
            ).fetchone()
            if row is not None and float(row[0]) > now - every:
                return False
            db.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?)", (self.account, name, now))
            return True

        return bool(self._transaction(write, coord=True))


def _pick_from_row(row: tuple[Any, ...]) -> Pick:
    kind, service_id, slug, name, at, country_id, country, iso, flag, provider_id, provider = row
    return Pick(
        kind=kind,
        service_id=service_id,
        service_slug=slug,
        service_name=name,
        at=_dt(at) or datetime.now(UTC),
        country_id=None if country_id == -1 else country_id,
        country_name=country,
        iso_code=iso,
        flag=flag,
        provider_id=None if provider_id == -1 else provider_id,
        provider_name=provider,
    )


def _known_waiting(status: str) -> bool:
    """A documented status still waiting for its SMS (the poller's fast lane)."""
    return status in ("pending", "waiting")


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def _rental_from_row(row: tuple[Any, ...]) -> TrackedRental:
    pricing_id, country_id, provider_id = row[16], row[17], row[18]
    offer = (
        OfferRef(int(pricing_id), int(country_id), int(provider_id))
        if pricing_id is not None and country_id is not None and provider_id is not None
        else None
    )
    origin: Origin = row[19] if row[19] in ORIGINS else "elsewhere"
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
        offer=offer,
        origin=origin,
    )


def _purchase_from_row(row: tuple[Any, ...]) -> Purchase:
    started = _dt(row[9]) or datetime.fromtimestamp(0, UTC)
    return Purchase(
        id=int(row[0]),
        pricing_id=int(row[1]),
        price=Decimal(row[2]),
        labels=RentalLabels(*row[3:9]),
        started_at=started,
        state=str(row[10]),
        rental_id=row[11],
        detail=row[12],
        country_id=row[13],
        provider_id=row[14],
        sent_at=_dt(row[15]),
        uncertainty=row[16],
        dead_at=_dt(row[17]),
        check_at=_dt(row[18]),
        balance_before=_money(row[19]),
        balance_seen_at=_dt(row[20]),
        candidates=tuple(int(c) for c in json.loads(row[21])) if row[21] else (),
        owner=row[22],
    )
