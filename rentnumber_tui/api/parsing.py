"""Turn the server's JSON into the typed models, or say precisely what was wrong.

The server is not trusted to follow its documentation: every field is checked for
presence and type, and a failure becomes an `InvalidResponse` that names the endpoint
and the field ("The server's answer to GET /balance is missing the field 'balance'"),
never a raw KeyError/TypeError/JSONDecodeError. Money is `Decimal` parsed straight from
the JSON text; JSON booleans are not numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from .errors import InvalidResponse
from .models import (
    Balance,
    CancelResult,
    Country,
    HistoryEntry,
    Offer,
    PriceList,
    RentalState,
    RentalStatus,
    RentedNumber,
    Rows,
    Service,
    ServiceRef,
)

__all__ = [
    "FieldReader",
    "check_envelope",
    "decode_json",
    "error_text",
    "loads",
    "parse_balance",
    "parse_cancel",
    "parse_countries",
    "parse_prices",
    "parse_rent",
    "parse_rental",
    "parse_rentals",
    "parse_services",
    "parse_timestamp",
]

T = TypeVar("T")


# -- JSON text -> Python ---------------------------------------------------------------


#: The largest amount and the most digits an amount may have: beyond them a number is
#: "not a usable amount" (Decimal can hold 1e999999999999, but formatting it exhausts
#: memory), whichever field it is in.
MAX_AMOUNT = Decimal(10) ** 12
MAX_DIGITS = 20
MIN_EXPONENT = 12
#: The longest whole number read as one (ids, stock); Python refuses to convert more
#: than 4,300 digits at all, which would make the whole answer unreadable.
MAX_INT_DIGITS = 18


class Unusable:
    """A JSON number outside the bounds, kept as its text so the message can say so
    for the one field it is in (the rest of the answer is still read)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Unusable({self.text[:20]!r})"


def _bounded_decimal(text: str) -> Decimal | Unusable:
    if len(text) > 64:
        return Unusable(text)
    try:
        value = Decimal(text)
    except ArithmeticError:
        return Unusable(text)
    # Only structural checks here: arithmetic on 1e999999999999 itself overflows.
    if (
        not value.is_finite()
        or value.adjusted() >= 12  # a trillion or more
        or int(value.as_tuple().exponent) < -MIN_EXPONENT
        or len(value.as_tuple().digits) > MAX_DIGITS
    ):
        return Unusable(text)
    return value


def _bounded_int(text: str) -> int | Unusable:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        return Unusable(text)
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str) -> Any:
    """`json.loads` with exact decimals, bounded numbers and without NaN/Infinity."""
    return json.loads(
        text,
        parse_float=_bounded_decimal,
        parse_int=_bounded_int,
        parse_constant=_reject_constant,
    )


def decode_json(text: str, *, endpoint: str, status: int) -> Any:
    """Decode a response body, telling an HTML page, an empty body and a cut-off
    answer apart so the message says what actually happened."""
    stripped = text.strip()
    if not stripped:
        raise InvalidResponse(
            f"The server answered {endpoint} with an empty body — status {status}",
            status_code=status,
        )
    try:
        return loads(stripped)
    except RecursionError:
        raise InvalidResponse(
            f"The server's answer to {endpoint} is nested too deeply to read — status {status}",
            status_code=status,
        ) from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        position = getattr(exc, "pos", None)
        at_end = position is not None and position >= len(stripped)
        unclosed = stripped[-1] not in "}]"
        if stripped[0] in "{[" and (at_end or unclosed):
            raise InvalidResponse(
                f"The server's answer to {endpoint} was cut off (incomplete JSON) "
                f"— status {status}",
                status_code=status,
            ) from None
        raise InvalidResponse(
            f"The server answered {endpoint} with something that is not JSON "
            f"(an HTML page?) — status {status}",
            status_code=status,
        ) from None


def error_text(body: Any) -> str | None:
    """The server's own explanation (`error`, or failing that `message`), verbatim."""
    if isinstance(body, dict):
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value
    return None


def check_envelope(body: Any, *, endpoint: str, status: int = 200) -> dict[str, Any]:
    """Check that a 2xx body is a JSON object with `success: true`."""
    if not isinstance(body, dict):
        raise InvalidResponse(
            f"The server's answer to {endpoint} is {_describe(body)}, not a JSON object "
            f"— status {status}",
            status_code=status,
        )
    success = body.get("success")
    if success is True:
        return body
    text = error_text(body)
    if success is False:
        said = f': "{text}"' if text else " without saying why"
        raise InvalidResponse(
            f"The server reported a failure for {endpoint} despite status {status}{said}",
            status_code=status,
            server_text=text,
        )
    if "success" not in body:
        raise InvalidResponse(
            f"The server's answer to {endpoint} is missing the field 'success'",
            status_code=status,
            server_text=text,
        )
    raise InvalidResponse(
        f"The server's answer to {endpoint} has the field 'success' as {_describe(success)} "
        f"where true or false was expected",
        status_code=status,
        server_text=text,
    )


