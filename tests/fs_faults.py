"""Real disk failures for tests: a tiny tmpfs that fills up, or one remounted read-only.

Mounting needs privileges (root in a container, as on this project's machines). Where
it is not allowed, `mounted_tmpfs` yields None and the test falls back to a store that
raises the same SQLite errors (see `tests/core/faulty_store.py`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


def _run(*argv: str) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, check=False, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str = "1m") -> Iterator[Path | None]:
    """A tmpfs of `size` mounted at `where` (created), or None where mounting is not
    permitted. Unmounted (lazily, so an open file cannot keep it) on exit."""
    where.mkdir(parents=True, exist_ok=True)
    if os.name != "posix" or not _run(
        "mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)
    ):
        yield None
        return
    try:
        yield where
    finally:
        _run("umount", "-l", str(where))


def remount_read_only(where: Path) -> bool:
    return _run("mount", "-o", "remount,ro", str(where))


def fill(where: Path) -> None:
    """Fill the file system at `where` to the last byte."""
    for name, chunk in (("filler", 4096), ("filler2", 1)):
        fd = os.open(where / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
        finally:
            os.close(fd)
