"""The layer rules of DESIGN.md: the domain never needs a screen, the sandbox stands
alone, and start-up does not pay for what it does not use."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "rentnumber_tui.api",
        "rentnumber_tui.core.engine",
        "rentnumber_tui.core.store",
        "rentnumber_tui.core.poller",
        "rentnumber_tui.config",
        "rentnumber_tui.credentials",
    ],
)
def test_domain_imports_without_textual(module: str):
    loaded = modules_after(f"import {module}")
    assert "textual" not in loaded
    assert "rentnumber_tui.app" not in loaded


def test_sandbox_imports_nothing_from_the_client():
    loaded = modules_after("import rentnumber_tui.sandbox")
    assert not {m for m in loaded if m.startswith(("rentnumber_tui.api", "rentnumber_tui.core"))}
    assert "uvicorn" not in loaded


def test_cli_does_not_import_the_app_for_version():
    loaded = modules_after("from rentnumber_tui.__main__ import main; main(['--version'])")
    assert "textual" not in loaded and "httpx" not in loaded


def test_tests_share_helpers_through_helper_modules_not_test_modules():
    """A test module is not a library: importing one runs (and collects) its tests
    twice. Shared steps live in helper modules (helpers.py, conftest.py, waiting.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent
    offenders = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.split()
            if len(words) >= 2 and words[0] in ("from", "import"):
                module = words[1]
                if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_"):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
