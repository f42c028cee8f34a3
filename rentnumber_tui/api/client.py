"""The RentNumber HTTP client: one async method per endpoint, typed results, and
every failure turned into an `ApiError` a person can act on.

Every request goes through the process-wide `RequestScheduler` (rate ceiling and
priorities). Safe requests (GET) are retried on transient failures with exponential
backoff and jitter, honouring `Retry-After`. `POST /rent` is never retried: when its
outcome cannot be known it raises `RentOutcomeUnknown`, so the caller reconciles with
the rental history before offering to rent again (spec, clarification 8).

The API key travels only in the `X-API-KEY` header of the endpoints that need it, only
over HTTPS, loopback or an in-process transport, and never appears in an exception
message, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx

from rentnumber_tui.masking import key_problem, mask_key
from rentnumber_tui.transport import (
    DEFAULT_BASE_URL,
    USER_AGENT,
    check_transport,
    is_loopback_host,
    parse_base_url,
)

from . import parsing
from .clock import ServerClock, _parse_http_date
from .errors import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    InsecureTransport,
    InsufficientBalance,
    InvalidResponse,
    NotFound,
    OutOfStock,
    ProviderError,
    RentOutcomeUnknown,
    RequestTimeout,
    ServerError,
    Throttled,
    Unauthorized,
)
from .models import (
    Balance,
    CancelResult,
    Country,
    HistoryEntry,
    PriceList,
    RentalState,
    RentedNumber,
    Rows,
    Service,
)
from .scheduler import Priority, RequestScheduler, default_scheduler

__all__ = ["Health", "HealthState", "RentNumberClient"]

#: A `Retry-After` longer than this is not waited out by an automatic retry (the error
#: goes to the caller instead), and pauses the scheduler for at most this long.
MAX_RETRY_AFTER = 60.0
#: The longest pause a `Retry-After` can impose on every request (a hostile or broken
#: server asking for 99999999999 s would otherwise stop the program for ever).
MAX_PAUSE = 300.0
#: A request a person is waiting for, during a pause longer than this, is answered at
#: once with how long is left instead of waiting silently in the queue.
TELL_PAUSE_AFTER = 1.0


log = logging.getLogger(__name__)

T = TypeVar("T")
HealthState = Literal["online", "retrying", "offline"]
HealthListener = Callable[["Health"], None]

#: Transport errors after which the request certainly never left this machine.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class Health:
    """Connection health for the header: `online` after any HTTP answer, `retrying`
    while some request waits to retry, `offline` after a request finally failed
    without an answer (timeout, connection error). `last_error` is the latest failure,
    cleared by the next success."""

    state: HealthState = "online"
    last_error: ApiError | None = None


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    keyed: bool
    params: dict[str, str] | None = None
    data: dict[str, str] | None = None
    #: Called with the local wall-clock time when the request left (its headers sent).
    on_sent: Callable[[float], None] | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def retryable(self) -> bool:
        return self.method == "GET"

    @property
    def is_rent(self) -> bool:
        return self.method == "POST" and self.path == "/rent"


class _Answered(Exception):
    """Internal: an ApiError raised after the server answered (vs. no answer at all)."""

    def __init__(self, error: ApiError) -> None:
        self.error = error


def _refusing_tls() -> ssl.SSLContext:
    """TLS settings for a client that speaks plain HTTP only (an `http://` base URL,
    which the transport rule allows on this machine or when asked): httpx loads the CA
    bundle for any client it makes, ~25 ms of a cold start's wait for the services, but
    such a client never makes a TLS connection (it follows no redirect and asks only its
    base URL). Should one be tried, it fails: no authority is trusted, the name is
    checked."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class RentNumberClient:
    """Async client for the RentNumber API. Use one for the app's lifetime; close it
    with `aclose()` or `async with`."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        scheduler: RequestScheduler | None = None,
        timeout: float = 15.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        server_clock: ServerClock | None = None,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        allow_insecure_http: bool = False,
    ) -> None:
        self._base_url = parse_base_url(base_url)
        #: The user explicitly allowed sending the key over plain HTTP to a host that is
        #: not this machine (`--allow-insecure-http`); the app keeps a warning on screen.
        self.allow_insecure_http = allow_insecure_http
        self.api_key = api_key
        self.scheduler = scheduler if scheduler is not None else default_scheduler()
        self.server_clock = server_clock if server_clock is not None else ServerClock()
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self._transport = transport
        self._random = random
        self._sleep = sleep
        self._http: httpx.AsyncClient | None = None
        self._listeners: list[HealthListener] = []
        self._health = Health()
        self._base_state: HealthState = "online"
        self._retrying = 0
        #: Set by `with_key`: the client whose connection pool this one borrows.
        self._parent: RentNumberClient | None = None

    @property
    def base_url(self) -> str:
        """The API root, e.g. `https://v2.rentnumber.net/api/v1` (fixed per client)."""
        return self._base_url

    # -- key ---------------------------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        return self._api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        value = value.strip() if value else None
        self._api_key = value or None

    @property
    def has_key(self) -> bool:
        return self._api_key is not None

    def with_key(self, api_key: str | None, *, max_retries: int | None = None) -> RentNumberClient:
        """A client for another key that shares this one's connection pool, scheduler
        (so the rate ceiling holds for both) and server clock: to check a key with the
        server before switching to it. Closing it leaves the shared connection open."""
        other = RentNumberClient(
            api_key,
            self._base_url,
            transport=self._transport,
            scheduler=self.scheduler,
            timeout=self.timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            backoff=self.backoff,
            server_clock=self.server_clock,
            random=self._random,
            sleep=self._sleep,
            allow_insecure_http=self.allow_insecure_http,
        )
        other._parent = self
        return other

    # -- lifecycle ---------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._parent is not None:
            return self._parent._client()
        if self._http is None or self._http.is_closed:
            url = httpx.URL(self.base_url)
            self._http = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                # A loopback sandbox must not be sent through an environment proxy.
                trust_env=not is_loopback_host(url.host),
                verify=True if url.scheme == "https" else _refusing_tls(),
            )
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool; the client reopens one if used again. A client
        from `with_key` leaves its parent's pool alone."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def __aenter__(self) -> RentNumberClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"RentNumberClient(base_url={self.base_url!r}, has_key={self.has_key}, "
            f"health={self._health.state!r})"
        )

    # -- health ------------------------------------------------------------------------

    @property
    def health(self) -> Health:
        return self._health

    def add_listener(self, callback: HealthListener) -> Callable[[], None]:
        """Call `callback(health)` synchronously whenever `health.state` changes.
        Returns a function that removes the listener."""
        self._listeners.append(callback)

        def remove() -> None:
            self.remove_listener(callback)

        return remove

    def remove_listener(self, callback: HealthListener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _update_health(self, *, last_error: ApiError | Literal[False] | None = False) -> None:
        """Recompute health; `last_error=False` keeps the previous error."""
        state: HealthState = "retrying" if self._retrying else self._base_state
        error = self._health.last_error if last_error is False else last_error
        previous, self._health = self._health, Health(state, error)
        if previous.state != state:
            for callback in list(self._listeners):
                try:
                    callback(self._health)
                except Exception:
                    log.exception("A connection-health listener failed")

    # -- endpoints ---------------------------------------------------------------------

    async def balance(self, *, priority: Priority = Priority.USER) -> Balance:
        """`GET /balance`: the wallet balance."""
        return await self._call(
            _Call("GET", "/balance", keyed=True), priority, parsing.parse_balance
        )

    async def services(self, *, priority: Priority = Priority.USER) -> Rows[Service]:
        """`GET /services`: every service (no key needed)."""
        call = _Call("GET", "/services", keyed=False)
        return await self._call(call, priority, parsing.parse_services)

    async def countries(self, *, priority: Priority = Priority.USER) -> Rows[Country]:
        """`GET /countries`: every country (no key needed)."""
        call = _Call("GET", "/countries", keyed=False)
        return await self._call(call, priority, parsing.parse_countries)

    async def prices(
        self,
        slug: str,
        country_id: int | None = None,
        *,
        priority: Priority = Priority.USER,
    ) -> PriceList:
        """`GET /services/{slug}/prices[?country_id=]`: the offers for one service."""
        if not isinstance(slug, str) or not slug:
            raise ValueError("slug must be a non-empty string")
        params = None
        if country_id is not None:
            params = {"country_id": str(_require_int(country_id, "country_id"))}
        call = _Call("GET", f"/services/{quote(slug, safe='')}/prices", False, params=params)
        return await self._call(call, priority, parsing.parse_prices)

    async def rent(
        self,
        pricing_id: int,
        *,
        priority: Priority = Priority.USER,
        on_sent: Callable[[float], None] | None = None,
    ) -> RentedNumber:
        """`POST /rent`: rent a number (debits the wallet). Never retried; raises
        `RentOutcomeUnknown` when it cannot tell whether the rental was created.
        `on_sent(local_time)` learns when the request left: reconciliation must not
        adopt a rental created before that moment."""
        data = {"pricing_id": str(_require_int(pricing_id, "pricing_id"))}
        call = _Call("POST", "/rent", keyed=True, data=data, on_sent=on_sent)
        return await self._call(call, priority, parsing.parse_rent)

    async def rental(
        self, rental_id: int, *, priority: Priority = Priority.BACKGROUND
    ) -> RentalState:
        """`GET /rental/{id}`: a rental's status and, once received, its code."""
        call = _Call("GET", f"/rental/{_require_int(rental_id, 'rental_id')}", keyed=True)
        return await self._call(call, priority, parsing.parse_rental)

    async def cancel(self, rental_id: int, *, priority: Priority = Priority.USER) -> CancelResult:
        """`POST /rental/{id}/cancel`: cancel (refunds if no SMS came). Not retried."""
        path = f"/rental/{_require_int(rental_id, 'rental_id')}/cancel"
        return await self._call(_Call("POST", path, keyed=True), priority, parsing.parse_cancel)

    async def rentals(self, *, priority: Priority = Priority.USER) -> Rows[HistoryEntry]:
        """`GET /rentals`: the newest 100 rentals (without codes)."""
        call = _Call("GET", "/rentals", keyed=True)
        return await self._call(call, priority, parsing.parse_rentals)

    # -- the request machinery ---------------------------------------------------------

    async def _call(self, call: _Call, priority: Priority, parse: Callable[[Any, str], T]) -> T:
        key = self._key_for(call) if call.keyed else None
        paused = self.scheduler.paused_for()
        if priority is Priority.USER and paused > TELL_PAUSE_AFTER:
            raise Throttled(
                f"The server asked for a pause (status 429): requests resume in "
                f"{paused:.0f} s, then {call.endpoint} can be asked again.",
                retry_after=paused,
            )
        retries = 0
        in_retry = False
        try:
            while True:
                try:
                    response = await self._exchange(call, priority, key)
                    result = self._interpret(call, response, parse)
                except _Answered as answered:
                    error = self._scrub(answered.error)
                    self._base_state = "online"
                except ApiError as error_:
                    error = self._scrub(error_)
                    self._base_state = "offline"
                else:
                    self._base_state = "online"
                    self._update_health(last_error=None)
                    return result

                delay = self._retry_delay(call, error, retries)
                if delay is None:
                    self._update_health(last_error=error)
                    raise _without_cause(error)
                if not in_retry:
                    in_retry = True
                    self._retrying += 1
                self._update_health(last_error=error)
                retries += 1
                log.info(
                    "%s failed (%s); retry %d of %d in %.2f s",
                    call.endpoint,
                    type(error).__name__,
                    retries,
                    self.max_retries,
                    delay,
                )
                await self._sleep(delay)
        finally:
            if in_retry:
                self._retrying -= 1
                self._update_health()

    def _key_for(self, call: _Call) -> _KeyAuth:
        """The key for a keyed call, or an error before anything is sent. (The key is
        only read from the attribute, never kept in a local a traceback would show.)"""
        if self._api_key is None:
            raise Unauthorized(
                f"No API key is set — {call.endpoint} needs one. Add your RentNumber "
                f"API key (from the API Key page) to continue."
            )
        problem = key_problem(self._api_key)
        if problem is not None:
            raise Unauthorized(f"{problem} Paste it again from the API Key page.")
        refusal = self._transport_refusal()
        if refusal is not None:
            raise InsecureTransport(refusal)
        return _KeyAuth(self._api_key)

    def _uses_sockets(self) -> bool:
        return self._transport is None or isinstance(self._transport, httpx.AsyncHTTPTransport)

    def _transport_refusal(self) -> str | None:
        """Why the key may not travel to the base URL (the one rule,
        `transport.check_transport`), or None. A custom transport that is not a socket
        transport (ASGI, mock) stays in-process, so the key never leaves the program."""
        if not self._uses_sockets():
            return None
        check = check_transport(self.base_url, self.allow_insecure_http)
        return None if check.ok else check.explanation

    def _retry_delay(self, call: _Call, error: ApiError, retries: int) -> float | None:
        """Seconds to wait before retrying, or None if this error is final."""
        if isinstance(error, Throttled) and error.retry_after is not None:
            self.scheduler.pause_until(self.scheduler.clock() + min(error.retry_after, MAX_PAUSE))
        retryable_error = isinstance(
            error, RequestTimeout | ConnectionFailed | ProviderError | Throttled
        )
        if not (call.retryable and retryable_error and retries < self.max_retries):
            return None
        delay = self.backoff * (2.0**retries) * (0.5 + self._random())
        if isinstance(error, Throttled) and error.retry_after is not None:
            if error.retry_after > MAX_RETRY_AFTER:
                return None
            delay = max(delay, error.retry_after)
        return delay

    async def _exchange(
        self, call: _Call, priority: Priority, key: _KeyAuth | None
    ) -> httpx.Response:
        """Send one attempt through the scheduler; transport failures become errors.

        The key reaches the request through `auth` (an object with a masked repr), never a
        headers dict in a local variable, which a crash traceback with locals would show.
        """
        url = self.base_url + call.path
        http = self._client()
        async with self.scheduler.slot(priority) as ticket:
            extensions: dict[str, Any] | None = None
            if self._uses_sockets():
                # A request that first opens a connection (TCP, TLS, a proxy) counts from
                # when its headers leave, not from its grant: connecting can take a while.
                # On a warm connection they leave at once, and the grant stands (one
                # ledger transaction per request instead of three).

                async def trace(event: str, info: dict[str, Any]) -> None:
                    if ".connect_" in event and event.endswith(".started"):
                        ticket.hold()
                    elif event.endswith("send_request_headers.complete"):
                        ticket.sent()
                        if call.on_sent is not None:
                            call.on_sent(self.server_clock.local_time())

                extensions = {"trace": trace}
            sent = self.server_clock.local_time()
            if extensions is None and call.on_sent is not None:
                call.on_sent(sent)  # in-process: it leaves now
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout):
                    response = await http.request(
                        call.method,
                        url,
                        params=call.params,
                        data=call.data,
                        auth=key if key is not None else httpx.USE_CLIENT_DEFAULT,
                        extensions=extensions,
                    )
            except (TimeoutError, httpx.TimeoutException) as exc:
                error: ApiError = RequestTimeout(
                    f"No answer from the server to {call.endpoint} within {self.timeout:g} seconds."
                )
                raise self._unsent_or_unknown(call, exc, error) from exc
            except httpx.ConnectError as exc:
                error = ConnectionFailed(
                    f"Could not connect to {_host(self.base_url)} for {call.endpoint} "
                    f"({_reason(exc)}). Check your internet connection."
                )
                raise self._unsent_or_unknown(call, exc, error) from exc
            except Exception as exc:  # any transport (or in-process app) failure
                error = ConnectionFailed(
                    f"The connection to {_host(self.base_url)} failed during {call.endpoint} "
                    f"({_reason(exc)})."
                )
                raise self._unsent_or_unknown(call, exc, error) from exc
        received = self.server_clock.local_time()
        self.server_clock.observe(response.headers.get("Date"), sent, received)
        log.debug(
            "%s -> %d in %.3f s", call.endpoint, response.status_code, time.monotonic() - started
        )
        return response

    @staticmethod
    def _unsent_or_unknown(call: _Call, exc: BaseException, error: ApiError) -> ApiError:
        if call.is_rent and not isinstance(exc, _NOT_SENT):
            return _rent_unknown(error)
        return error

    def _interpret(
        self, call: _Call, response: httpx.Response, parse: Callable[[Any, str], T]
    ) -> T:
        """Turn an HTTP answer into a model, or raise `_Answered(error)`."""
        status = response.status_code
        text = _text_of(response)
        if not 200 <= status < 300:
            error = self._status_error(call, response, text)
            if call.is_rent and status >= 500:
                error = _rent_unknown(error)
            raise _Answered(error)
        body: Any = None
        try:
            body = parsing.decode_json(text, endpoint=call.endpoint, status=status)
            return parse(body, call.endpoint)
        except InvalidResponse as error:
            refused = isinstance(body, dict) and body.get("success") is False
            if call.is_rent and not refused:
                # A 2xx we cannot read: the rental may well exist.
                raise _Answered(_rent_unknown(error)) from None
            raise _Answered(error) from None

    def _status_error(self, call: _Call, response: httpx.Response, text: str) -> ApiError:
        """The error for a non-2xx answer, chosen by status and the server's own text."""
        status = response.status_code
        try:
            body = parsing.loads(text)
        except (ValueError, RecursionError):
            body = None
        server_text = parsing.error_text(body)
        said = f': "{server_text}"' if server_text else ""
        kw: dict[str, Any] = {"status_code": status, "server_text": server_text}
        endpoint = call.endpoint

        if 300 <= status < 400:
            return InvalidResponse(
                f"The server answered {endpoint} with a redirect (status {status}) instead of "
                f"an answer — check the base URL.",
                **kw,
            )
        if status == 401:
            return Unauthorized(
                f"The server did not accept the API key (status 401){said}. Check the key "
                f"on RentNumber's API Key page and enter it again.",
                **kw,
            )
        if status == 404:
            return NotFound(f"The server found nothing for {endpoint} (status 404){said}.", **kw)
        if status == 429:
            retry_after = _retry_after(response, self.server_clock)
            wait = (
                f"; waiting {retry_after:g} s as it asks"
                if retry_after is not None
                else "; slowing down"
            )
            return Throttled(
                f"The server is throttling requests (status 429){wait}.",
                retry_after=retry_after,
                **kw,
            )
        if 400 <= status < 500:
            lowered = (server_text or "").lower()
            if "insufficient" in lowered and "balance" in lowered:
                return InsufficientBalance(
                    f"Your balance is too low for this rental{said}. Top up your wallet and "
                    f"try again.",
                    **kw,
                )
            if "stock" in lowered:
                return OutOfStock(
                    f"This offer is out of stock{said}. Pick another provider or country.",
                    **kw,
                )
            why = said or " without saying why"
            return BadRequest(f"The server refused {endpoint} (status {status}){why}.", **kw)
        if status == 502:
            return ProviderError(
                f"The number provider behind RentNumber failed while answering {endpoint} "
                f"(status 502){said}. Try again in a moment.",
                **kw,
            )
        if 500 <= status < 600:
            return ServerError(
                f"The RentNumber server failed while answering {endpoint} (status {status})"
                f"{said}. Try again later.",
                **kw,
            )
        return InvalidResponse(
            f"The server answered {endpoint} with an unexpected status {status}{said}.", **kw
        )

    def _scrub(self, error: ApiError) -> ApiError:
        """Mask the API key wherever server text may have echoed it back."""
        key = self._api_key
        if not key or len(key) < 4:
            return error
        masked = mask_key(key)
        errors = [error]
        cause = getattr(error, "cause", None)
        if isinstance(cause, ApiError):
            errors.append(cause)
        for item in errors:
            if key in item.message:
                item.message = item.message.replace(key, masked)
                item.args = (item.message,)
            if item.server_text and key in item.server_text:
                item.server_text = item.server_text.replace(key, masked)
        return error


