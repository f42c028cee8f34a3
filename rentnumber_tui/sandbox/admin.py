"""The sandbox's admin API under `/_sandbox/`: what tests in *other processes* need.

End-to-end tests run the sandbox as its own process (`rentnumber-tui sandbox`), so its
Python test hooks are out of reach. This small JSON API exposes the few that such tests
need, and plays "the provider's website" (a rental made outside the client):

| method + path                 | parameters                   | answer (`data` or fields)    |
|-------------------------------|------------------------------|------------------------------|
| `GET /_sandbox/requests`      | `?since=SEQ` (default 0)     | `data`: logged API requests  |
| `POST /_sandbox/rentals`      | `key`, `pricing_id`          | the new rental               |
| `POST /_sandbox/sms`          | `rental_id`, `code`, `text`  | `rental_id`                  |
| `GET /_sandbox/balance`       | `?key=KEY`                   | `balance` (a decimal string) |

POST parameters are form-encoded or a JSON object. Every answer is JSON with `success`;
a refusal is `{"success": false, "error": ...}` with a 4xx status. Money is a decimal
*string* here (`"450.00"`), so a reader never needs a float.

Admin requests are not part of the simulated API: they are never written to the
request log, never counted by the rate limit, and never meet an injected fault,
latency or hostile text, so a test can observe and steer the sandbox without changing
what the client under test sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from . import wire
from .state import CENT, SandboxError

if TYPE_CHECKING:
    from .asgi import Sandbox

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ADMIN_PREFIX = "/_sandbox"
_INT = re.compile(r"-?[0-9]+")


def is_admin_path(path: str) -> bool:
    """`/_sandbox` and everything below it (never a path of the simulated API)."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def serve_admin(sandbox: Sandbox, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one admin request (the caller has checked `is_admin_path`)."""
    method = str(scope["method"]).upper()
    path = str(scope["path"])
    body = await wire.read_body(receive)
    if body is None:  # the client went away
        return
    try:
        status, payload = _route(sandbox, method, path, scope, body)
    except _Refusal as exc:
        status, payload = exc.status, wire.error_body(exc.message)
    except SandboxError as exc:
        status, payload = exc.status, wire.error_body(exc.message)
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode("latin-1")),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


def _route(
    sandbox: Sandbox, method: str, path: str, scope: Scope, body: bytes
) -> tuple[int, dict[str, Any]]:
    routes: dict[str, tuple[str, Callable[[Sandbox, dict[str, str]], dict[str, Any]]]] = {
        "/requests": ("GET", _requests),
        "/rentals": ("POST", _rentals),
        "/sms": ("POST", _sms),
        "/balance": ("GET", _balance),
    }
    route = routes.get(path[len(ADMIN_PREFIX) :].rstrip("/"))
    if route is None:
        raise _Refusal(404, "Not found")
    allowed, handler = route
    if method != allowed:
        raise _Refusal(405, f"Method not allowed (use {allowed})")
    params = _query(scope) if method == "GET" else _body_params(scope, body)
    return 200, handler(sandbox, params)


# -- handlers ---------------------------------------------------------------------------


def _requests(sandbox: Sandbox, params: dict[str, str]) -> dict[str, Any]:
    since = _int_param(params, "since", default=0)
    data = [
        {
            "seq": r.seq,
            "monotonic": r.monotonic,
            "time": r.time,
            "method": r.method,
            "path": r.path,
            "status": r.status,
        }
        for r in sandbox.requests_since(since)
    ]
    return {"success": True, "data": data}


def _rentals(sandbox: Sandbox, params: dict[str, str]) -> dict[str, Any]:
    key = _required(params, "key")
    pricing_id = _int_param(params, "pricing_id")
    # The same rule as POST /api/v1/rent: debit, stock, SMS schedule (a 401 for a bad key).
    rental = sandbox.state.rent(key, pricing_id)
    return {
        "success": True,
        "rental_id": rental.rental_id,
        "phone": rental.phone,
        "status": rental.status,
        "cost": _money(rental.cost),
        "created_at": wire.plain_timestamp(rental.created_at),
        "expires_at": wire.plain_timestamp(rental.expires_at),
    }


def _sms(sandbox: Sandbox, params: dict[str, str]) -> dict[str, Any]:
    rental_id = _int_param(params, "rental_id")
    code = params.get("code") or None
    text = params.get("text") or None
    try:
        sandbox.deliver_sms(rental_id, text=text, code=code)
    except KeyError:
        raise _Refusal(404, "Rental not found") from None
    except ValueError as exc:  # the rental is final
        raise _Refusal(409, str(exc)) from None
    return {"success": True, "rental_id": rental_id}


def _balance(sandbox: Sandbox, params: dict[str, str]) -> dict[str, Any]:
    key = _required(params, "key")
    try:
        balance = sandbox.balance_of(key)
    except KeyError:
        raise _Refusal(404, "No account with this key") from None
    return {"success": True, "balance": _money(balance), "currency": "NGN"}


# -- parameters -------------------------------------------------------------------------


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def _query(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _body_params(scope: Scope, body: bytes) -> dict[str, str]:
    """A form-encoded body, or a JSON object (values turned into text)."""
    content_type = ""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            content_type = value.decode("latin-1").lower()
    if "json" in content_type or body.lstrip().startswith(b"{"):
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _Refusal(400, "Invalid JSON body") from None
        if not isinstance(parsed, dict):
            raise _Refusal(400, "The JSON body must be an object")
        out: dict[str, str] = {}
        for name, value in parsed.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _Refusal(400, f"{name} must be a string or an integer")
            out[str(name)] = str(value)
        return out
    form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in form.items()}


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise _Refusal(400, f"{name} is required")
    return value


def _int_param(params: dict[str, str], name: str, *, default: int | None = None) -> int:
    raw = params.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not raw:
        raise _Refusal(400, f"{name} is required")
    if not _INT.fullmatch(raw):
        raise _Refusal(400, f"{name} must be an integer")
    return int(raw)
