"""Which key bindings a user keymap (``[keymap]`` in config.toml) may change.

Every `Binding` with an ``id=`` can be given other keys with `App.set_keymap`. The
classes that hold bindings are found, not listed by hand (`binding_owners`), so a new
screen's keys reach the help and the keymap check without anyone remembering to add
it; the README's list is kept complete by a test. Screens are imported only when asked:
start-up pays nothing for a user without a keymap.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
from collections.abc import Iterable, Mapping

from textual.binding import Binding
from textual.dom import DOMNode

#: (section title, class whose own BINDINGS it lists).
Section = tuple[str, type[DOMNode]]

_PACKAGE = "rentnumber_tui.app"
#: How the help titles the classes it knows, in its order; any other class with keys
#: follows, titled from its name ("ConfirmQuitScreen": "Confirm quit").
TITLES = {
    "RentNumberApp": "Everywhere",
    "ServicesScreen": "Services: type to filter, ↑/↓ to move, Enter to open",
    "CountriesScreen": "Countries: type to filter, ↑/↓ to move, Enter to open",
    "PricesScreen": "Price table",
    "OfferTable": "Price table (moving)",
    "ConfirmRentScreen": "Confirm a rent",
    "RentalsScreen": "Live rentals",
    "ConfirmCancelScreen": "Confirm a cancel",
    "HistoryScreen": "History",
    "LoginScreen": "Log in",
    "LogoutScreen": "Log out",
    "HelpScreen": "This help",
}


def _title(cls: type[DOMNode]) -> str:
    words = re.findall(r"[A-Z][a-z0-9]*", cls.__name__.removesuffix("Screen")) or [cls.__name__]
    return " ".join([words[0], *(word.lower() for word in words[1:])])


def _subclasses(cls: type[DOMNode]) -> Iterable[type[DOMNode]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def binding_owners() -> list[Section]:
    """Every class of the app that declares key bindings, in the order the help shows
    them (every module of the app is imported to find them)."""
    package = importlib.import_module(_PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, f"{_PACKAGE}."):
        importlib.import_module(module.name)
    owners = {
        cls
        for cls in _subclasses(DOMNode)
        if cls.__module__.startswith(f"{_PACKAGE}.") and vars(cls).get("BINDINGS")
    }
    order = list(TITLES)
    ranked = sorted(
        owners,
        key=lambda cls: (
            order.index(cls.__name__) if cls.__name__ in TITLES else len(order),
            cls.__module__,
            cls.__name__,
        ),
    )
    return [(TITLES.get(cls.__name__) or _title(cls), cls) for cls in ranked]


def bindings_of(owner: type[DOMNode]) -> Iterable[Binding]:
    """`owner`'s own bindings, one per key (``"f1,question_mark"`` gives two)."""
    return Binding.make_bindings(owner.BINDINGS)


def binding_ids(owners: Iterable[Section] | None = None) -> dict[str, list[str]]:
    """Every binding id → its default keys, in Textual's names (``["f1", "question_mark"]``).

    An id used on several screens (``back``, ``refresh``) is one entry: a keymap changes
    it everywhere."""
    ids: dict[str, list[str]] = {}
    for _title, owner in binding_owners() if owners is None else owners:
        for binding in bindings_of(owner):
            if binding.id is not None:
                keys = ids.setdefault(binding.id, [])
                if binding.key not in keys:
                    keys.append(binding.key)
    return ids


def check_keymap(
    keymap: Iterable[tuple[str, str]], known: Mapping[str, object] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The entries of `keymap` whose id is a binding of the app, and a sentence for
    each that is not (naming it, with the nearest id when there is one)."""
    known = binding_ids() if known is None else known
    good: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap:
        if binding_id in known:
            good[binding_id] = keys
            continue
        hint = difflib.get_close_matches(binding_id, list(known), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        shown = "".join(ch if ch.isprintable() else "?" for ch in binding_id[:40])
        problems.append(
            f"'keymap.{shown}' is not a key binding of rentnumber-tui — ignored"
            f"{suggestion}; the ids are listed in the help (F1) and the README"
        )
    return good, problems
