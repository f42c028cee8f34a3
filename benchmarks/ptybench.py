"""What the pty benchmarks share (not a benchmark itself): the real program on a
pseudo-terminal with every read timestamped, a bare Textual app as the baseline, the
sandbox's request log sorted into kinds, and figures read from /proc.

The pty, the screen emulator and the user's environment are the end-to-end tests' own
(`tests/e2e/pty.py`, `tests/e2e/vt.py`); this module only adds the clock: `TimedPty`
notes the moment each chunk of output was read, before the emulator digests it, so a
figure is "when the terminal received the frame", not "when Python got round to it".
"""

from __future__ import annotations

import os
import re
import select
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.pty import Pty, program, program_env  # noqa: E402
from tests.e2e.vt import split_incomplete  # noqa: E402

SIZE = (120, 40)
F1 = "\x1bOP"
CLK_TCK = os.sysconf("SC_CLK_TCK")

#: The smallest Textual app that puts a line of text on the screen.
BARE_STATIC_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("BareMarker WhatsApp")

Bare().run()
"""

#: The baseline the start-up figures have always used: Header, DataTable, Footer.
BARE_TABLE_APP = """
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


def app_argv(base_url: str) -> list[str]:
    """`python -m rentnumber_tui --base-url URL` (this interpreter: the venv's)."""
    return program(base_url)


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A person's environment: as the tests' (`program_env`), but Python writes its
    bytecode caches, as on any machine where the program was installed. Without them
    every start compiles the package from source (80 ms here): this machine's shells
    set PYTHONDONTWRITEBYTECODE, a person's do not."""
    env = program_env(home, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class TimedPty(Pty):
    """`Pty`, with `last_read` (time.time()) of the newest chunk read and hooks run after
    every read or idle wait (`hooks`), so a benchmark can act while it waits."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = SIZE):
        self.started = time.time()
        self.started_perf = time.perf_counter()
        super().__init__(argv, env, size)
        self.last_read = 0.0
        self.last_read_perf = 0.0
        self.bytes_read = 0
        self.hooks: list[Callable[[], None]] = []
        self._text_decoder = _decoder()
        self._cut = ""

    def pump(self, wait: float) -> None:
        if self.fd is None:
            time.sleep(wait)
            return
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the program is gone
            return
        self.last_read = time.time()
        self.last_read_perf = time.perf_counter()
        self.bytes_read += len(chunk)
        data = self._text_decoder.decode(chunk)
        self.raw += data
        data, self._cut = split_incomplete(self._cut + data)
        self.terminal.feed(data)
        while self.terminal.replies:
            self.send(self.terminal.replies.pop(0))

    def step(self, wait: float = 0.01) -> None:
        self.pump(wait)
        for hook in self.hooks:
            hook()

    def until(self, condition: Callable[[], object], what: str, timeout: float = 60.0) -> float:
        """Read (running the hooks) until `condition()` holds; the time.time() of the
        read that made it true (now, if it already held)."""
        if condition():
            return time.time()
        deadline = time.monotonic() + timeout
        while True:
            before = self.bytes_read
            self.step(0.01)
            if self.bytes_read != before and condition():
                return self.last_read
            if condition():
                return time.time()
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}; screen:\n{self.screen()}")
            if self.process.poll() is not None and self.bytes_read == before:
                if condition():  # it ended between the two looks
                    return time.time()
                raise RuntimeError(f"the program exited ({self.process.returncode}): {what}")

    def idle(self, seconds: float) -> None:
        """Keep reading (and running the hooks) for `seconds`: a terminal never stops
        reading, and a program whose output is not read blocks."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.step(min(0.05, max(0.0, end - time.monotonic())))

    def has(self, *texts: str) -> Callable[[], bool]:
        return lambda: all(text in self.screen() for text in texts)


def _decoder() -> Any:
    import codecs

    return codecs.getincrementaldecoder("utf-8")(errors="replace")


# -- /proc --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    """VmRSS of the process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# -- the sandbox's request log ------------------------------------------------------------

_KINDS = (
    ("GET", re.compile(r"/rental/\d+$"), "GET /rental/{id}"),
    ("GET", re.compile(r"/rentals$"), "GET /rentals"),
    ("POST", re.compile(r"/rent$"), "POST /rent"),
    ("POST", re.compile(r"/rental/\d+/cancel$"), "POST /rental/{id}/cancel"),
    ("GET", re.compile(r"/balance$"), "GET /balance"),
    ("GET", re.compile(r"/services/[^/]+/prices$"), "GET /services/{slug}/prices"),
    ("GET", re.compile(r"/services$"), "GET /services"),
    ("GET", re.compile(r"/countries$"), "GET /countries"),
)


def kind_of(record: Mapping[str, Any]) -> str:
    method = str(record["method"]).upper()
    path = str(record["path"]).split("?")[0].rstrip("/")
    for want, pattern, name in _KINDS:
        if method == want and pattern.search(path):
            return name
    return f"{method} {path}"


def request_mix(records: Iterable[Mapping[str, Any]]) -> str:
    counts = Counter(kind_of(r) for r in records)
    if not counts:
        return "no requests"
    total = sum(counts.values())
    parts = [f"{n} {kind}" for kind, n in counts.most_common()]
    return f"{total} requests: " + ", ".join(parts)


# -- figures ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (`share` 0.95: p95); what the project's benchmarks use."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float], unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "no samples"
    f = f"{{:.{digits}f}}"
    return (
        f"p50 {f.format(statistics.median(values) * scale)} {unit}, "
        f"p95 {f.format(percentile(values, 0.95) * scale)} {unit}, "
        f"max {f.format(max(values) * scale)} {unit}"
    )


def working_tree() -> str:
    """The commit measured, and whether the package had uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "rentnumber_tui")
    changed = len(dirty.splitlines())
    return f"commit {head}" + (f" + {changed} uncommitted file(s) in rentnumber_tui/" * bool(dirty))
