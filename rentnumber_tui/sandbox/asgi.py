"""`Sandbox`: the simulated RentNumber server as a raw ASGI application.

Routing, request parsing and response encoding live here; the rules live in
`state.py`; the misbehaviour in `faults.py`. No web framework, and nothing asyncio is
created at construction, so a `Sandbox` can be built before any event loop exists and
served by `httpx.ASGITransport` (in-process) or uvicorn (in a thread) alike.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from . import wire
from .admin import is_admin_path, serve_admin
from .catalog import Catalog, Offer
from .clock import Clock, SystemClock
from .config import SandboxConfig
from .faults import PRE_EXECUTION_KINDS, Faults, RateWindow, path_matches, relative_path
from .hostile import HOSTILE_ERROR_SUFFIX
from .state import RentalInfo, SandboxError, SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_INT = re.compile(r"-?[0-9]+")
_UNAUTHORIZED = "Unauthorized: missing or invalid API key"


#: Requests the sandbox's log keeps (the newest; far beyond any test's or benchmark's).
LOG_KEPT = 50_000


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; `status` 0 means no response was sent.

    `monotonic` is the server's monotonic clock at arrival (what the rate limit reads),
    `time` the sandbox clock's POSIX time at arrival. `seq` numbers records in the order
    they were *logged* (when the request finished), from 1 and never reused, so "every
    record with seq > N" is a cursor that misses nothing even when requests overlap.
    """

    monotonic: float
    method: str
    path: str
    status: int
    seq: int = 0
    time: float = 0.0


class DroppedConnection(ConnectionResetError):
    """Raised by the `drop` fault when httpx is not loaded (see `_drop_error`)."""


@dataclass
class _Reply:
    status: int
    payload: dict[str, Any]
    headers: list[tuple[str, str]]


class _Done(Exception):
    """The client went away: stop without answering."""


