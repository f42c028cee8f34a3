"""Idle CPU: what the program costs while the person only looks at it.

What it measures: the CPU share of the program's process (all its threads: utime +
stime from /proc/PID/stat, over a `--window` of 20 s of wall time) once it has settled
(`--settle` 5 s after the screen is drawn), in four states, beside a bare Textual app:

- bare Textual app: a tiny App with one Static (`ptybench.BARE_STATIC_APP`);
- services: the service list, no rentals;
- 10k table: the price table of WhatsApp for all countries with 10,000 offers (the
  sandbox's `SandboxConfig.extra_offers` adds 9,913 to the catalogue's 87: one service,
  25 countries) — opened by keys: "whats", Enter, Enter on "All countries";
- 20 rentals: Live rentals (F2) with 20 rentals waiting for their SMS, made "on the
  website" before the program starts (`POST /_sandbox/rentals`, 20 times), which the
  program finds with `GET /rentals` and follows (it waits for the window title to say
  "20 waiting").

Every program runs in a 120×40 pty whose output is read all the time (as a terminal
does), `python -m rentnumber_tui --base-url` against the sandbox served in-process over
loopback (`running_server`, `--sms-delay` far beyond the run, so the rentals stay
waiting). Beside the CPU it prints what the program wrote to the terminal per second
(repaints) and the API requests it made in the window (polls of waiting rentals are
part of their cost). Targets (issue 14): ≤ 0.5 % with no rentals and with the 10k table
open, ≤ 1 % on Live rentals with 20 rentals. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_idle_cpu.py [--window 20] [--settle 5] [--runs 1]
        [--only "live rentals"]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from ptybench import (
    BARE_STATIC_APP,
    SIZE,
    TimedPty,
    app_argv,
    cpu_seconds,
    request_mix,
    user_env,
    working_tree,
)

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox, SandboxConfig
from rentnumber_tui.sandbox.server import running_server
from tests.e2e.pty import ENTER, F2

TABLE_OFFERS = 10_000
WHATSAPP_OFFERS = 87  # the seed-1 catalogue's own WhatsApp offers
RENTALS = 20
PRICING_ID = 1  # WhatsApp, the first country, 428 in stock
_TITLE = re.compile(r"\x1b\][02];(.*?)(?:\x07|\x1b\\)", re.DOTALL)


@dataclass
class Sample:
    cpu_percent: float
    bytes_per_second: float
    requests: str


@contextlib.contextmanager
def sandbox(extra_offers: int = 0) -> Iterator[tuple[Sandbox, str]]:
    config = SandboxConfig(
        seed=1,
        sms_delay=(3600.0, 3600.0),
        starting_balance=Decimal("1000000"),
        extra_offers=extra_offers,
    )
    box = Sandbox(config)
    with running_server(box, port=0) as base_url:
        yield box, base_url


def measure(app: TimedPty, box: Sandbox | None, settle: float, window: float) -> Sample:
    app.idle(settle)
    logged = box.requests_since(0) if box is not None else []
    seq = max((r.seq for r in logged), default=0)
    bytes_before = app.bytes_read
    cpu_before = cpu_seconds(app.process.pid)
    start = time.monotonic()
    app.idle(window)
    cpu_after = cpu_seconds(app.process.pid)
    elapsed = time.monotonic() - start
    written = app.bytes_read - bytes_before
    mix = "—"
    if box is not None:
        records = box.requests_since(seq)
        mix = request_mix({"method": r.method, "path": r.path} for r in records)
    return Sample(100 * (cpu_after - cpu_before) / elapsed, written / elapsed, mix)


def on_services(app: TimedPty) -> None:
    app.until(app.has("WhatsApp", "of 50", "● online"), "the service list")


def run_bare(settle: float, window: float) -> Sample:
    scratch = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    (scratch / "bare.py").write_text(BARE_STATIC_APP)
    app = TimedPty([sys.executable, str(scratch / "bare.py")], user_env(scratch / "h"), SIZE)
    try:
        app.until(app.has("BareMarker WhatsApp"), "the bare app")
        return measure(app, None, settle, window)
    finally:
        app.kill()


def run_app(
    settle: float,
    window: float,
    *,
    extra_offers: int = 0,
    before: Callable[[str], None] | None = None,
    drive: Callable[[TimedPty], None] = on_services,
) -> Sample:
    home = Path(tempfile.mkdtemp(prefix="bench-idle-")) / "user"
    with sandbox(extra_offers) as (box, base_url):
        if before is not None:
            before(base_url)
        app = TimedPty(app_argv(base_url), user_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY))
        try:
            drive(app)
            return measure(app, box, settle, window)
        finally:
            app.kill()


def open_big_table(app: TimedPty) -> None:
    on_services(app)
    app.type("whats")
    app.until(app.has("whats", " of "), "the filtered services")
    app.send(ENTER)
    app.until(app.has("All countries", "Type a country"), "the countries")
    app.send(ENTER)  # the first entry: All countries
    app.until(app.has("Provider", "in stock", "All countries"), "the price table", timeout=60)
    # The table's summary counts the offers ("10000 offers, 8804 in stock").
    app.until(app.has(f"{TABLE_OFFERS} offers"), "every offer in the table", timeout=60)


def make_rentals(base_url: str) -> None:
    origin = base_url.split("/api/v1")[0]
    with httpx.Client(base_url=f"{origin}/_sandbox", trust_env=False) as admin:
        for _ in range(RENTALS):
            answer = admin.post("/rentals", data={"key": DEMO_API_KEY, "pricing_id": PRICING_ID})
            answer.raise_for_status()


def open_rentals(app: TimedPty) -> None:
    on_services(app)
    app.send(F2)
    app.until(app.has("› Live rentals"), "Live rentals")

    def all_followed() -> bool:
        titles = [m.group(1) for s in app.terminal.sequences if (m := _TITLE.match(s))]
        return bool(titles) and f"{RENTALS} waiting" in titles[-1]

    app.until(all_followed, f"the window title to say {RENTALS} waiting", timeout=90)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--only", default="", help="measure only the states whose name contains this"
    )
    args = parser.parse_args()
    settle, window = args.settle, args.window
    cases: list[tuple[str, str, Callable[[], Sample]]] = [
        ("bare Textual app (Static)", "—", lambda: run_bare(settle, window)),
        ("services, no rentals", "≤ 0.5 %", lambda: run_app(settle, window)),
        (
            f"price table, {TABLE_OFFERS:,} offers",
            "≤ 0.5 %",
            lambda: run_app(
                settle,
                window,
                extra_offers=TABLE_OFFERS - WHATSAPP_OFFERS,
                drive=open_big_table,
            ),
        ),
        (
            f"Live rentals, {RENTALS} waiting",
            "≤ 1 %",
            lambda: run_app(settle, window, before=make_rentals, drive=open_rentals),
        ),
    ]
    print(
        f"Idle CPU of the process, {window:g} s window after {settle:g} s settling, "
        f"120×40 pty, median of {args.runs} ({working_tree()}):"
    )
    for name, target, run in cases:
        if args.only.lower() not in name.lower():
            continue
        samples = [run() for _ in range(args.runs)]
        cpu = statistics.median(s.cpu_percent for s in samples)
        out = statistics.median(s.bytes_per_second for s in samples)
        every = ", ".join(f"{s.cpu_percent:.2f}" for s in samples)
        print(
            f"  {name:<28} {cpu:5.2f} % CPU (runs: {every})  target {target:<8} "
            f"terminal output {out / 1024:6.1f} KiB/s"
        )
        print(f"  {'':<28} API in the window: {samples[-1].requests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