# -- timestamps ------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
    r"([Zz]|[+-]\d{2}(:?\d{2})?)?"
)


def parse_timestamp(value: str) -> datetime:
    """Both server shapes ("2026-04-12T15:30:00Z", "2026-04-12 14:30:00") and other
    ISO 8601 offsets, as an aware UTC datetime. Zone-less means UTC (clarification 3).
    Raises ValueError for anything else."""
    text = value.strip()
    if not _TIMESTAMP.fullmatch(text):
        raise ValueError("not a timestamp")
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text.replace("t", "T"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# -- fields ----------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, Unusable):
        return "a number that is not a usable amount (too large or too precise)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_AMOUNT:
        return "a number that is not a usable amount (too large)"
    if isinstance(value, int | Decimal | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class FieldReader:
    """Reads typed fields from one JSON object, naming endpoint and field on failure.
    `where` is the object's place in the answer (e.g. "data[3]") for messages."""

    def __init__(self, obj: Any, endpoint: str, where: str = "") -> None:
        self.endpoint = endpoint
        self.where = where
        if not isinstance(obj, dict):
            place = f"'{where}'" if where else "the answer"
            raise InvalidResponse(
                f"The server's answer to {endpoint} has {place} as {_describe(obj)} "
                f"where an object was expected"
            )
        self.obj: dict[str, Any] = obj

    def _name(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def _missing(self, name: str) -> InvalidResponse:
        return InvalidResponse(
            f"The server's answer to {self.endpoint} is missing the field '{self._name(name)}'"
        )

    def _wrong(self, name: str, value: Any, expected: str) -> InvalidResponse:
        return InvalidResponse(
            f"The server's answer to {self.endpoint} has the field '{self._name(name)}' as "
            f"{_describe(value)} where {expected} was expected"
        )

    def _typed(
        self,
        name: str,
        expected: str,
        convert: Callable[[Any], T | None],
        optional: bool = False,
    ) -> T | None:
        if name not in self.obj:
            if optional:
                return None
            raise self._missing(name)
        value = self.obj[name]
        if value is None:
            if optional:
                return None
            raise self._wrong(name, value, expected)
        result = convert(value)
        if result is None:
            raise self._wrong(name, value, expected)
        return result

    def _required(self, name: str, expected: str, convert: Callable[[Any], T | None]) -> T:
        """A field that must be present and usable (never None)."""
        result = self._typed(name, expected, convert)
        if result is None:  # never: _typed raises for a missing or unusable value
            raise self._missing(name)
        return result

    def string(self, name: str, *, allow_empty: bool = True) -> str:
        def convert(v: Any) -> str | None:
            return v if isinstance(v, str) and (allow_empty or v.strip()) else None

        expected = "text" if allow_empty else "non-empty text"
        return self._required(name, expected, convert)

    def optional_string(self, name: str) -> str | None:
        return self._typed(name, "text or null", _as_str, optional=True)

    def integer(self, name: str) -> int:
        return self._required(name, "a whole number", _as_int)

    def money(self, name: str) -> Decimal:
        return self._required(name, "an amount", _as_money)

    def optional_money(self, name: str) -> Decimal | None:
        return self._typed(name, "an amount or null", _as_money, optional=True)

    def boolean(self, name: str) -> bool:
        return self._required(name, "true or false", lambda v: v if isinstance(v, bool) else None)

    def timestamp(self, name: str) -> datetime:
        return self._required(name, "a timestamp", _as_timestamp)

    def optional_timestamp(self, name: str) -> datetime | None:
        return self._typed(name, "a timestamp or null", _as_timestamp, optional=True)

    def status(self, name: str = "status") -> RentalStatus:
        def convert(v: Any) -> RentalStatus | None:
            return RentalStatus(v) if isinstance(v, str) and v.strip() else None

        return self._required(name, "a status", convert)

    def code(self, name: str) -> str | None:
        """An SMS code: text, or null/absent before an SMS. A bare JSON integer is
        accepted as its digits, so a code is never hidden behind a type quibble."""
        return self._typed(name, "text or null", _as_code, optional=True)

    def items(self, name: str) -> list[FieldReader]:
        """A list of objects, each read with its place ("data[3]") in messages."""
        value = self._required(name, "a list", lambda v: v if isinstance(v, list) else None)
        place = self._name(name)
        return [FieldReader(item, self.endpoint, f"{place}[{i}]") for i, item in enumerate(value)]

    def nested(self, name: str) -> FieldReader:
        value = self._required(name, "an object", lambda v: v if isinstance(v, dict) else None)
        return FieldReader(value, self.endpoint, self._name(name))


def _as_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    return None


def _as_money(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return Decimal(v) if abs(v) < MAX_AMOUNT else None
    if isinstance(v, Decimal) and v.is_finite():
        return v
    return None


def _as_code(v: Any) -> str | None:
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


def _as_timestamp(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        return parse_timestamp(v)
    except ValueError:
        return None


# -- endpoints -------------------------------------------------------------------------


def _rows(readers: list[FieldReader], build: Callable[[FieldReader], T]) -> Rows[T]:
    """Each row read on its own: a bad one is skipped and counted, not fatal."""
    good: list[T] = []
    skipped = 0
    problem: str | None = None
    first: InvalidResponse | None = None
    for reader in readers:
        try:
            good.append(build(reader))
        except InvalidResponse as error:
            skipped += 1
            first = first or error
            problem = problem or error.message
    if first is not None and not good:
        raise first  # not one row usable: the answer as a whole is broken
    return Rows(good, skipped, problem)


def _row_reader(f: FieldReader, name: str) -> list[FieldReader]:
    """The rows of list `name`; a row that is not even an object is left for `_rows`
    to count (as a reader that fails on first use)."""
    value = f._required(name, "a list", lambda v: v if isinstance(v, list) else None)
    place = f._name(name)
    readers: list[FieldReader] = []
    for i, item in enumerate(value):
        try:
            readers.append(FieldReader(item, f.endpoint, f"{place}[{i}]"))
        except InvalidResponse as error:
            readers.append(_Broken(error))
    return readers


class _Broken(FieldReader):
    """A row that is not an object: every read fails with why."""

    def __init__(self, error: InvalidResponse) -> None:
        self.endpoint = ""
        self.where = ""
        self.obj = {}
        self._error = error

    def _typed(
        self, name: str, expected: str, convert: Callable[[Any], T | None], optional: bool = False
    ) -> T | None:
        raise self._error


def parse_balance(body: Any, endpoint: str = "GET /balance") -> Balance:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return Balance(amount=f.money("balance"), currency=f.string("currency", allow_empty=False))


def parse_services(body: Any, endpoint: str = "GET /services") -> Rows[Service]:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return _rows(
        _row_reader(f, "data"),
        lambda item: Service(
            id=item.integer("id"),
            slug=item.string("slug", allow_empty=False),
            name=item.string("name"),
            provider_count=item.integer("provider_count"),
            min_price=item.optional_money("min_price"),
        ),
    )


def parse_countries(body: Any, endpoint: str = "GET /countries") -> Rows[Country]:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return _rows(
        _row_reader(f, "data"),
        lambda item: Country(
            id=item.integer("id"),
            iso_code=item.string("iso_code"),
            name=item.string("name"),
            flag=item.string("flag"),
        ),
    )


def parse_prices(body: Any, endpoint: str = "GET /services/{slug}/prices") -> PriceList:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    service = f.nested("service")
    ref = ServiceRef(
        id=service.integer("id"),
        slug=service.string("slug", allow_empty=False),
        name=service.string("name"),
    )
    offers = _rows(
        _row_reader(f, "data"),
        lambda item: Offer(
            id=item.integer("id"),
            price=item.money("final_price"),
            stock=item.integer("stock"),
            provider_id=item.integer("provider_id"),
            provider_name=item.string("provider_name"),
            country_id=item.integer("country_id"),
            country_name=item.string("country_name"),
            iso_code=item.string("iso_code"),
        ),
    )
    return PriceList(service=ref, offers=offers)


def parse_rent(body: Any, endpoint: str = "POST /rent") -> RentedNumber:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return RentedNumber(
        rental_id=f.integer("rental_id"),
        phone=f.string("phone"),
        cost=f.money("cost"),
        status=f.status(),
        expires_at=f.timestamp("expires_at"),
    )


def parse_rental(body: Any, endpoint: str = "GET /rental/{id}") -> RentalState:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return RentalState(
        rental_id=f.integer("rental_id"),
        phone=f.string("phone"),
        status=f.status(),
        code=f.code("code"),
        sms=f.optional_string("sms"),
        cost=f.money("cost"),
        created_at=f.optional_timestamp("created_at"),
        expires_at=f.optional_timestamp("expires_at"),
    )


def parse_cancel(body: Any, endpoint: str = "POST /rental/{id}/cancel") -> CancelResult:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return CancelResult(status=f.status(), refunded=f.boolean("refunded"), amount=f.money("amount"))


def parse_rentals(body: Any, endpoint: str = "GET /rentals") -> Rows[HistoryEntry]:
    f = FieldReader(check_envelope(body, endpoint=endpoint), endpoint)
    return _rows(
        _row_reader(f, "data"),
        lambda item: HistoryEntry(
            rental_id=item.integer("rental_id"),
            service=item.string("service"),
            country=item.string("country"),
            provider=item.string("provider"),
            phone=item.string("phone"),
            status=item.status(),
            cost=item.money("cost"),
            created_at=item.timestamp("created_at"),
        ),
    )