class _KeyAuth(httpx.Auth):
    """Puts the key in the `X-API-KEY` header of one request. Its repr is masked, so a
    traceback that shows local variables does not show the key."""

    def __init__(self, key: str) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["X-API-KEY"] = self._key
        yield request

    def __repr__(self) -> str:
        return f"_KeyAuth({mask_key(self._key)!r})"


def _without_cause(error: ApiError) -> ApiError:
    """Detach the transport exception an error was raised from. Its frames (httpx,
    httpcore, h11) hold the request's headers, key included, in local variables that a
    crash traceback with locals would print; the error's message already says what
    went wrong, in words that never contain the key."""
    error.__cause__ = None
    error.__suppress_context__ = True
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        cause.__cause__ = None
        cause.__suppress_context__ = True
    return error


def _rent_unknown(cause: ApiError) -> RentOutcomeUnknown:
    reason = cause.message.rstrip(".")
    return RentOutcomeUnknown(
        f"No clear answer to the rental request ({reason}). The number may or may not have "
        f"been rented; your rental history will be checked before anything is tried again.",
        cause=cause,
    )


def _require_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int")
    return value


def _host(base_url: str) -> str:
    try:
        return httpx.URL(base_url).host or base_url
    except Exception:
        return base_url


def _reason(exc: BaseException) -> str:
    """A short, key-free reason for a transport failure."""
    text = str(exc).strip()
    if isinstance(exc, httpx.HTTPError) and text:
        return text if len(text) <= 200 else text[:200] + "…"
    return type(exc).__name__


def _text_of(response: httpx.Response) -> str:
    try:
        return response.text
    except Exception:
        return response.content.decode("utf-8", errors="replace")


_SECONDS = re.compile(r"\d+(\.\d+)?")


def _retry_after(response: httpx.Response, clock: ServerClock) -> float | None:
    """`Retry-After` as seconds: a number of seconds, or an HTTP-date taken relative to
    the response's own `Date` (else the estimated server time)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if _SECONDS.fullmatch(value):
        return float(value)
    moment = _parse_http_date(value)
    if moment is None:
        return None
    reference = _parse_http_date(response.headers.get("Date"))
    if reference is None:
        reference = clock.now().timestamp()
    return max(0.0, moment - reference)
