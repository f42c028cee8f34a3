"""The compiled methods of dataclasses, kept between runs as bytecode is.

`dataclasses` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__` (and,
frozen, `__setattr__` and `__delattr__`) as source text and compiles it while the
module is imported: 0.3–0.8 ms a class on Python 3.11, and ~120 classes (ours and
Textual's) are made before the first frame — after importing Textual, the largest
single cost of starting. The same text always compiles to the same code, so, as a
`.pyc` keeps a module's, this file keeps that code beside the package's bytecode
(`__pycache__`, where `importlib` puts this module's own) and hands it to `dataclasses`
instead of compiling again; text it has not seen is compiled as before and added when
the program exits. Nothing else changes: the methods are made from the same text, with
the same globals, by the same `exec`.

It trusts the file as Python trusts a `.pyc` beside it (whoever can write one can write
the other); it writes nothing where Python writes no bytecode
(`sys.dont_write_bytecode`), and an unreadable or foreign file is simply not used.
"""

from __future__ import annotations

import atexit
import dataclasses
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER, cache_from_source
from pathlib import Path
from types import CodeType
from typing import Any

#: Past this many pieces of text the file starts again with this run's only: text the
#: code no longer writes does not pile up for ever.
MAX_ENTRIES = 4000


class CompiledMethods:
    """A text → code map for the `exec` calls `dataclasses` makes, loaded from and saved
    to one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.code: dict[str, CodeType] = _load(path)
        self.used: set[str] = set()
        self.added = 0

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec` as `dataclasses` calls it, with the compiled code looked up first."""
        if isinstance(source, str):
            code = self.code.get(source)
            if code is None:
                # As `exec(text)` in `dataclasses` compiles it: without this module's
                # __future__ flags, at the interpreter's own optimisation level.
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.code[source] = code
                self.added += 1
            self.used.add(source)
            source = code
        exec(source, globals, locals)

    def save(self) -> None:
        """Write the map if this run compiled anything new, atomically (another process
        may be reading it)."""
        if not self.added or sys.dont_write_bytecode:
            return
        code = self.code
        if len(code) > MAX_ENTRIES:
            code = {text: code[text] for text in self.used}
        # As importlib writes a .pyc: a file of this process's, renamed over the old.
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(MAGIC_NUMBER)
                    marshal.dump(code, handle)
                os.replace(temporary, self.path)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        except (OSError, ValueError):
            return  # a read-only install: as Python does with its bytecode
        self.added = 0


def _load(path: Path) -> dict[str, CodeType]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if not data.startswith(MAGIC_NUMBER):
        return {}  # another Python's, or not ours at all
    try:
        loaded = marshal.loads(data[len(MAGIC_NUMBER) :])
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {
        text: code
        for text, code in loaded.items()
        if isinstance(text, str) and isinstance(code, CodeType)
    }


def default_path() -> Path:
    """Beside this module's own bytecode: `__pycache__/dataclass_cache.cpython-311.methods`
    (`sys.pycache_prefix` and the optimisation level honoured, as for a `.pyc`)."""
    return Path(cache_from_source(__file__)).with_suffix(".methods")


def install(path: Path | None = None) -> CompiledMethods:
    """From now on, dataclasses made in this process take their compiled methods from
    the file at `path` (default: `default_path()`), which is brought up to date at exit.
    `dataclasses` finds `exec` among its module's globals before the builtins."""
    methods = CompiledMethods(path or default_path())
    dataclasses.exec = methods.exec  # type: ignore[attr-defined]
    atexit.register(methods.save)
    return methods


def uninstall(methods: CompiledMethods) -> None:
    """`dataclasses` compiles every method again (the builtin `exec`), and `methods` is
    not saved at exit."""
    if vars(dataclasses).get("exec") == methods.exec:
        del dataclasses.exec  # type: ignore[attr-defined]
    atexit.unregister(methods.save)
