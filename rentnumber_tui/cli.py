"""`rentnumber-tui COMMAND`: the account from a shell script, on the same engine as the TUI.

Each command starts the engine the TUI runs (`launch.build_engine`: the same store and
journal, the same request budget shared with every open window, the same key storage
and profiles), does one thing, and stops it. Output is aligned text, or with `--json`
one JSON object (money as decimal strings, times ISO 8601 UTC); `-q` prints only the
code or the number. Errors are one sentence on stderr; the exit status says what
happened (`ExitCode`), so a script can act on it without parsing words.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO, TypeVar

from rentnumber_tui.api.errors import (
    ApiError,
    InsufficientBalance,
    NotFound,
    OutOfStock,
    Unauthorized,
)
from rentnumber_tui.api.models import Country, Offer, Rows, Service
from rentnumber_tui.cli_args import KEYED, ExitCode
from rentnumber_tui.core import events
from rentnumber_tui.core.engine import (
    CancelChanged,
    Engine,
    RentAmbiguous,
    RentBlocked,
    RentFailedSafely,
    RentNotSent,
    RentStillUnknown,
)
from rentnumber_tui.core.export import history_csv, history_row, json_value, rental_json, utc_text
from rentnumber_tui.core.fuzzy import rank
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text
from rentnumber_tui.user_error import UserFacingError, message_of

T = TypeVar("T")


class CommandFailed(UserFacingError):
    """A command could not do what was asked; `code` is the exit status."""

    def __init__(self, message: str, code: ExitCode, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        #: What is known anyway (e.g. the rental still waiting), for `--json`.
        self.data = data or {}


# -- running -------------------------------------------------------------------------------


def run_command(options: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Build the engine (demo or real), run one command, stop it; the exit status."""
    from rentnumber_tui import launch

    err = sys.stderr
    if options.demo:
        engine = launch.demo_engine(seed=options.seed, sms_delay=options.sms_delay)
        warnings: list[str] = []
    else:
        built = launch.build_engine(options)
        if isinstance(built, str):
            print(built, file=err)
            return ExitCode.USAGE
        engine, warnings = built.engine, [*built.warnings, *built.key_notes]
    for warning in warnings:
        print(f"warning: {warning}", file=err)
    engine.start()
    try:
        return _run(engine, options, out, err)
    finally:
        engine.stop()
        engine.store.close()


def _run(engine: Engine, options: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    runner = Commands(engine, options)
    try:
        # Ctrl-C cancels the command and surfaces here as KeyboardInterrupt.
        result = asyncio.run(runner.run())
    except KeyboardInterrupt:
        message, data = runner.interrupted()
        _say(err, message)
        if options.json:
            _print_json(out, {"error": message, "exit_code": int(ExitCode.INTERRUPTED), **data})
        return ExitCode.INTERRUPTED
    except CommandFailed as failed:
        _say(err, failed.message)
        if options.json:
            _print_json(
                out, {"error": failed.message, "exit_code": int(failed.code), **failed.data}
            )
        return failed.code
    except Exception as error:  # never a traceback: one sentence
        _say(err, f"Unexpected error: {message_of(error)}")
        return ExitCode.UNEXPECTED
    runner.render(result, out)
    return ExitCode.DONE


def _read(rows: Sequence[T]) -> Sequence[T]:
    """The rows a list answer gave; rows that could not be read are said on stderr (a
    script must know the list is short), the rest are used."""
    if isinstance(rows, Rows) and rows.note:
        print(
            f"warning: {safe_text(rows.note, max_length=600)}; the rest are used.", file=sys.stderr
        )
    return rows


def _say(err: TextIO, message: str) -> None:
    print(f"rentnumber-tui: {safe_text(message, max_length=600)}", file=err)


def _print_json(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, default=json_value, ensure_ascii=False) + "\n")
    out.flush()


# -- the commands --------------------------------------------------------------------------


@dataclass
class Result:
    """What a command found: `data` for `--json`, `lines` for a terminal, `quiet` for
    `-q`."""

    data: dict[str, Any]
    lines: list[str]
    quiet: str | None = None


