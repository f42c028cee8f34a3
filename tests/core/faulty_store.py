"""A store whose chosen operations fail the way a full disk or a damaged file makes
SQLite fail — for flows that must say so and never hang, where a real broken disk
(`tests/fs_faults.py`) cannot be had."""

from __future__ import annotations

import sqlite3
from typing import Any

from rentnumber_tui.core.store import Store

FULL = "database or disk is full"
CORRUPT = "database disk image is malformed"


class FaultyStore(Store):
    """`failing`: method name → the SQLite error text it raises (as a StoreError, as the
    real store would word it)."""

    def __init__(self, *args: Any, failing: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failing = dict(failing or {})

    def _fail_if(self, name: str) -> None:
        text = self.failing.get(name)
        if text is not None:
            raise self._error("write", sqlite3.OperationalError(text))


def _wrap(name: str) -> Any:
    original = getattr(Store, name)

    def method(self: FaultyStore, *args: Any, **kwargs: Any) -> Any:
        self._fail_if(name)
        return original(self, *args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "begin_purchase",
    "put_catalog",
    "load_rentals",
    "save_rental",
    "update_purchase",
    "register_process",
    "sync_leases",
):
    setattr(FaultyStore, _name, _wrap(_name))

__all__ = ["CORRUPT", "FULL", "FaultyStore"]
