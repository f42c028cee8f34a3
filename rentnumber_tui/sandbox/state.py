"""The simulated server's state: wallets, stock and rentals. Pure logic, no HTTP.

Rentals evolve lazily: every read first "settles" a rental against the clock (SMS
arrival, expiry and its refund), so there are no background tasks and a `ManualClock`
fast-forwards everything. One `threading.Lock` guards all of it, because tests mutate
the state from the main thread while uvicorn serves it from another; the lock is never
held across an `await` (nothing here is async).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .catalog import (
    Catalog,
    CatalogOptions,
    Offer,
    Service,
    ServiceSummary,
    catalog_for,
    initial_summary,
    summarize,
)
from .clock import Clock
from .config import DEMO_API_KEY, SandboxConfig
from .hostile import HOSTILE_PHONE_SUFFIX

CENT = Decimal("0.01")
ACTIVE_STATUSES = frozenset({"pending", "waiting", "received"})
FINAL_STATUSES = frozenset({"completed", "cancelled", "expired", "refunded"})
HISTORY_LIMIT = 100

_CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{4,8})(?!\d)")


class SandboxError(Exception):
    """A request the simulated server refuses: HTTP status + the `error` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def naira(amount: Decimal) -> str:
    """`₦1,234.50`: the server's way of writing money in error texts."""
    return f"₦{amount.quantize(CENT):,.2f}"


@dataclass(frozen=True)
class RentalInfo:
    """A snapshot of one rental, for assertions (`Sandbox.rentals_of`) and responses."""

    rental_id: int
    offer_id: int
    service_slug: str
    service: str
    country: str
    iso_code: str
    provider: str
    phone: str
    cost: Decimal
    status: str
    code: str | None
    sms: str | None
    created_at: datetime
    expires_at: datetime
    sms_at: datetime | None  # when the current SMS arrived
    refunded: bool  # the cost went back to the wallet (cancel before SMS, or expiry)


@dataclass
class _Account:
    balance: Decimal
    revoked: bool = False


@dataclass
class _Rental:
    rental_id: int
    account: str
    offer: Offer
    service: Service
    phone: str
    cost: Decimal
    created_at: datetime
    expires_at: datetime
    scheduled_sms_at: datetime | None  # None: this rental never gets an SMS by itself
    status: str = "waiting"
    code: str | None = None
    sms: str | None = None
    first_sms_at: datetime | None = None
    sms_at: datetime | None = None
    sms_count: int = 0
    refunded: bool = False


