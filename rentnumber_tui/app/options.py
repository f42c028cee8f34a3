"""What the App needs to know about the user's settings (filled in by the launcher)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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
    #: Filled in while the backend starts (e.g. why no stored key could be used); shown
    #: once it is ready.
    late_warnings: list[str] = field(default_factory=list)
    #: Called with the theme name when the user picks one, so it is remembered.
    save_theme: Callable[[str], None] | None = None
