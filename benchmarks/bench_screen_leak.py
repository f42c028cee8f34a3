"""Screens that outlive their use: the program's memory after opening and closing each
screen many times.

What it measures: VmRSS of the program's process (/proc/PID/status) after 0, 25, 50 and
100 open/close cycles of one screen, for each of four screens, each in a fresh program
(a fresh home, a fresh sandbox):

- price table: on the countries of WhatsApp filtered to Nigeria, Enter, then Esc;
- Live rentals: on the service list, F2, then Esc;
- History: on the service list, F3, then Esc;
- help: on the service list, F1, then Esc.

Every cycle waits until the screen is drawn with its content (the price table's rows,
the rentals' "waiting for SMS", the history's total, the help's first keys) and, after
Esc, until the screen below is drawn again, as a person would; nothing is pressed ahead.
Three rentals made "on the website" (`POST /_sandbox/rentals`) before the program starts
give Live rentals and History something to show (their SMS are far beyond the run).
The baseline, run the same way: a bare Textual app that pushes a Screen (Header, Static,
a 200-row DataTable, Footer) on F1 and pops it on Esc — how much of the growth any
Textual app shows (its caches, the allocator) rather than screens kept alive.
RSS is read 2 s after a checkpoint's last cycle. The program is `python -m rentnumber_tui
--base-url` in a 120×40 pty against the sandbox served in-process over loopback.

Target (issue 14): RSS within 10 MiB of the start after 100 cycles of every screen.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_screen_leak.py [--checkpoints 0 25 50 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from ptybench import F1, TimedPty, app_argv, rss_mib, user_env, working_tree

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox, SandboxConfig
from rentnumber_tui.sandbox.server import running_server
from tests.e2e.pty import ENTER, ESCAPE, F2, F3

RENTALS = 3
PRICING_ID = 42  # WhatsApp / Nigeria / Alpha
SERVICES = ("› Services", "of 50")


@dataclass(frozen=True)
class Cycle:
    name: str
    setup: Callable[[TimedPty], None]
    key: str
    opened: tuple[str, ...]
    closed: tuple[str, ...]
    gone: str  # text that must have left the screen once it is closed


def on_services(app: TimedPty) -> None:
    app.until(app.has("WhatsApp", "of 50", "● online"), "the service list")


def to_nigeria(app: TimedPty) -> None:
    on_services(app)
    app.type("whats")
    app.until(app.has("whats", " of "), "the filtered services")
    app.send(ENTER)
    app.until(app.has("Type a country"), "the countries")
    app.type("nigeria")
    app.until(app.has("1 of "), "Nigeria alone")


CYCLES = (
    Cycle(
        "price table",
        to_nigeria,
        ENTER,
        ("› WhatsApp › Nigeria", "Provider", "in stock"),
        ("› WhatsApp › Country", "1 of "),
        "Provider",
    ),
    Cycle(
        "Live rentals", on_services, F2, ("› Live rentals", "waiting for SMS"), SERVICES, "› Live"
    ),
    Cycle(
        "History",
        on_services,
        F3,
        ("› History", "spent (refunds excluded)"),
        SERVICES,
        "› History",
    ),
    # The help scrolls: its first lines are what is drawn at 40 rows.
    Cycle("help", on_services, F1, ("Keys", "Show every key"), SERVICES, "Show every key"),
)


#: The baseline: a bare Textual app that pushes a screen on F1 and pops it on Esc.
BARE_SCREENS_APP = """
from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

class Other(Screen):
    BINDINGS = [("escape", "app.pop_screen", "Back")]
    def compose(self):
        yield Header()
        yield Static("OtherMarker")
        table = DataTable()
        table.add_columns("Price", "Stock", "Provider", "Country")
        for n in range(200):
            table.add_row(f"{n}.00", str(n), f"Provider {n % 7}", f"Country {n % 25}")
        yield table
        yield Footer()

class Bare(App):
    BINDINGS = [("f1", "open", "Open")]
    def compose(self):
        yield Static("BareMarker")
    def action_open(self):
        self.push_screen(Other())

Bare().run()
"""


def bare_setup(app: TimedPty) -> None:
    app.until(app.has("BareMarker"), "the bare app")


BARE = Cycle(
    "bare Textual app (push/pop a Screen: Header, Static, 200-row DataTable, Footer)",
    bare_setup,
    F1,
    ("OtherMarker", "Provider 3"),
    ("BareMarker",),
    "OtherMarker",
)


def make_rentals(base_url: str) -> None:
    origin = base_url.split("/api/v1")[0]
    with httpx.Client(base_url=f"{origin}/_sandbox", trust_env=False) as admin:
        for _ in range(RENTALS):
            answer = admin.post("/rentals", data={"key": DEMO_API_KEY, "pricing_id": PRICING_ID})
            answer.raise_for_status()


def run(cycle: Cycle, checkpoints: list[int]) -> tuple[dict[int, float], float]:
    """RSS (MiB) at each checkpoint, and the median seconds one cycle took."""
    config = SandboxConfig(seed=1, sms_delay=(3600.0, 3600.0), starting_balance=Decimal("1000000"))
    home = Path(tempfile.mkdtemp(prefix="bench-leak-")) / "user"
    with running_server(Sandbox(config), port=0) as base_url:
        if cycle is BARE:
            bare = home.parent / "bare.py"
            bare.write_text(BARE_SCREENS_APP)
            argv = [sys.executable, str(bare)]
        else:
            make_rentals(base_url)
            argv = app_argv(base_url)
        app = TimedPty(argv, user_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY))
        try:
            cycle.setup(app)
            app.idle(3.0)
            rss: dict[int, float] = {}
            took: list[float] = []
            done = 0
            for checkpoint in sorted(checkpoints):
                while done < checkpoint:
                    start = time.monotonic()
                    app.send(cycle.key)
                    app.until(app.has(*cycle.opened), f"{cycle.name} drawn")
                    app.send(ESCAPE)
                    app.until(
                        lambda: app.has(*cycle.closed)() and cycle.gone not in app.screen(),
                        f"{cycle.name} closed",
                    )
                    took.append(time.monotonic() - start)
                    done += 1
                app.idle(2.0)
                rss[checkpoint] = rss_mib(app.process.pid)
            took.sort()
            return rss, took[len(took) // 2] if took else 0.0
        finally:
            app.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[0, 25, 50, 100])
    args = parser.parse_args()
    checkpoints = sorted(set(args.checkpoints) | {0})
    print(
        "RSS of the program after open/close cycles of each screen "
        f"(120×40 pty, fresh program per screen; {working_tree()}):"
    )
    for cycle in (BARE, *CYCLES):
        rss, took = run(cycle, checkpoints)
        cells = ", ".join(f"{n}: {rss[n]:.1f}" for n in checkpoints)
        growth = rss[checkpoints[-1]] - rss[0]
        print(
            f"  {cycle.name}:\n    RSS after n cycles (MiB) {cells}; growth {growth:+.1f} MiB;"
            f" one cycle {took * 1000:.0f} ms (median)"
        )
    print(f"  target: within 10 MiB of the start after {checkpoints[-1]} cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
