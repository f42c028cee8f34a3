"""`rentnumber_tui.api` must stay free of Textual (DESIGN.md, Layers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_api_does_not_import_textual() -> None:
    code = (
        "import sys, rentnumber_tui.api, rentnumber_tui.api.client, rentnumber_tui.api.parsing;"
        "assert 'rentnumber_tui.api' in sys.modules;"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_and_errors_do_not_load_httpx() -> None:
    """`api/__init__` loads the client (and so httpx) lazily, for start-up time."""
    code = (
        "import sys; from rentnumber_tui.api import Balance, ApiError, RentalStatus, Priority;"
        "assert 'httpx' not in sys.modules, 'httpx imported eagerly';"
        "from rentnumber_tui.api import RentNumberClient;"
        "assert 'httpx' in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


#: Modules of ours every layer may use: stdlib only, nothing else of ours.
LEAVES = {"rentnumber_tui.masking", "rentnumber_tui.transport", "rentnumber_tui.user_error"}


def top_level_imports(path: Path) -> list[tuple[str, str]]:
    """(module, line) of every import at the top of a file's lines."""
    found = []
    for line in path.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("import", "from") and not line.startswith(" "):
            found.append((words[1], line))
    return found


def test_api_imports_only_httpx_stdlib_and_the_shared_leaves() -> None:
    allowed = {"httpx", "__future__"} | set(sys.stdlib_module_names)
    for path in (ROOT / "rentnumber_tui" / "api").glob("*.py"):
        for module, line in top_level_imports(path):
            top = module.split(".")[0]
            assert top == "" or top in allowed or module in LEAVES, f"{path.name}: {line}"


def test_the_shared_leaves_import_only_stdlib() -> None:
    allowed = {"__future__"} | set(sys.stdlib_module_names)
    for leaf in LEAVES:
        path = ROOT / (leaf.replace(".", "/") + ".py")
        for module, line in top_level_imports(path):
            assert module.split(".")[0] in allowed or module in LEAVES, f"{path.name}: {line}"
