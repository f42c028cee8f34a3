"""Serve a `Sandbox` over real HTTP with uvicorn (imported here only, and lazily).

`running_server` is for tests (a background thread on a free loopback port);
`serve`/`main` back `rentnumber-tui sandbox`.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from .config import DEMO_API_KEY, SandboxConfig, sms_delay_around

if TYPE_CHECKING:
    from .asgi import Sandbox

API_PATH = "/api/v1"
DEFAULT_PORT = 8765

ADMIN_EPILOG = (
    "Besides the API, tests can use a JSON admin API that is never logged, rate-limited "
    "or faulted: GET /_sandbox/requests[?since=SEQ] (the request log), "
    "POST /_sandbox/rentals (key, pricing_id: a rental made on the website), "
    "POST /_sandbox/sms (rental_id[, code][, text]) and GET /_sandbox/balance?key=KEY."
)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{API_PATH}"


def _server(sandbox: Sandbox, sock: socket.socket, *, quiet: bool) -> Any:
    import uvicorn

    config = uvicorn.Config(
        sandbox,
        # The sandbox writes its own `Date` (from its clock) and no `Server` header.
        date_header=False,
        server_header=False,
        lifespan="on",
        log_level="warning" if quiet else "info",
        access_log=not quiet,
        # A `hang` fault in flight must not block shutdown for long.
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (Ctrl-C). Raises OSError if the address is taken."""
    sock = _bind(host, port)
    try:
        _server(sandbox, sock, quiet=False).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def running_server(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 10.0
) -> Iterator[str]:
    """Serve `sandbox` from a background thread; yields the base URL (`.../api/v1`).

    Port 0 picks a free port. Returns once uvicorn accepts connections; stops it and
    joins the thread on exit.
    """
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    server = _server(sandbox, sock, quiet=True)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox-uvicorn", daemon=True
    )
    thread.start()
    try:
        # `started` flips once the listening server is up; the thread dying means startup
        # failed. Event.wait on a private event gives a bounded, non-busy poll.
        tick = threading.Event()
        waited = 0.0
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            if waited >= timeout:
                raise TimeoutError("the sandbox server did not start in time")
            tick.wait(0.01)
            waited += 0.01
        yield _base_url(host, actual_port)
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()


#: The demo account's balance can be set from 0 up to this (naira).
MAX_BALANCE = Decimal("1000000000")


def balance_amount(text: str) -> Decimal:
    """``--balance``: an amount of naira, whole or with kobo (``25000``, ``1500.50``)."""
    expectation = f"must be an amount from 0 to {MAX_BALANCE:,} such as 25000 or 1500.50"
    try:
        amount = Decimal(text.strip().replace("_", ""))
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{expectation}, not {text!r}") from None
    if not amount.is_finite() or not 0 <= amount <= MAX_BALANCE:
        raise argparse.ArgumentTypeError(f"{expectation}, not {text!r}")
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        raise argparse.ArgumentTypeError(f"must have at most 2 decimals (kobo), not {text!r}")
    return amount.quantize(Decimal("0.01"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Each option's help says its default, taken from `SandboxConfig` itself."""
    defaults = SandboxConfig()
    low, high = defaults.sms_delay
    parser = argparse.ArgumentParser(
        prog="rentnumber-tui sandbox",
        description="Run the simulated RentNumber server (demo account included).",
        epilog=ADMIN_EPILOG,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port, 0: any free (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="catalog/SMS seed (default: %(default)s)"
    )
    parser.add_argument(
        "--sms-delay",
        type=float,
        default=None,
        metavar="S",
        help="SMS arrives uniformly within [S/2, 3S/2] seconds; 0 = immediately "
        f"(default: {low:g}-{high:g} s)",
    )
    parser.add_argument(
        "--balance",
        type=balance_amount,
        default=defaults.starting_balance,
        metavar="NAIRA",
        help="the demo account's starting balance (default: %(default)s)",
    )
    parser.add_argument(
        "--enforce-rate-limit",
        action="store_true",
        help="answer 429 (Retry-After: 1) to a request when 2 others arrived in the last "
        "second (default: off)",
    )
    args = parser.parse_args(argv)
    if args.sms_delay is not None and args.sms_delay < 0:
        parser.error("--sms-delay must be >= 0")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be within 0-65535")
    return args


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    balance = getattr(args, "balance", None)
    extra = {} if balance is None else {"starting_balance": balance}
    if args.sms_delay is None:
        return SandboxConfig(seed=args.seed, **extra)
    return SandboxConfig(seed=args.seed, sms_delay=sms_delay_around(args.sms_delay), **extra)


def sandbox_from_args(args: argparse.Namespace) -> Sandbox:
    """The sandbox `rentnumber-tui sandbox` serves for these arguments."""
    from .asgi import Sandbox

    sandbox = Sandbox(config_from_args(args))
    sandbox.faults.enforce_rate_limit = bool(getattr(args, "enforce_rate_limit", False))
    return sandbox


def _line_buffered_stdout() -> None:
    """A parent reading our stdout through a pipe (an end-to-end test waiting for the
    base URL) must get each line as it is written, uvicorn's access log included."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        # A stream that cannot change keeps working: every print() here flushes anyway.
        with contextlib.suppress(ValueError, OSError):
            reconfigure(line_buffering=True)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: list[str] | None = None) -> int:
    """`rentnumber-tui sandbox [--host H] [--port P] [--seed N] [--sms-delay S]
    [--balance NAIRA] [--enforce-rate-limit]`. The first stdout line is
    `RentNumber sandbox: BASE_URL` (the real port when `--port 0`)."""
    args = parse_args(argv)
    _line_buffered_stdout()
    sandbox = sandbox_from_args(args)
    # Build the catalog now, not while the first request waits: a 50 ms stall there
    # delays the next request's arrival, and the server's request log (which tests of
    # the rate ceiling read) would show two requests closer together than sent.
    _ = sandbox.catalog
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    if not _is_loopback(args.host):
        print(
            f"warning: listening on {args.host}, not a loopback address: anyone who can "
            "reach it can use the sandbox.",
            file=sys.stderr,
        )
    print(f"RentNumber sandbox: {_base_url(args.host, port)}", flush=True)
    print(f"Demo API key:       {DEMO_API_KEY}", flush=True)
    print(f"Demo balance:       {sandbox.config.starting_balance:.2f} NGN", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        _server(sandbox, sock, quiet=False).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
