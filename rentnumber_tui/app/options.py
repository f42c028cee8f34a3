"""What the App needs to know about the user's settings (filled in by the launcher)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AppOptions:
    demo: bool = False
    bell: bool = True
    clipboard: bool = True
    notifications: bool = True
    default_country: str | None = None
    theme: str | None = None
    #: Shown once at start (e.g. "the key travels over plain HTTP").
    warnings: tuple[str, ...] = ()
    #: Called with the theme name when the user picks one, so it is remembered.
    save_theme: Callable[[str], None] | None = None