class Commands:
    def __init__(self, engine: Engine, options: argparse.Namespace) -> None:
        self.engine = engine
        self.options = options
        #: What an interruption leaves behind (for the words said after Ctrl-C).
        self._renting = False
        self._waiting_for: TrackedRental | None = None
        #: The rental `wait` was asked for, before it is known (Ctrl-C while looking).
        self._waiting_id: int | None = None

    async def run(self) -> Result:
        name = self.options.command
        if name in KEYED and not self.engine.status().has_key:
            raise CommandFailed(
                "No API key: set RENTNUMBER_API_KEY or run `rentnumber-tui login` "
                f"(profile '{self.options.profile}').",
                ExitCode.KEY,
            )
        handler: Callable[[], Coroutine[Any, Any, Result]] = getattr(self, f"cmd_{name}")
        try:
            return await handler()
        except Unauthorized as error:
            raise CommandFailed(error.message, ExitCode.KEY) from None
        except InsufficientBalance as error:
            raise CommandFailed(error.message, ExitCode.BALANCE) from None
        except OutOfStock as error:
            raise CommandFailed(error.message, ExitCode.NO_MATCH) from None
        except CommandFailed:
            raise
        except UserFacingError as error:
            raise CommandFailed(error.message, ExitCode.UNEXPECTED) from None

    def interrupted(self) -> tuple[str, dict[str, Any]]:
        if self._renting:
            return (
                "Interrupted while the rent was on its way. It is in the journal: the next "
                "run of rentnumber-tui (this command, or the TUI) finds out whether it "
                "went through, and nothing is paid twice.",
                {},
            )
        rental = self._waiting_for
        if rental is not None:
            return (
                f"Stopped waiting. Rental {rental.rental_id} ({safe_text(rental.phone)}) is "
                f"still active: `rentnumber-tui wait {rental.rental_id}` picks it up again.",
                {"rental": rental_json(rental)},
            )
        if self._waiting_id is not None:  # interrupted while the rental was looked up
            rental_id = self._waiting_id
            return (
                f"Stopped waiting. Rental {rental_id} is still active: "
                f"`rentnumber-tui wait {rental_id}` picks it up again.",
                {"rental_id": rental_id},
            )
        return "Interrupted.", {}

    def render(self, result: Result, out: TextIO) -> None:
        if getattr(self.options, "json", False):
            _print_json(out, result.data)
        elif getattr(self.options, "quiet", False) and result.quiet is not None:
            out.write(result.quiet + "\n")
        else:
            out.write("".join(f"{line}\n" for line in result.lines))
        out.flush()

    # -- catalog --------------------------------------------------------------------------

    async def cmd_balance(self) -> Result:
        balance = await self.engine.balance()
        return Result(
            {"balance": balance.amount, "currency": balance.currency},
            [format_money(balance.amount, balance.currency)],
            quiet=f"{balance.amount:.2f}",
        )

    async def cmd_services(self) -> Result:
        services = rank(self.options.filter, _read(await self.engine.services()), _service_keys)
        rows = [
            (
                s.slug,
                s.name,
                format_money(s.min_price) if s.min_price is not None else "—",
                str(s.provider_count),
            )
            for s in services
        ]
        return Result(
            {"services": [service_json(s) for s in services]},
            _table(("SLUG", "SERVICE", "FROM", "PROVIDERS"), rows, right={2, 3}),
        )

    async def cmd_countries(self) -> Result:
        countries = rank(self.options.filter, _read(await self.engine.countries()), _country_keys)
        rows = [(c.iso_code, c.name, str(c.id)) for c in countries]
        return Result(
            {"countries": [country_json(c) for c in countries]},
            _table(("ISO", "COUNTRY", "ID"), rows, right={2}),
        )

    async def cmd_prices(self) -> Result:
        service = await self._service(self.options.service)
        country = await self._country(self.options.country) if self.options.country else None
        offers = await self._offers(service, country)
        rows = [
            (
                format_money(o.price),
                str(o.stock),
                o.provider_name,
                o.country_name,
                o.iso_code,
                str(o.id),
            )
            for o in offers
        ]
        return Result(
            {"service": service_json(service), "offers": [offer_json(o) for o in offers]},
            _table(
                ("PRICE", "STOCK", "PROVIDER", "COUNTRY", "ISO", "PRICING ID"),
                rows,
                right={0, 1, 5},
            ),
        )

    async def _service(self, text: str) -> Service:
        services = await self.engine.services()
        found = _pick(text, services, lambda s: (s.slug, str(s.id), s.name), _service_keys)
        if found is None:
            raise CommandFailed(
                f"No service matches '{safe_text(text, max_length=60)}' "
                "(`rentnumber-tui services` lists them).",
                ExitCode.NO_MATCH,
            )
        return found

    async def _country(self, text: str) -> Country:
        countries = await self.engine.countries()
        found = _pick(text, countries, lambda c: (c.iso_code, str(c.id), c.name), _country_keys)
        if found is None:
            raise CommandFailed(
                f"No country matches '{safe_text(text, max_length=60)}' "
                "(`rentnumber-tui countries` lists them).",
                ExitCode.NO_MATCH,
            )
        return found

    async def _offers(self, service: Service, country: Country | None) -> list[Offer]:
        prices = await self.engine.prices(service.slug, country.id if country else None)
        offers = [o for o in _read(prices.offers) if country is None or o.country_id == country.id]
        return sorted(offers, key=lambda o: (not o.available, o.price, -o.stock, o.id))

    # -- renting --------------------------------------------------------------------------

    async def cmd_rent(self) -> Result:
        options = self.options
        cap = _money_arg(options.max_price) if options.max_price is not None else None
        service, offer = await self._choose(cap)
        self._renting = True  # (kept if Ctrl-C lands meanwhile: it says what is left)
        try:
            rental = await self.engine.rent(offer, service, "")
        except (RentStillUnknown, RentAmbiguous) as unknown:
            self._renting = False
            raise CommandFailed(
                f"{unknown.message} The journal keeps this rent; the next run of "
                "rentnumber-tui settles it.",
                ExitCode.UNKNOWN,
            ) from None
        except RentBlocked as blocked:
            self._renting = False
            code = ExitCode.UNKNOWN if "being checked" in blocked.message else ExitCode.NO_MATCH
            raise CommandFailed(blocked.message, code) from None
        except (RentNotSent, RentFailedSafely) as failed:
            self._renting = False
            raise CommandFailed(failed.message, ExitCode.UNEXPECTED) from None
        except (ApiError, UserFacingError):
            self._renting = False
            raise
        self._renting = False
        if cap is not None and rental.cost > cap:
            await self._refuse_dearer(rental, cap)
        if options.wait:
            rental = await self._wait(rental, options.timeout)
            return self._rental_result(rental, quiet=rental.code)
        return self._rental_result(rental, quiet=rental.phone)

    async def _choose(self, cap: Decimal | None) -> tuple[Service, Offer]:
        """The offer to rent: `--pricing-id`, or the cheapest in stock that matches,
        never above the cap (checked again against the answer's cost)."""
        options = self.options
        if options.pricing_id is not None:
            service, offer = await self._by_pricing_id(options.pricing_id, options.service)
        else:
            if not options.service or not options.country:
                raise CommandFailed(
                    "Say what to rent: `rent SERVICE --country C` or `rent --pricing-id N`.",
                    ExitCode.USAGE,
                )
            service = await self._service(options.service)
            country = await self._country(options.country)
            offers = await self._offers(service, country)
            if options.provider:
                wanted = options.provider.casefold()
                offers = [o for o in offers if o.provider_name.casefold() == wanted]
            matching = [o for o in offers if o.available]
            if not matching:
                raise CommandFailed(
                    f"No offer in stock for {safe_text(service.name)} in "
                    f"{safe_text(country.name)}"
                    + (f" from {safe_text(options.provider)}" if options.provider else "")
                    + ".",
                    ExitCode.NO_MATCH,
                )
            offer = matching[0]
        if not offer.available:
            raise CommandFailed(
                f"Offer {offer.id} is sold out (or has no valid price).", ExitCode.NO_MATCH
            )
        if cap is not None and offer.price > cap:
            raise CommandFailed(
                f"The cheapest matching offer costs {format_money(offer.price)}, above "
                f"--max-price {format_money(cap)}; nothing was rented.",
                ExitCode.NO_MATCH,
            )
        return service, offer

    async def _by_pricing_id(self, pricing_id: int, hint: str | None) -> tuple[Service, Offer]:
        services = [await self._service(hint)] if hint else list(await self.engine.services())
        for service in services:
            prices = await self.engine.prices(service.slug)
            for offer in prices.offers:
                if offer.id == pricing_id:
                    return service, offer
        raise CommandFailed(
            f"No offer has pricing id {pricing_id}"
            + (f" for {safe_text(hint)}" if hint else "")
            + ".",
            ExitCode.NO_MATCH,
        )

    async def _refuse_dearer(self, rental: TrackedRental, cap: Decimal) -> None:
        """The answer's cost is above the cap: cancel at once (refunded), exit 5."""
        try:
            result, _ = await self.engine.cancel(rental.rental_id, expect_refund=True)
        except (ApiError, CancelChanged) as error:
            raise CommandFailed(
                f"Rental {rental.rental_id} came back at {format_money(rental.cost)}, above "
                f"--max-price {format_money(cap)}, and cancelling it failed: "
                f"{error.message}",
                ExitCode.NO_MATCH,
                {"rental": rental_json(rental)},
            ) from None
        refund = f"{format_money(result.amount)} refunded" if result.refunded else "no refund"
        raise CommandFailed(
            f"Rental {rental.rental_id} came back at {format_money(rental.cost)}, above "
            f"--max-price {format_money(cap)}: cancelled at once ({refund}).",
            ExitCode.NO_MATCH,
            {"rental": rental_json(rental), "cancelled": True, "refunded": result.refunded},
        )

    # -- one rental -------------------------------------------------------------------------

    async def cmd_wait(self) -> Result:
        self._waiting_id = self.options.rental_id
        rental = await self._known(self.options.rental_id)
        rental = await self._wait(rental, self.options.timeout)
        return self._rental_result(rental, quiet=rental.code)

    async def cmd_status(self) -> Result:
        rental = await self._known(self.options.rental_id)
        return self._rental_result(rental, quiet=rental.code or str(rental.status))

    async def _known(self, rental_id: int) -> TrackedRental:
        try:
            return await self.engine.follow(rental_id)
        except NotFound:
            raise CommandFailed(
                f"This account has no rental {rental_id}.", ExitCode.NO_MATCH
            ) from None

    async def cmd_cancel(self) -> Result:
        rental_id = self.options.rental_id
        await self._known(rental_id)
        try:
            result, rental = await self.engine.cancel(rental_id)
        except CancelChanged as changed:
            raise CommandFailed(
                changed.message, ExitCode.NO_MATCH, {"rental": rental_json(changed.rental)}
            ) from None
        data: dict[str, Any] = {
            "rental_id": rental_id,
            "status": str(result.status),
            "refunded": result.refunded,
            "amount": result.amount,
        }
        if rental is not None:
            data["rental"] = rental_json(rental)
        if result.refunded:
            line = f"Cancelled rental {rental_id}; {format_money(result.amount)} refunded."
        else:
            code = f" Its code: {safe_text(rental.code)}." if rental and rental.code else ""
            line = f"Cancelled rental {rental_id} without a refund (an SMS had arrived).{code}"
        return Result(data, [line])

    async def _wait(self, rental: TrackedRental, timeout: float) -> TrackedRental:
        """Until the rental shows a code (0), ends without one, or `timeout` passes (6)."""
        engine = self.engine
        rental_id = rental.rental_id
        self._waiting_for = rental
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def heard(event: events.EngineEvent) -> None:
            if isinstance(event, events.RentalChanged) and event.rental.rental_id == rental_id:
                loop.call_soon_threadsafe(changed.set)

        unsubscribe = engine.subscribe(heard)
        # `_waiting_for` stays set if Ctrl-C cancels the wait: it names the rental left.
        try:
            deadline = loop.time() + max(0.0, timeout)
            while True:
                current = engine.rental(rental_id) or rental
                self._waiting_for = current
                if current.code:
                    self._waiting_for = self._waiting_id = None
                    return current
                if current.is_final or current.problem:
                    raise CommandFailed(
                        f"Rental {rental_id} ended without an SMS ({current.status}).",
                        ExitCode.NO_SMS,
                        {"rental": rental_json(current)},
                    )
                left = deadline - loop.time()
                if left <= 0:
                    raise CommandFailed(
                        f"No SMS within {timeout:g} s. Rental {rental_id} "
                        f"({safe_text(current.phone)}) is still active: "
                        f"`rentnumber-tui wait {rental_id}` goes on waiting.",
                        ExitCode.NO_SMS,
                        {"rental": rental_json(current)},
                    )
                changed.clear()
                # Not `wait_for`: on 3.11 it can swallow Ctrl-C's cancel if an event
                # comes in the same moment (as it did the engine's stop in the poller).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(left, 1.0)):
                        await changed.wait()
        except CommandFailed:
            self._waiting_for = self._waiting_id = None
            raise
        finally:
            unsubscribe()

    def _rental_result(self, rental: TrackedRental, *, quiet: str | None) -> Result:
        data = rental_json(rental)
        lines = _pairs(
            [
                ("Rental", str(rental.rental_id)),
                ("Number", safe_text(rental.phone)),
                ("Status", str(rental.status)),
                ("Code", safe_text(rental.code or "—")),
                ("SMS", safe_text(rental.sms or "—", keep_newlines=False)),
                ("Cost", format_money(rental.cost)),
                ("Service", _labels(rental)),
                ("Expires", utc_text(rental.expires_at)),
            ]
        )
        return Result(data, lines, quiet=safe_text(quiet) if quiet else None)

    # -- lists ------------------------------------------------------------------------------

    async def cmd_rentals(self) -> Result:
        rentals = await self.engine.look_at_account()
        now = self.engine.server_now()
        rows = [_rental_row(r, now) for r in rentals]
        return Result(
            {"rentals": [rental_json(r) for r in rentals]},
            _table(("ID", "SERVICE", "NUMBER", "STATUS", "CODE", "LEFT", "ORIGIN"), rows)
            or ["No active rentals."],
        )

    async def cmd_history(self) -> Result:
        history = await self.engine.history()
        rentals = history.rentals
        if self.options.limit is not None:
            rentals = rentals[: max(0, self.options.limit)]
        data: dict[str, Any] = {"rentals": [rental_json(r) for r in rentals]}
        if history.problem:
            data["problem"] = history.problem
            print(f"warning: {history.problem}", file=sys.stderr)
        header = (
            "CREATED (UTC)",
            "ID",
            "SERVICE",
            "COUNTRY",
            "PROVIDER",
            "NUMBER",
            "STATUS",
            "COST",
            "CODE",
        )
        rows = [history_row(r) for r in rentals]
        if self.options.csv and not self.options.json:
            return Result(data, history_csv(rentals).splitlines())
        return Result(data, _table(header, rows, right={1, 7}) or ["No rentals."])


