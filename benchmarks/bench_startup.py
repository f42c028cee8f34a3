"""Time to first frame: `rentnumber-tui --demo` against a bare Textual app (Header,
DataTable, Footer), launched side by side in a pseudo-terminal.

Each run spawns the program on a fresh pty (120×40, like a tmux pane) and stops the
clock when the program's marker text (its title) reaches the terminal: Textual writes
a frame in one burst, so that is when the first frame is on screen. Runs alternate
between the two programs so machine noise hits both alike.

    .venv/bin/python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    TITLE = "BareMarker"
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()
    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("Service", "Price")
        table.add_row("WhatsApp", "450.00")

Bare().run()
"""


def first_frame(argv: list[str], marker: bytes, env: dict[str, str]) -> float:
    """Seconds from spawn until `marker` is on the terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    start = time.perf_counter()
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.05)
            now = time.perf_counter()
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                seen += chunk
                if marker in seen:
                    return now - start
            if now - start > 20:
                raise RuntimeError(f"no first frame from {argv} in 20 s")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    raise RuntimeError(f"{argv} exited before its first frame")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    home = tempfile.mkdtemp()
    env.update(XDG_DATA_HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
    bare_file = Path(home) / "bare_app.py"
    bare_file.write_text(BARE_APP)
    programs = {
        "bare Textual app": ([python, str(bare_file)], b"BareMarker"),
        "rentnumber-tui --demo": ([python, "-m", "rentnumber_tui", "--demo"], b"Services"),
    }
    for argv, marker in programs.values():  # warm the bytecode caches
        first_frame(argv, marker, env)
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(args.runs):
        for name, (argv, marker) in programs.items():
            times[name].append(first_frame(argv, marker, env))
    print(f"Time to first frame, {args.runs} runs each, alternating (120×40 pty):")
    for name, values in times.items():
        print(
            f"  {name:<24} median {statistics.median(values) * 1000:6.0f} ms"
            f"   min {min(values) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms"
        )
    ratio = statistics.median(times["rentnumber-tui --demo"]) / statistics.median(
        times["bare Textual app"]
    )
    print(f"  ratio (median): {ratio:.2f}×   (target: at most 1.5×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