class Sandbox:
    """The RentNumber server, simulated: an ASGI app plus test hooks on its state.

    Serves `/api/v1/...` (anything else is a JSON 404) and, outside the simulated API,
    the admin API under `/_sandbox/` (`admin.py`: never logged, rate-limited or
    faulted). Decisions where the documentation is silent:
    - `/services` `min_price` is the cheapest offer *with stock* (live), or the cheapest
      offer overall when every offer is sold out; `provider_count` counts distinct
      providers with any offer, in stock or not.
    - Offers are listed by (country id, price, id); sold-out offers are listed (stock 0).
    - A cancelled or expired rental's number does not go back into stock.
    - `rentals_of(key)` is oldest first; `GET /rentals` is newest first, at most 100.
    - `request_log[i].status` is 0 when no response was sent (hang, drop, disconnect).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        clock: Clock | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock: Clock = clock or SystemClock()
        self.faults = Faults(seed=self.config.seed)
        #: Appended to every JSON `error` text (hostile mode: markup and escapes).
        self.error_text_suffix = HOSTILE_ERROR_SUFFIX if self.config.hostile else ""
        self.state = SandboxState(self.config, self.clock)
        self._monotonic = monotonic
        self._rate = RateWindow()
        # The newest LOG_KEPT requests: a demo left running all day must not grow.
        self._log: deque[RequestRecord] = deque(maxlen=LOG_KEPT)
        self._log_lock = threading.Lock()
        self._last_seq = 0

    # -- test hooks -------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """Services, countries, providers and offers (built on first use)."""
        return self.state.catalog

    def add_account(self, key: str, balance: Decimal) -> None:
        self.state.add_account(key, balance)

    def balance_of(self, key: str) -> Decimal:
        return self.state.balance_of(key)

    def set_balance(self, key: str, balance: Decimal) -> None:
        self.state.set_balance(key, balance)

    def revoke_key(self, key: str) -> None:
        self.state.revoke_key(key)

    def set_stock(self, pricing_id: int, n: int) -> None:
        self.state.set_stock(pricing_id, n)

    def misreport(
        self, pricing_id: int, *, price: Decimal | None = None, stock: int | None = None
    ) -> None:
        """GET /prices reports this price and/or stock (zero, negative: anything) for the
        offer; renting it still costs the real price. For absurd-value tests."""
        self.state.misreport(pricing_id, price=price, stock=stock)

    def queue_phones(self, *phones: str) -> None:
        """The next rentals get these phone numbers, in order (any text, any length)."""
        self.state.queue_phones(*phones)

    def restore_key(self, key: str) -> None:
        """Accept a revoked key again (the account owner re-enabled it)."""
        self.state.restore_key(key)

    def stock_of(self, pricing_id: int) -> int:
        return self.state.stock_of(pricing_id)

    def deliver_sms(self, rental_id: int, text: str | None = None, code: str | None = None) -> None:
        self.state.deliver_sms(rental_id, text=text, code=code)

    def rentals_of(self, key: str) -> list[RentalInfo]:
        """Every rental of the account, oldest first, settled against the clock."""
        return self.state.rentals_of(key)

    def sms_delivered_at(self, rental_id: int) -> datetime | None:
        return self.state.sms_delivered_at(rental_id)

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of the requests served so far (the newest `LOG_KEPT`), in arrival order."""
        return self.requests_since(0)

    def requests_since(self, seq: int) -> list[RequestRecord]:
        """The logged requests with `seq` greater than `seq`, in arrival order (a
        request appears once it has finished; admin requests never appear)."""
        with self._log_lock:
            found = [r for r in self._log if r.seq > seq]
        return sorted(found, key=lambda r: (r.monotonic, r.seq))

    def clear_request_log(self) -> None:
        """Forget the logged requests; `seq` keeps counting, so cursors stay valid."""
        with self._log_lock:
            self._log.clear()

    def pick_offer(
        self,
        service: str | None = None,
        country: str | None = None,
        *,
        in_stock: bool = True,
        max_price: Decimal | None = None,
    ) -> Offer:
        """The lowest-id offer for a service slug / ISO country code, for tests."""
        catalog = self.catalog
        for offer in catalog.offers:
            if service is not None and catalog.service(offer.service_id).slug != service:
                continue
            found = catalog.country(offer.country_id)
            if country is not None and (found is None or found.iso_code != country.upper()):
                continue
            if in_stock and self.stock_of(offer.id) <= 0:
                continue
            if max_price is not None and offer.final_price > max_price:
                continue
            return offer
        raise LookupError(f"no offer for service={service!r} country={country!r}")

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        path = scope["path"]
        if is_admin_path(path):
            # Before the clock, the rate window and the faults: none of them sees it.
            await serve_admin(self, scope, receive, send)
            return
        arrival = self._monotonic()
        arrived_at = self.clock.now().timestamp()
        method = scope["method"].upper()
        status = 0
        try:
            status = await self._http(scope, receive, send, arrival, method, path)
        except _Done:
            status = 0
        finally:
            with self._log_lock:
                self._last_seq += 1
                record = RequestRecord(arrival, method, path, status, self._last_seq, arrived_at)
                self._log.append(record)

    def _error_body(self, message: str) -> dict[str, Any]:
        return wire.error_body(message + self.error_text_suffix)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, arrival: float, method: str, path: str
    ) -> int:
        faults = self.faults
        allowed = self._rate.arrive(arrival, faults.rate_limit_requests, faults.rate_limit_window)
        body = await wire.read_body(receive)
        if body is None:
            raise _Done
        if faults.enforce_rate_limit and not allowed:
            reply = _Reply(
                429,
                self._error_body("Too many requests. Please slow down."),
                [("retry-after", "1")],
            )
            return await self._send_json(send, reply)

        injected = faults.take(method, path)
        if faults.latency > 0:
            await _pause(faults.latency, receive)
        if injected == "slow":
            await _pause(faults.slow_seconds, receive)
            injected = faults.take(method, path)  # a fault queued behind it, if any

        if injected == "502_html" or (
            injected is None and faults.roll(faults.error_502_probability)
        ):
            return await self._send_raw(send, 502, wire.BAD_GATEWAY_HTML, "text/html")
        if injected == "success_false_200":
            body_ = self._error_body("Provider temporarily unavailable, please try again")
            return await self._send_json(send, _Reply(200, body_, []))
        if injected == "429":
            reply = _Reply(
                429,
                self._error_body("Too many requests. Please slow down."),
                [("retry-after", faults.retry_after)],
            )
            return await self._send_json(send, reply)
        if injected == "401":
            return await self._send_json(send, _Reply(401, self._error_body(_UNAUTHORIZED), []))
        if injected == "hang":
            await _pause(faults.hang_seconds, receive)
            return await self._send_json(send, _Reply(504, self._error_body("Gateway Timeout"), []))
        assert injected is None or injected not in PRE_EXECUTION_KINDS

        reply = self._dispatch(method, path, scope, body)

        if (
            reply.status == 200
            and faults.rent_response_delay > 0
            and method == "POST"
            and path_matches("/rent", path)
        ):
            await _pause(faults.rent_response_delay, receive)

        if injected == "500":
            reply = _Reply(500, self._error_body("Internal server error"), [])
        elif injected == "wrong_types":
            reply.payload = wire.wrong_types(reply.payload)
        elif injected == "missing_fields":
            reply.payload = wire.missing_fields(reply.payload)
        elif injected == "unknown_status":
            reply.payload = wire.unknown_status(reply.payload)
        data = wire.encode_json(reply.payload)
        if injected == "truncated_json" or (
            injected is None and faults.roll(faults.malformed_json_probability)
        ):
            data = data[: max(1, len(data) // 2)]
        if injected == "drop":
            await self._start(send, reply.status, "application/json", len(data), reply.headers)
            half = data[: len(data) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            raise _drop_error()
        return await self._send_raw(send, reply.status, data, "application/json", reply.headers)

    # -- responses ----------------------------------------------------------------------

    async def _start(
        self,
        send: Send,
        status: int,
        content_type: str,
        length: int,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(length).encode("latin-1")),
            (b"date", wire.http_date(self.clock.now()).encode("latin-1")),
        ]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra or []]
        await send({"type": "http.response.start", "status": status, "headers": headers})

    async def _send_raw(
        self,
        send: Send,
        status: int,
        data: bytes,
        content_type: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> int:
        await self._start(send, status, content_type, len(data), extra)
        await send({"type": "http.response.body", "body": data, "more_body": False})
        return status

    async def _send_json(self, send: Send, reply: _Reply) -> int:
        data = wire.encode_json(reply.payload)
        return await self._send_raw(send, reply.status, data, "application/json", reply.headers)

    # -- routing ------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, scope: Scope, body: bytes) -> _Reply:
        rel = relative_path(path)
        if rel == path:  # outside /api/v1
            return _Reply(404, self._error_body("Not found"), [])
        parts = [p for p in rel.strip("/").split("/") if p] if rel != "/" else []
        route = _match(parts)
        if route is None:
            return _Reply(404, self._error_body("Not found"), [])
        allowed, handler, args = route
        if method != allowed:
            return _Reply(405, self._error_body("Method not allowed"), [("allow", allowed)])
        key = _header(scope, b"x-api-key")
        try:
            payload = handler(self, key, scope, body, *args)
        except SandboxError as exc:
            return _Reply(exc.status, self._error_body(exc.message), [])
        return _Reply(200, payload, [])

    def _balance(self, key: str | None, scope: Scope, body: bytes) -> dict[str, Any]:
        return {"success": True, "balance": self.state.balance(key), "currency": "NGN"}

    def services_body(self) -> bytes:
        """What `GET /services` answers (no fault applied): the demo shows it in its
        first frame, before the engine has asked."""
        return wire.encode_json(self._services_answer())

    def _services(self, key: str | None, scope: Scope, body: bytes) -> dict[str, Any]:
        return self._services_answer()

    def _services_answer(self) -> dict[str, Any]:
        data = [
            {
                "id": s.id,
                "slug": s.slug,
                "name": s.name,
                "provider_count": count,
                "min_price": price,
            }
            for s, count, price in self.state.services_summary()
        ]
        return {"success": True, "data": data}

    def _countries(self, key: str | None, scope: Scope, body: bytes) -> dict[str, Any]:
        data = [
            {"id": c.id, "iso_code": c.iso_code, "name": c.name, "flag": c.flag}
            for c in self.catalog.countries
        ]
        return {"success": True, "data": data}

    def _prices(self, key: str | None, scope: Scope, body: bytes, slug: str) -> dict[str, Any]:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = (query.get("country_id") or [""])[0].strip()
        country_id: int | None = None
        if raw:
            if not _INT.fullmatch(raw):
                raise SandboxError(400, "country_id must be an integer")
            country_id = int(raw)
        service, offers = self.state.prices(slug, country_id)
        catalog = self.catalog
        providers = {p.id: p.name for p in catalog.providers}
        countries = {c.id: c for c in catalog.countries}
        data = []
        for offer, real_stock in offers:
            country = countries[offer.country_id]
            price, stock = self.state.listed(offer, real_stock)
            data.append(
                {
                    "id": offer.id,
                    "final_price": price,
                    "stock": stock,
                    "provider_id": offer.provider_id,
                    "provider_name": providers[offer.provider_id],
                    "country_id": country.id,
                    "country_name": country.name,
                    "iso_code": country.iso_code,
                }
            )
        return {
            "success": True,
            "service": {"id": service.id, "slug": service.slug, "name": service.name},
            "data": data,
        }

    def _rent(self, key: str | None, scope: Scope, body: bytes) -> dict[str, Any]:
        if not self.state.is_authorized(key):
            raise SandboxError(401, _UNAUTHORIZED)
        pricing_id = _pricing_id(scope, body)
        rental = self.state.rent(key, pricing_id)
        return {
            "success": True,
            "rental_id": rental.rental_id,
            "phone": rental.phone,
            "cost": rental.cost,
            "status": rental.status,
            "expires_at": wire.iso_timestamp(rental.expires_at),
        }

    def _rental(self, key: str | None, scope: Scope, body: bytes, rid: str) -> dict[str, Any]:
        rental = self.state.get_rental(key, _rental_id(self, key, rid))
        return {
            "success": True,
            "rental_id": rental.rental_id,
            "phone": rental.phone,
            "status": rental.status,
            "code": rental.code,
            "sms": rental.sms,
            "cost": rental.cost,
            "created_at": wire.plain_timestamp(rental.created_at),
            "expires_at": wire.plain_timestamp(rental.expires_at),
        }

    def _cancel(self, key: str | None, scope: Scope, body: bytes, rid: str) -> dict[str, Any]:
        status, refunded, amount = self.state.cancel(key, _rental_id(self, key, rid))
        return {"success": True, "status": status, "refunded": refunded, "amount": amount}

    def _rentals(self, key: str | None, scope: Scope, body: bytes) -> dict[str, Any]:
        data = [
            {
                "rental_id": r.rental_id,
                "service": r.service,
                "country": r.country,
                "provider": r.provider,
                "phone": r.phone,
                "status": r.status,
                "cost": r.cost,
                "created_at": wire.plain_timestamp(r.created_at),
            }
            for r in self.state.history(key)
        ]
        return {"success": True, "data": data}


Handler = Callable[..., dict[str, Any]]


def _match(parts: list[str]) -> tuple[str, Handler, tuple[str, ...]] | None:
    """(allowed method, handler, path arguments) for a path under /api/v1."""
    match parts:
        case ["balance"]:
            return "GET", Sandbox._balance, ()
        case ["services"]:
            return "GET", Sandbox._services, ()
        case ["countries"]:
            return "GET", Sandbox._countries, ()
        case ["services", slug, "prices"]:
            return "GET", Sandbox._prices, (slug,)
        case ["rent"]:
            return "POST", Sandbox._rent, ()
        case ["rental", rid]:
            return "GET", Sandbox._rental, (rid,)
        case ["rental", rid, "cancel"]:
            return "POST", Sandbox._cancel, (rid,)
        case ["rentals"]:
            return "GET", Sandbox._rentals, ()
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1")).strip()
    return None


def _rental_id(sandbox: Sandbox, key: str | None, raw: str) -> int:
    if not sandbox.state.is_authorized(key):
        raise SandboxError(401, _UNAUTHORIZED)
    if not raw.isdigit() or not raw.isascii():
        raise SandboxError(404, "Rental not found")
    return int(raw)


def _pricing_id(scope: Scope, body: bytes) -> int:
    """`pricing_id` from a form-encoded body (the documented way) or a JSON body."""
    content_type = (_header(scope, b"content-type") or "").lower()
    value: object = None
    if "json" in content_type or body.lstrip().startswith(b"{"):
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SandboxError(400, "Invalid JSON body") from None
        if isinstance(parsed, dict):
            value = parsed.get("pricing_id")
    else:
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        values = form.get("pricing_id")
        value = values[0] if values else None
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SandboxError(400, "pricing_id is required")
    if isinstance(value, bool):
        raise SandboxError(400, "pricing_id must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value.strip())
    raise SandboxError(400, "pricing_id must be an integer")


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _pause(seconds: float, receive: Receive) -> None:
    """Wait `seconds` of real time; raise `_Done` if the client disconnects first.

    Call only after the body was read. Over uvicorn a closed connection ends the wait
    early (so a hung request never blocks shutdown); under `httpx.ASGITransport`
    `receive()` blocks until the response, so this is a plain sleep there.
    `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow the
    cancellation of a client giving up, if the wait ends in the same moment.
    """
    import asyncio  # already loaded whenever a request is served; keeps import cheap

    try:
        async with asyncio.timeout(seconds):
            await _until_disconnect(receive)
    except TimeoutError:
        return
    raise _Done


def _drop_error() -> BaseException:
    """The exception that kills a response mid-body.

    Over a socket uvicorn closes the connection (the client sees a protocol error);
    in-process, `httpx.ASGITransport` re-raises the app's exception, so when httpx is
    already loaded we raise the error httpx itself raises for a dropped connection,
    keeping both transports alike for the client. httpx is never imported here.
    """
    message = "Server disconnected without sending a complete response (sandbox drop)"
    httpx = sys.modules.get("httpx")
    error_type = getattr(httpx, "RemoteProtocolError", None)
    if isinstance(error_type, type) and issubclass(error_type, Exception):
        return error_type(message)
    return DroppedConnection(message)