# -- JSON shapes (documented in the README: stable field names) ------------------------------


def service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "slug": service.slug,
        "name": service.name,
        "provider_count": service.provider_count,
        "min_price": service.min_price,
    }


def country_json(country: Country) -> dict[str, Any]:
    return {"id": country.id, "iso_code": country.iso_code, "name": country.name}


def offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "pricing_id": offer.id,
        "price": offer.price,
        "stock": offer.stock,
        "provider": offer.provider_name,
        "provider_id": offer.provider_id,
        "country": offer.country_name,
        "country_id": offer.country_id,
        "iso_code": offer.iso_code,
        "available": offer.available,
    }


# -- text helpers --------------------------------------------------------------------------------


def _service_keys(service: Service) -> tuple[str, ...]:
    return (service.name, service.slug)


def _country_keys(country: Country) -> tuple[str, ...]:
    return (country.name, country.iso_code)


def _pick(
    text: str,
    items: Sequence[T],
    exact: Callable[[T], tuple[str, ...]],
    keys: Callable[[T], tuple[str, ...]],
) -> T | None:
    """An exact slug/code, id or name (any case) first, else the best fuzzy match."""
    wanted = text.strip().casefold()
    for item in items:
        if wanted in (value.casefold() for value in exact(item)):
            return item
    ranked = rank(text, items, keys)
    return ranked[0] if ranked else None


