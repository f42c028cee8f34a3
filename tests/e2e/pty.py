"""The real program on a pseudo-terminal, for end-to-end tests: send keys, read back the
screen it draws (through the small emulator in `vt.py`), kill it like a crash would."""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.vt import Terminal, split_incomplete

ENTER = "\r"
ESCAPE = "\x1b"
F2 = "\x1bOQ"
F3 = "\x1bOR"
F4 = "\x1bOS"
CTRL_Q = "\x11"


def program_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user whose files all live under `home` (no keyring)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RENTNUMBER_", "XDG_", "PYTHON_KEYRING", "DBUS"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        TERM="xterm-256color",
        COLORTERM="truecolor",
        **extra,
    )
    return env


def program(base_url: str) -> list[str]:
    return [sys.executable, "-m", "rentnumber_tui", "--base-url", base_url]


#: Every program started, so a test that fails half-way leaves none running.
RUNNING: list[Pty] = []


def kill_leftovers() -> None:
    """SIGKILL every program a test started and did not end."""
    while RUNNING:
        app = RUNNING.pop()
        if app.process.poll() is None:
            app.kill()


class Pty:
    """A process on a pty of `size` (columns, rows), in its own session."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        # Textual asks shutil.get_terminal_size, which believes $COLUMNS/$LINES first:
        # a value inherited from the test runner laid the program out at 80×25.
        env = {**env, "COLUMNS": str(size[0]), "LINES": str(size[1])}
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.fd: int | None = master
        self.raw = ""
        self.terminal = Terminal(*size)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        RUNNING.append(self)

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 30) -> None:
        """Read the output until `condition()` holds (it usually looks at the screen)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")
            if self.process.poll() is not None and not self._readable(0):
                raise AssertionError(f"the program exited ({self.process.returncode}) {what}")
            self.pump(0.05)

    def _readable(self, wait: float) -> bool:
        if self.fd is None:
            return False
        ready, _, _ = select.select([self.fd], [], [], wait)
        return bool(ready)

    def pump(self, wait: float) -> None:
        if not self._readable(wait):
            return
        assert self.fd is not None
        try:
            data = self._decoder.decode(os.read(self.fd, 65536))
        except OSError:  # the program is gone
            return
        self.raw += data
        # Feed the emulator whole escape sequences only (a read may stop half-way).
        data, self._pending = split_incomplete(self._pending + data)
        self.terminal.feed(data)
        while self.terminal.replies:
            self.send(self.terminal.replies.pop(0))

    def screen(self) -> str:
        return self.terminal.text()

    def shows(self, *texts: str) -> Callable[[], bool]:
        return lambda: all(text in self.screen() for text in texts)

    def send(self, keys: str) -> None:
        assert self.fd is not None
        os.write(self.fd, keys.encode())

    def paste(self, text: str) -> None:
        """Bracketed paste, as a terminal sends pasted text."""
        self.send("\x1b[200~" + text + "\x1b[201~")

    def type(self, text: str) -> None:
        for char in text:
            self.send(char)

    def signal(self, signum: int) -> None:
        """Send `signum` to the program's whole process group (gone already: nothing)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> int:
        """SIGKILL, as a crash or `kill -9` would: no clean-up runs."""
        self.signal(signal.SIGKILL)
        return self.finish()

    def hang_up(self) -> int:
        """The terminal goes away (closed window, dropped SSH): SIGHUP and a dead pty."""
        self.signal(signal.SIGHUP)
        self.close_terminal()
        return self.finish()

    def quit(self) -> None:
        """Ctrl+Q; and Ctrl+Q again when the program asks first (rentals waiting)."""
        self.send(CTRL_Q)
        asks = self.shows("Quit rentnumber-tui?")
        self.wait_for(lambda: self.process.poll() is not None or asks(), "the program to quit")
        if self.process.poll() is None:
            self.send(CTRL_Q)

    def close_terminal(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def finish(self, timeout: float = 20) -> int:
        """Wait for the program to end (SIGKILL after `timeout`); its exit status."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.pump(0.05)
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
        code = self.process.wait()
        while self._readable(0):  # drain what is left
            before = len(self.raw)
            self.pump(0)
            if len(self.raw) == before:
                break
        self.close_terminal()
        return code
