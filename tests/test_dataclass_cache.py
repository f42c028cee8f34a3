"""The compiled methods of dataclasses kept between runs (`dataclass_cache`): a class
made from the kept code is the class compiled afresh, a second run compiles nothing,
and a file that is not ours, or a place it cannot be written, costs nothing but time."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rentnumber_tui import dataclass_cache
from tests.e2e.pty import program_env

ROOT = Path(__file__).resolve().parents[1]


def make_point() -> type:
    """A frozen, slotted dataclass with a default: every method `dataclasses` writes."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        label: str = "origin"

    return Point


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # As on a person's machine (the shells here set PYTHONDONTWRITEBYTECODE).
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "methods"
    methods = dataclass_cache.install(path)
    yield path
    dataclass_cache.uninstall(methods)


def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the cache compiles from now on."""
    seen: list[str] = []

    def counting(source: str, *args: object, **kwargs: object) -> object:
        seen.append(source)
        return compile(source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(dataclass_cache, "compile", counting, raising=False)
    return seen


def check_point(kind: type) -> None:
    point = kind(3)
    assert point == kind(3, "origin") and point != kind(4)
    assert hash(point) == hash(kind(3))
    assert repr(point).endswith("Point(x=3, label='origin')")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 5


def test_a_class_made_from_the_kept_code_is_the_class_compiled_afresh(
    installed: Path, monkeypatch: pytest.MonkeyPatch
):
    methods = dataclass_cache.CompiledMethods(installed)
    assert methods.code == {}
    check_point(make_point())
    kept = vars(dataclasses)["exec"].__self__
    assert kept.added >= 5  # __init__, __repr__, __eq__, __setattr__, __delattr__, __hash__
    kept.save()

    # The next run: the file read, nothing compiled, the same behaviour.
    again = dataclass_cache.CompiledMethods(installed)
    assert set(again.code) == set(kept.code)
    monkeypatch.setattr(dataclasses, "exec", again.exec)
    compiled = compiles(monkeypatch)
    check_point(make_point())
    assert compiled == []
    assert again.added == 0 and again.used


def test_a_file_that_is_not_ours_is_not_used_and_is_replaced(
    installed: Path, monkeypatch: pytest.MonkeyPatch
):
    for content in (b"", b"not marshal at all", b"\x00" * 64, dataclass_cache.MAGIC_NUMBER + b"x"):
        installed.write_bytes(content)
        assert dataclass_cache.CompiledMethods(installed).code == {}
    methods = dataclass_cache.CompiledMethods(installed)
    monkeypatch.setattr(dataclasses, "exec", methods.exec)
    compiled = compiles(monkeypatch)
    check_point(make_point())
    assert compiled
    methods.save()
    assert set(dataclass_cache.CompiledMethods(installed).code) == set(compiled)


def test_nothing_is_written_where_python_writes_no_bytecode(
    installed: Path, monkeypatch: pytest.MonkeyPatch
):
    methods = dataclass_cache.CompiledMethods(installed)
    monkeypatch.setattr(dataclasses, "exec", methods.exec)
    make_point()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    methods.save()
    assert not installed.exists()


def test_a_place_that_cannot_be_written_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    methods = dataclass_cache.CompiledMethods(blocked / "methods")
    methods.exec("def f():\n return 1\n", {}, {})
    methods.save()  # no exception: the program goes on as with a read-only install
    assert methods.added == 1
    assert not [path for path in tmp_path.rglob("*") if "methods" in path.name]


def test_the_program_keeps_them_beside_its_bytecode_and_the_next_run_compiles_none(
    tmp_path: Path,
):
    """Two real runs of `python -m rentnumber_tui config` (it imports the settings'
    dataclasses): the first writes the file where `importlib` puts this module's
    bytecode (here under PYTHONPYCACHEPREFIX), the second compiles nothing."""
    prefix = tmp_path / "pycache"
    env = program_env(tmp_path / "home", PYTHONPYCACHEPREFIX=str(prefix))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    probe = (
        "import atexit, runpy, sys\n"
        "from rentnumber_tui import dataclass_cache\n"
        "real = dataclass_cache.install\n"
        "def install(path=None):\n"
        "    methods = real(path)\n"
        "    atexit.register(lambda: print('compiled', methods.added, 'used', len(methods.used)))\n"
        "    return methods\n"
        "dataclass_cache.install = install\n"
        "sys.argv = ['rentnumber-tui', 'config']\n"
        "runpy.run_module('rentnumber_tui', run_name='__main__')\n"
    )

    def one_run() -> tuple[int, int]:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        words = done.stdout.split()
        at = words.index("compiled")
        return int(words[at + 1]), int(words[at + 3])

    compiled, used = one_run()
    assert compiled > 0 and used == compiled
    written = list(prefix.rglob("dataclass_cache.*.methods"))
    assert [p.parent.name for p in written] == ["rentnumber_tui"]
    assert oct(written[0].stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert one_run() == (0, used)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