def _money_arg(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("₦", "").strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise CommandFailed(
            f"--max-price must be an amount such as 450 or 450.00, not "
            f"'{safe_text(text, max_length=40)}'.",
            ExitCode.USAGE,
        )
    return value


def _labels(rental: TrackedRental) -> str:
    labels = rental.labels
    parts = [safe_text(p) for p in (labels.service, labels.country, labels.provider) if p]
    return " / ".join(parts) or "—"


def _rental_row(rental: TrackedRental, now: datetime) -> tuple[str, ...]:
    left = rental.seconds_left(now)
    remaining = ""
    if left is not None and not rental.is_final:
        minutes, seconds = divmod(max(0, int(left)), 60)
        remaining = f"{minutes}:{seconds:02d}"
    return (
        str(rental.rental_id),
        safe_text(rental.labels.service or "—"),
        safe_text(rental.phone),
        str(rental.status),
        safe_text(rental.code or ""),
        remaining,
        rental.origin,
    )


def _pairs(pairs: Iterable[tuple[str, str]]) -> list[str]:
    items = list(pairs)
    width = max(len(label) for label, _ in items)
    return [f"{label:<{width}}  {value}" for label, value in items]


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] | None = None
) -> list[str]:
    """Aligned columns (right-aligned where numbers are); [] when there are no rows."""
    if not rows:
        return []
    right = right or set()
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    return [line(header), *(line(row) for row in rows)]


def install_sigterm() -> None:
    """SIGTERM (a script's timeout, `kill`) ends a command as Ctrl-C does: its words about
    what it leaves behind are said, the engine and store closed."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
