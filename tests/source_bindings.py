"""The binding ids written in the app's source, read without importing it: what the
README and the help must list (a test importing the app could miss a class nobody
registered)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "rentnumber_tui" / "app"


def binding_ids_in_source(root: Path = APP) -> dict[str, str]:
    """Every ``Binding(..., id="...")`` under `root`: id → the file that has it."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "Binding":
                continue
            for keyword in node.keywords:
                if keyword.arg == "id":
                    assert isinstance(keyword.value, ast.Constant), f"{path}: id= not a literal"
                    found.setdefault(str(keyword.value.value), path.name)
    return found
