"""The request budget's own cost per request: the time the scheduler spends deciding and
recording a start, not the waiting the ceiling imposes.

The ceiling is made unreachable (max_requests=100000) so nothing ever waits, and the
window short (`--per`, default 0.1 ms) so the ledger holds about as many starts as it
does at the real ceiling (2 per second: a handful); with a 1-second window and tens of
thousands of requests a second, the ledger would hold tens of thousands of starts and
the figures would measure that instead. Each request is timed from asking for the slot
to leaving it, in two shapes:
- `grant`: `async with scheduler.slot()` — the in-process (ASGI) path;
- `grant+hold+sent`: the same with `ticket.hold()` and `ticket.sent()`, as the client
  does over a socket (three ledger operations in all).

Configurations: `LocalLedger` (in memory, the default); `FileLedger` from one process;
`FileLedger` with three processes hammering one file at once (each in a loop; figures
pooled, requests/second for the three together).

    .venv/bin/python benchmarks/bench_budget.py [--requests 20000] [--per 0.0001]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rentnumber_tui.api.scheduler import Priority, RequestScheduler
from rentnumber_tui.api.shared_budget import FileLedger

CEILING = 100_000
SHAPES = ("grant", "grant+hold+sent")


def make_scheduler(ledger_path: str | None, per: float) -> RequestScheduler:
    ledger = FileLedger(ledger_path) if ledger_path else None
    return RequestScheduler(max_requests=CEILING, per=per, margin=0.0, ledger=ledger)


async def timed_requests(
    scheduler: RequestScheduler, count: int, shape: str
) -> tuple[list[float], float]:
    """Per-request seconds, and the wall time the whole loop took."""
    costs: list[float] = []
    clock = time.perf_counter
    hold = shape == "grant+hold+sent"
    began = clock()
    for _ in range(count):
        start = clock()
        async with scheduler.slot(Priority.BACKGROUND) as ticket:
            if hold:
                ticket.hold()
                ticket.sent()
        costs.append(clock() - start)
    return costs, clock() - began


def in_process(ledger_path: str | None, count: int, shape: str, per: float) -> tuple[list, float]:
    scheduler = make_scheduler(ledger_path, per)
    asyncio.run(timed_requests(scheduler, 200, shape))  # warm up
    return asyncio.run(timed_requests(scheduler, count, shape))


def worker(ledger_path: str, count: int, shape: str, per: float) -> int:
    """One of the hammering processes: ready, wait for the word, run, report."""
    scheduler = make_scheduler(ledger_path, per)
    asyncio.run(timed_requests(scheduler, 200, shape))
    print("ready", flush=True)
    sys.stdin.readline()
    began = time.monotonic()
    costs, _ = asyncio.run(timed_requests(scheduler, count, shape))
    print(json.dumps({"costs": costs, "began": began, "ended": time.monotonic()}), flush=True)
    return 0


def hammered(
    ledger_path: str, count: int, shape: str, per: float, procs: int
) -> tuple[list, float]:
    argv = [sys.executable, __file__, "--worker", ledger_path, "--requests", str(count)]
    argv += ["--shape", shape, "--per", str(per)]
    children = [
        subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(procs)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:  # all start together
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = [json.loads(child.communicate(timeout=600)[0]) for child in children]
    costs = [c for r in reports for c in r["costs"]]
    span = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    return costs, span


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000, help="per process")
    parser.add_argument("--per", type=float, default=0.0001, help="window in seconds")
    parser.add_argument("--procs", type=int, default=3, help="processes sharing one file")
    parser.add_argument("--worker", metavar="LEDGER", help=argparse.SUPPRESS)
    parser.add_argument("--shape", default="grant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.requests, args.shape, args.per)

    print(
        f"Request budget cost per request (microseconds; max_requests={CEILING}, "
        f"window {args.per * 1000:g} ms, {args.requests} requests per process)"
    )
    configs = ("LocalLedger", "FileLedger, 1 process", f"FileLedger, {args.procs} processes")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            print(f"  {shape}:")
            for name in configs:
                if name == configs[0]:
                    costs, span = in_process(None, args.requests, shape, args.per)
                elif name == configs[1]:
                    costs, span = in_process(f"{tmp}/one.json", args.requests, shape, args.per)
                else:
                    path = f"{tmp}/{shape}.json"
                    costs, span = hammered(path, args.requests, shape, args.per, args.procs)
                micro = [c * 1e6 for c in costs]
                print(
                    f"    {name:<24} median {statistics.median(micro):7.1f}"
                    f"  p95 {p95(micro):7.1f}   {len(costs) / span:9.0f} requests/s"
                )
        size = os.path.getsize(f"{tmp}/one.json")
        print(f"  (the 1-process ledger file ended at {size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
