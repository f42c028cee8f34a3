"""What goes on the wire: JSON with two-decimal money, the two timestamp shapes, and
the payload transforms behind the data-corrupting fault kinds."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

CENT = Decimal("0.01")
#: The largest request body kept; the rest of a huge one is read and dropped.
MAX_BODY = 64 * 1024
# Decimals are first encoded as a string "\u0000M<digits>" (json always escapes NUL,
# so no real string can produce this text), then unquoted into a raw number.
_MONEY_MARK = "\x00M"
_MONEY_TOKEN = re.compile(r'"\\u0000M(-?[0-9]+\.[0-9]{2})"')


def _money_default(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_MONEY_MARK}{value.quantize(CENT)}"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_json(payload: Any) -> bytes:
    """UTF-8 JSON in which every Decimal is a number with exactly two decimals."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_money_default)
    return _MONEY_TOKEN.sub(r"\1", text).encode("utf-8")


def plain_timestamp(dt: datetime) -> str:
    """`2026-04-12 14:30:00` (UTC, no zone): most timestamps of the API."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso_timestamp(dt: datetime) -> str:
    """`2026-04-12T15:30:00Z`: the rent response's `expires_at`."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(dt: datetime) -> str:
    """RFC 7231 IMF-fixdate for the `Date` header, e.g. `Sun, 12 Apr 2026 14:00:00 GMT`."""
    return format_datetime(dt.astimezone(UTC).replace(microsecond=0), usegmt=True)


def error_body(message: str) -> dict[str, Any]:
    return {"success": False, "error": message}


# -- transforms for the fault kinds ---------------------------------------------------


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value if isinstance(value, int) else value.quantize(CENT))
    if isinstance(value, str):
        return int(value) if value.isdigit() else 0
    if value is None:
        return False
    if isinstance(value, dict):
        return wrong_types(value)
    if isinstance(value, list):
        return [_wrong_type(v) for v in value]
    return value


def wrong_types(payload: dict[str, Any]) -> dict[str, Any]:
    """Every field except `success` gets another JSON type (numbers become strings,
    strings numbers, null false, booleans strings); arrays and objects keep their shape."""
    return {k: (v if k == "success" else _wrong_type(v)) for k, v in payload.items()}


def missing_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """Keep `success`, and `data` whose items keep only their first field."""
    out: dict[str, Any] = {k: v for k, v in payload.items() if k == "success"}
    data = payload.get("data")
    if isinstance(data, list):
        out["data"] = [
            dict(list(item.items())[:1]) if isinstance(item, dict) else item for item in data
        ]
    return out


def unknown_status(payload: Any) -> Any:
    """Every `status` field, at any depth, reads `on_hold`."""
    if isinstance(payload, dict):
        return {k: ("on_hold" if k == "status" else unknown_status(v)) for k, v in payload.items()}
    if isinstance(payload, list):
        return [unknown_status(v) for v in payload]
    return payload


BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


async def read_body(receive: Callable[[], Awaitable[MutableMapping[str, Any]]]) -> bytes | None:
    """An ASGI request's body (cut at `MAX_BODY`), or None if the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