class SandboxState:
    """Accounts, stock and rentals behind one lock; the catalog is built on first use."""

    def __init__(self, config: SandboxConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._catalog_lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._stock: dict[int, int] = {}
        self._accounts: dict[str, _Account] = {
            DEMO_API_KEY: _Account(config.starting_balance.quantize(CENT))
        }
        self._rentals: dict[int, _Rental] = {}
        self._by_account: dict[str, list[int]] = {}
        self._phones: set[str] = set()
        self._phone_queue: list[str] = []
        #: pricing id -> (price, stock) that GET /prices reports instead of the truth.
        self._listing: dict[int, tuple[Decimal | None, int | None]] = {}
        self._next_rental_id = config.first_rental_id

    # -- catalog and stock ------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            with self._catalog_lock:
                if self._catalog is None:
                    catalog = catalog_for(self.config.seed, self._catalog_options())
                    self._stock = {o.id: o.stock for o in catalog.offers}
                    self._catalog = catalog
        return self._catalog

    def _catalog_options(self) -> CatalogOptions:
        config = self.config
        return CatalogOptions(
            config.extra_offers, config.extra_offers_service, config.extra_services, config.hostile
        )

    def _offer(self, pricing_id: int) -> Offer:
        offer = self.catalog.offer(pricing_id)
        if offer is None:
            raise SandboxError(404, "Pricing option not found")
        return offer

    def set_stock(self, pricing_id: int, n: int) -> None:
        if n < 0:
            raise ValueError("stock cannot be negative")
        offer = self.catalog.offer(pricing_id)
        if offer is None:
            raise KeyError(pricing_id)
        with self._lock:
            self._stock[offer.id] = n

    def misreport(
        self, pricing_id: int, *, price: Decimal | None = None, stock: int | None = None
    ) -> None:
        """Make GET /prices report `price` and/or `stock` for this offer (any value:
        zero, negative) while renting still works on the truth: a buggy server."""
        if self.catalog.offer(pricing_id) is None:
            raise KeyError(pricing_id)
        with self._lock:
            self._listing[pricing_id] = (price, stock)

    def listed(self, offer: Offer, stock: int) -> tuple[Decimal, int]:
        """(price, stock) as GET /prices reports them."""
        with self._lock:
            price, listed_stock = self._listing.get(offer.id, (None, None))
        return (
            offer.final_price if price is None else price,
            stock if listed_stock is None else listed_stock,
        )

    def queue_phones(self, *phones: str) -> None:
        """The next rentals get these numbers, in order (e.g. a 200-character one)."""
        with self._lock:
            self._phone_queue.extend(phones)

    def stock_of(self, pricing_id: int) -> int:
        if self.catalog.offer(pricing_id) is None:
            raise KeyError(pricing_id)
        with self._lock:
            return self._stock[pricing_id]

    def services_summary(self) -> list[ServiceSummary]:
        """(service, provider count, from price) for every service, with the live stock
        (`catalog.summarize`). Before anything needed the whole catalog nothing can
        have been rented: said from its initial stock without building it."""
        if self._catalog is None:
            return initial_summary(self.config.seed, self._catalog_options())
        catalog = self.catalog
        with self._lock:
            stock = self._stock
            return summarize(
                catalog.services,
                ((o.service_id, o.provider_id, o.final_price, stock[o.id]) for o in catalog.offers),
            )

    def prices(self, slug: str, country_id: int | None) -> tuple[Service, list[tuple[Offer, int]]]:
        """The service's offers with their live stock, optionally for one country."""
        catalog = self.catalog
        service = catalog.service_by_slug(slug)
        if service is None:
            raise SandboxError(404, "Service not found")
        if country_id is not None and catalog.country(country_id) is None:
            raise SandboxError(400, "Country not found")
        offers = catalog.offers_for_service(service.id)
        if country_id is not None:
            offers = tuple(o for o in offers if o.country_id == country_id)
        with self._lock:
            return service, [(o, self._stock[o.id]) for o in offers]

    # -- accounts ---------------------------------------------------------------------

    def add_account(self, key: str, balance: Decimal) -> None:
        with self._lock:
            if key in self._accounts:
                raise ValueError("an account with this key already exists")
            self._accounts[key] = _Account(Decimal(balance).quantize(CENT))

    def is_authorized(self, key: str | None) -> bool:
        with self._lock:
            account = self._accounts.get(key) if key else None
            return account is not None and not account.revoked

    def _account(self, key: str | None) -> _Account:
        account = self._accounts.get(key) if key else None
        if account is None or account.revoked:
            raise SandboxError(401, "Unauthorized: missing or invalid API key")
        return account

    def balance(self, key: str | None) -> Decimal:
        """The wallet balance, after settling expiries (which may refund)."""
        with self._lock:
            account = self._account(key)
            self._settle_account(key, self.clock.now())
            return account.balance

    def balance_of(self, key: str) -> Decimal:
        with self._lock:
            account = self._accounts[key]
            self._settle_account(key, self.clock.now())
            return account.balance

    def set_balance(self, key: str, balance: Decimal) -> None:
        with self._lock:
            self._accounts[key].balance = Decimal(balance).quantize(CENT)

    def revoke_key(self, key: str) -> None:
        with self._lock:
            self._accounts[key].revoked = True

    def restore_key(self, key: str) -> None:
        with self._lock:
            self._accounts[key].revoked = False

    # -- rentals ----------------------------------------------------------------------

    def rent(self, key: str | None, pricing_id: int) -> RentalInfo:
        """Debit the wallet, take one number from stock, open a rental."""
        offer = self._offer(pricing_id)
        catalog = self.catalog
        with self._lock:
            account = self._account(key)
            assert key is not None
            if self._stock[offer.id] <= 0:
                raise SandboxError(400, "Out of stock for this pricing option")
            now = self.clock.now().replace(microsecond=0)
            self._settle_account(key, now)
            if account.balance < offer.final_price:
                raise SandboxError(400, f"Insufficient balance. Need {naira(offer.final_price)}")
            account.balance -= offer.final_price
            self._stock[offer.id] -= 1
            rental_id = self._next_rental_id
            self._next_rental_id += 1
            rental = _Rental(
                rental_id=rental_id,
                account=key,
                offer=offer,
                service=catalog.service(offer.service_id),
                phone=self._new_phone(rental_id, offer),
                cost=offer.final_price,
                created_at=now,
                expires_at=now + timedelta(seconds=self.config.rental_ttl),
                scheduled_sms_at=None
                if offer.provider_id in self.config.silent_providers
                else self._schedule_sms(rental_id, now),
            )
            self._rentals[rental_id] = rental
            self._by_account.setdefault(key, []).append(rental_id)
            return self._info(rental)

    def _schedule_sms(self, rental_id: int, created_at: datetime) -> datetime | None:
        # Seeded per rental: the order of requests never changes a rental's delay.
        rng = random.Random(f"{self.config.seed}:{rental_id}:sms")
        delay = rng.uniform(*self.config.sms_delay)
        never = rng.random() < self.config.no_sms_probability
        return None if never else created_at + timedelta(seconds=delay)

    def _new_phone(self, rental_id: int, offer: Offer) -> str:
        if self._phone_queue:
            return self._phone_queue.pop(0)
        phone = self._plain_phone(rental_id, offer)
        return phone + HOSTILE_PHONE_SUFFIX if self.config.hostile else phone

    def _plain_phone(self, rental_id: int, offer: Offer) -> str:
        country = self.catalog.country(offer.country_id)
        assert country is not None
        rng = random.Random(f"{self.config.seed}:{rental_id}:phone")
        phone = country.phone_number(rng)
        while phone in self._phones:  # never hand out the same number twice
            phone = country.phone_number(rng)
        self._phones.add(phone)
        return phone

    def _own_rental(self, key: str | None, rental_id: int) -> _Rental:
        self._account(key)
        rental = self._rentals.get(rental_id)
        if rental is None or rental.account != key:
            raise SandboxError(404, "Rental not found")
        return rental

    def get_rental(self, key: str | None, rental_id: int) -> RentalInfo:
        with self._lock:
            rental = self._own_rental(key, rental_id)
            self._settle(rental, self.clock.now())
            return self._info(rental)

    def cancel(self, key: str | None, rental_id: int) -> tuple[str, bool, Decimal]:
        """(status, refunded, amount): refund before the SMS, plain cancel after it."""
        with self._lock:
            rental = self._own_rental(key, rental_id)
            self._settle(rental, self.clock.now())
            if rental.status in FINAL_STATUSES:
                raise SandboxError(400, f"Rental is already {rental.status}")
            if rental.sms_count == 0:
                rental.status = "refunded"
                self._refund(rental)
                return rental.status, True, rental.cost
            rental.status = "cancelled"
            return rental.status, False, Decimal("0.00")

    def history(self, key: str | None, limit: int = HISTORY_LIMIT) -> list[RentalInfo]:
        """The account's rentals, newest first, at most `limit`."""
        with self._lock:
            self._account(key)
            now = self.clock.now()
            ids = self._by_account.get(key or "", [])[::-1][:limit]
            out = []
            for rental_id in ids:
                rental = self._rentals[rental_id]
                self._settle(rental, now)
                out.append(self._info(rental))
            return out

    def rentals_of(self, key: str) -> list[RentalInfo]:
        """Every rental of the account, oldest first (no cap, no auth check)."""
        with self._lock:
            now = self.clock.now()
            out = []
            for rental_id in self._by_account.get(key, []):
                rental = self._rentals[rental_id]
                self._settle(rental, now)
                out.append(self._info(rental))
            return out

    def deliver_sms(self, rental_id: int, text: str | None = None, code: str | None = None) -> None:
        """An SMS arrives now (replacing any earlier code); the rental must be active."""
        with self._lock:
            rental = self._rentals[rental_id]
            now = self.clock.now()
            self._settle(rental, now)
            if rental.status in FINAL_STATUSES:
                raise ValueError(f"rental {rental_id} is already {rental.status}")
            self._receive(rental, now, text=text, code=code)

    def sms_delivered_at(self, rental_id: int) -> datetime | None:
        """When the (first) SMS arrived, or when it is due; None if it never will."""
        with self._lock:
            rental = self._rentals[rental_id]
            self._settle(rental, self.clock.now())
            if rental.first_sms_at is not None:
                return rental.first_sms_at
            if rental.status in FINAL_STATUSES:
                return None
            due = rental.scheduled_sms_at
            return due if due is not None and due < rental.expires_at else None

    # -- the lifecycle (call with the lock held) --------------------------------------

    def _settle_account(self, key: str | None, now: datetime) -> None:
        for rental_id in self._by_account.get(key or "", []):
            self._settle(self._rentals[rental_id], now)

    def _settle(self, rental: _Rental, now: datetime) -> None:
        if rental.status in FINAL_STATUSES:
            return
        due = rental.scheduled_sms_at
        if due is not None and rental.sms_count == 0 and due <= now and due < rental.expires_at:
            self._receive(rental, due)
        if now >= rental.expires_at:
            if rental.sms_count:
                rental.status = "completed"
            else:
                rental.status = "expired"
                self._refund(rental)

    def _receive(
        self, rental: _Rental, at: datetime, *, text: str | None = None, code: str | None = None
    ) -> None:
        if code is None and text is not None:
            found = _CODE_IN_TEXT.search(text)
            code = found.group(1) if found else None
        if code is None:
            rng = random.Random(f"{self.config.seed}:{rental.rental_id}:code:{rental.sms_count}")
            code = "".join(str(rng.randint(0, 9)) for _ in range(rental.service.code_length))
        rental.code = code
        rental.sms = text if text is not None else rental.service.sms_text(code)
        rental.sms_count += 1
        rental.sms_at = at
        if rental.first_sms_at is None:
            rental.first_sms_at = at
        rental.status = "received"

    def _refund(self, rental: _Rental) -> None:
        if not rental.refunded:
            rental.refunded = True
            self._accounts[rental.account].balance += rental.cost

    def _info(self, rental: _Rental) -> RentalInfo:
        catalog = self.catalog
        country = catalog.country(rental.offer.country_id)
        assert country is not None
        return RentalInfo(
            rental_id=rental.rental_id,
            offer_id=rental.offer.id,
            service_slug=rental.service.slug,
            service=rental.service.name,
            country=country.name,
            iso_code=country.iso_code,
            provider=catalog.provider(rental.offer.provider_id).name,
            phone=rental.phone,
            cost=rental.cost,
            status=rental.status,
            code=rental.code,
            sms=rental.sms,
            created_at=rental.created_at,
            expires_at=rental.expires_at,
            sms_at=rental.sms_at,
            refunded=rental.refunded,
        )
