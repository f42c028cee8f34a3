"""SMS-to-screen as a person sees it, with the account's rentals followed by one program
or shared by two: real programs in ptys, real HTTP to `rentnumber-tui sandbox` (its own
process), codes delivered through the sandbox's admin API and looked for in the text each
terminal shows. The clock is the sandbox's (the system clock of this machine): a code's
latency runs from the moment the sandbox holds the SMS to the moment it is on screen.

    python benchmarks/bench_sms_shared.py [--rentals 10] [--rounds 2]

Prints, for 1 and 2 programs, p50/p95/max of "on the first screen" and "on every screen",
the target max(1 s, N/2 s) + 0.5 s, and the request rate the sandbox saw.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rentnumber_tui.sandbox import DEMO_API_KEY  # noqa: E402
from tests.e2e.pty import F2, Pty, program, program_env  # noqa: E402
from tests.e2e.sandbox_process import SandboxProcess, max_starts_in_any_window  # noqa: E402

SIZE = (120, 40)
PRICING_ID = 42  # WhatsApp / Nigeria / Alpha


def rent(base_url: str, home: Path, count: int) -> list[int]:
    """Rent `count` numbers with the program's own engine (a script on the account)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.e2e.burst_worker",
            base_url,
            str(count),
            "whatsapp",
            str(PRICING_ID),
        ],
        env=program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return list(json.loads(out.strip().splitlines()[-1])["rentals"])


def pump_until(apps: list[Pty], condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("\n\n".join(app.screen() for app in apps))
        for app in apps:
            app.pump(0.005)


def one_round(programs: int, rentals: int, seed: int) -> tuple[list[float], list[float], float]:
    rng = random.Random(seed)
    home = Path(tempfile.mkdtemp(prefix="bench-sms-")) / "user"
    with SandboxProcess("--seed", "1", "--sms-delay", "600") as server:
        ids = rent(server.base_url, home, rentals)
        env = program_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY)
        apps = [Pty(program(server.base_url), env, SIZE) for _ in range(programs)]
        try:
            for app in apps:
                pump_until(apps, app.shows("● online"))
                app.send(F2)
            pump_until(apps, lambda: all("Live rentals" in a.screen() for a in apps))
            # Let the programs settle into their polling (leases divided, paces set).
            settle = time.monotonic() + 5
            pump_until(apps, lambda: time.monotonic() > settle, timeout=10)
            since = server.requests()[-1]["seq"]
            first: list[float] = []
            every: list[float] = []
            order = ids[:]
            rng.shuffle(order)
            for index, rental_id in enumerate(order):
                code = f"C{index:02d}X{rng.randrange(100, 999)}"
                server.deliver_sms(rental_id, code=code)
                delivered = time.time()
                seen: dict[int, float] = {}

                def all_seen(code: str = code, seen: dict[int, float] = seen) -> bool:
                    for number, app in enumerate(apps):
                        if number not in seen and code in app.screen():
                            seen[number] = time.time()
                    return len(seen) == len(apps)

                pump_until(apps, all_seen)
                first.append(min(seen.values()) - delivered)
                every.append(max(seen.values()) - delivered)
                gap = time.monotonic() + rng.uniform(0.2, 1.5)
                pump_until(apps, lambda gap=gap: time.monotonic() > gap)
            log = [r for r in server.requests() if r["seq"] > since]
            span = log[-1]["monotonic"] - log[0]["monotonic"] if len(log) > 1 else 1.0
            peak = max_starts_in_any_window(log)
            rate = len(log) / span
            print(f"    round: {len(log)} requests, {rate:.2f}/s, busiest second {peak}")
            return first, every, rate
        finally:
            for app in apps:
                app.kill()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rentals", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    target = max(1.0, args.rentals / 2) + 0.5
    print(f"SMS to screen, {args.rentals} waiting rentals, target p95 {target:.1f} s")
    for programs in (1, 2):
        firsts: list[float] = []
        everys: list[float] = []
        for round_no in range(args.rounds):
            first, every, _ = one_round(programs, args.rentals, seed=round_no)
            firsts += first
            everys += every
        print(
            f"  {programs} program(s): first screen p50 {statistics.median(firsts):.2f} s, "
            f"p95 {p95(firsts):.2f} s, max {max(firsts):.2f} s | every screen p50 "
            f"{statistics.median(everys):.2f} s, p95 {p95(everys):.2f} s, "
            f"max {max(everys):.2f} s ({len(everys)} codes)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
