"""First paint of the service list itself (not the title): cold, warm and demo, against
a bare Textual app's first frame.

What it measures: seconds from spawning the program on a fresh 120×40 pty to the
first whole frame (the emulator in `tests/e2e/vt.py`; a synchronized update counts once
it ends) that shows the list a person came for: the "WhatsApp" row and the filter's
"N of 50" count. The clock stops when the chunk of output that completed that frame was
read. Four programs, runs alternating so machine noise hits all alike:

- bare Textual app: Header, DataTable with a "WhatsApp" row, Footer — the baseline the
  project has always used (`ptybench.BARE_TABLE_APP`); stops at its row and title;
- bare Static app: the smallest Textual app that draws a line (`BARE_STATIC_APP`), for
  reference;
- cold: `python -m rentnumber_tui --base-url` against `rentnumber-tui sandbox` on
  127.0.0.1, a fresh home (XDG dirs empty: no cache, no store), the demo key in
  RENTNUMBER_API_KEY: the list needs the server's answer;
- warm: the same home straight after the cold run (which was left 2 s to settle and
  quit with ctrl+q, so its catalog cache is on disk);
- demo: `python -m rentnumber_tui --demo` (in-process sandbox), a fresh home.

Target (issue 14): the service list ≤ 1.3× the bare app's first frame, for the demo and
a cold start. Prints medians and ratios; asserts nothing.

    .venv/bin/python benchmarks/bench_startup.py [--runs 11]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ptybench import (
    BARE_STATIC_APP,
    BARE_TABLE_APP,
    SIZE,
    TimedPty,
    app_argv,
    user_env,
    working_tree,
)

from rentnumber_tui.sandbox import DEMO_API_KEY
from tests.e2e.pty import CTRL_Q
from tests.e2e.sandbox_process import SandboxProcess

LIST_SHOWN = ("WhatsApp", "of 50")


def first_paint(
    argv: list[str], env: dict[str, str], marks: tuple[str, ...], then: Callable[[TimedPty], None]
) -> tuple[float, float]:
    """Seconds from spawn to the first frame with anything on it (for reference: the
    figure the old benchmark took, at the title), and to the first frame showing every
    one of `marks`."""
    app = TimedPty(argv, env, SIZE)
    try:
        drawn = app.until(lambda: app.screen().strip(), "a first frame", timeout=30)
        took = app.until(app.has(*marks), f"{marks} on screen", timeout=30) - app.started
        then(app)
        return drawn - app.started, took
    finally:
        app.kill()


def kill(app: TimedPty) -> None:
    """Nothing to keep: the finally block kills it."""


def settle_and_quit(app: TimedPty) -> None:
    """Leave the cold start time to store its cache, then quit as a person does."""
    app.idle(2.0)
    app.send(CTRL_Q)
    asks = app.has("Quit rentnumber-tui?")
    app.until(lambda: app.process.poll() is not None or asks(), "the program to quit", 10)
    if app.process.poll() is None:
        app.send(CTRL_Q)
    app.finish(10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    python = sys.executable
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    table_file = scratch / "bare_table_app.py"
    table_file.write_text(BARE_TABLE_APP)
    static_file = scratch / "bare_static_app.py"
    static_file.write_text(BARE_STATIC_APP)
    homes = iter(range(10**6))

    def fresh_home() -> Path:
        return scratch / f"home-{next(homes)}"

    times: dict[str, list[float]] = {
        name: [] for name in ("bare Textual app", "bare Static app", "cold", "warm", "demo")
    }
    frames: dict[str, list[float]] = {name: [] for name in times}
    with SandboxProcess("--seed", "1", "--sms-delay", "3600") as server:
        url = server.base_url

        def one_round(record: bool) -> None:
            bare_env = user_env(fresh_home())
            results = {
                "bare Textual app": first_paint(
                    [python, str(table_file)], bare_env, ("BareMarker", "WhatsApp"), kill
                ),
                "bare Static app": first_paint(
                    [python, str(static_file)], bare_env, ("BareMarker WhatsApp",), kill
                ),
            }
            home = fresh_home()
            env = user_env(home, RENTNUMBER_API_KEY=DEMO_API_KEY)
            results["cold"] = first_paint(app_argv(url), env, LIST_SHOWN, settle_and_quit)
            results["warm"] = first_paint(app_argv(url), env, LIST_SHOWN, kill)
            demo = [python, "-m", "rentnumber_tui", "--demo"]
            results["demo"] = first_paint(demo, user_env(fresh_home()), LIST_SHOWN, kill)
            if record:
                for name, (anything, value) in results.items():
                    times[name].append(value)
                    frames[name].append(anything)

        one_round(record=False)  # bytecode caches warm, the sandbox's catalogue built
        for _ in range(args.runs):
            one_round(record=True)

    print(
        f"First paint of the service list (WhatsApp row + 'of 50'), 120×40 pty, "
        f"{args.runs} runs each, alternating ({working_tree()}):"
    )
    for name, values in times.items():
        print(
            f"  {name:<18} median {statistics.median(values) * 1000:6.0f} ms"
            f"   min {min(values) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms"
            f"   (first frame of any kind: median {statistics.median(frames[name]) * 1000:4.0f} ms)"
        )
    bare = statistics.median(times["bare Textual app"])
    static = statistics.median(times["bare Static app"])
    for name in ("cold", "warm", "demo"):
        median = statistics.median(times[name])
        # Each round runs every program once, one after the other: the ratio within a
        # round cancels what slows the machine for a while (another tenant, a busy host).
        per_round = statistics.median(
            mine / base for mine, base in zip(times[name], times["bare Textual app"], strict=True)
        )
        print(
            f"  {name:<5} ÷ bare Textual app: {median / bare:.2f}×   "
            f"(÷ bare Static app: {median / static:.2f}×; median of the rounds' own ratios: "
            f"{per_round:.2f}×)"
        )
    print("  target: the service list ≤ 1.3× the bare Textual app (demo and cold start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
