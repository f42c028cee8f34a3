"""The engine's events as Textual messages, and the relay that posts them.

The engine calls its subscribers on its own thread; `post_message` is thread-safe, so a
node that wants to hear the engine subscribes a relay (`EngineRelay`), and each event
arrives as a message in its own queue, handled by an ordinary `on_engine_*` method.
Messages do not bubble: each node that cares has subscribed itself, and unsubscribes
when it goes away (a closed screen is not kept alive by a subscription).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump

from rentnumber_tui.api.models import Balance, Country, Service
from rentnumber_tui.core import events as core
from rentnumber_tui.core.rentals import TrackedRental

log = logging.getLogger("rentnumber_tui.app")


class EngineMessage(Message, bubble=False, namespace="engine"):
    """Base of the engine's messages. Textual reads `bubble` and `namespace` per class
    (they are not inherited), so every subclass repeats them: handlers are named
    `on_engine_...` and nothing bubbles."""


@dataclass
class Ready(EngineMessage, bubble=False, namespace="engine"):
    """The engine is up (stored rentals restored)."""


@dataclass
class RentalChanged(EngineMessage, bubble=False, namespace="engine"):
    rental: TrackedRental
    new_code: bool = False


@dataclass
class RentalPollFailed(EngineMessage, bubble=False, namespace="engine"):
    rental_id: int
    text: str


@dataclass
class AuthLost(EngineMessage, bubble=False, namespace="engine"):
    text: str


@dataclass
class KeyChanged(EngineMessage, bubble=False, namespace="engine"):
    has_key: bool


@dataclass
class BalanceChanged(EngineMessage, bubble=False, namespace="engine"):
    balance: Balance


@dataclass
class HealthChanged(EngineMessage, bubble=False, namespace="engine"):
    state: str
    text: str | None = None


@dataclass
class CatalogUpdated(EngineMessage, bubble=False, namespace="engine"):
    services: tuple[Service, ...] | None = None
    countries: tuple[Country, ...] | None = None


@dataclass
class CatalogFailed(EngineMessage, bubble=False, namespace="engine"):
    text: str


@dataclass
class RentalReplaced(EngineMessage, bubble=False, namespace="engine"):
    rental_id: int
    text: str


@dataclass
class PicksChanged(EngineMessage, bubble=False, namespace="engine"):
    """Recent choices or favourites changed."""


@dataclass
class PurchaseUpdate(EngineMessage, bubble=False, namespace="engine"):
    update: core.PurchaseUpdate


@dataclass
class RowsSkipped(EngineMessage, bubble=False, namespace="engine"):
    text: str


@dataclass
class StoreFailed(EngineMessage, bubble=False, namespace="engine"):
    text: str


def to_message(event: core.EngineEvent) -> EngineMessage:
    match event:
        case core.EngineReady():
            return Ready()
        case core.RentalChanged(rental, new_code):
            return RentalChanged(rental, new_code)
        case core.RentalPollFailed(rental_id, message):
            return RentalPollFailed(rental_id, message)
        case core.AuthLost(message):
            return AuthLost(message)
        case core.KeyChanged(has_key):
            return KeyChanged(has_key)
        case core.BalanceChanged(balance):
            return BalanceChanged(balance)
        case core.HealthChanged(state, message):
            return HealthChanged(state, message)
        case core.CatalogUpdated(services, countries):
            return CatalogUpdated(services, countries)
        case core.CatalogFailed(message):
            return CatalogFailed(message)
        case core.PicksChanged():
            return PicksChanged()
        case core.RentalReplaced(rental_id, message):
            return RentalReplaced(rental_id, message)
        case core.PurchaseUpdate():
            return PurchaseUpdate(event)
        case core.RowsSkipped(message):
            return RowsSkipped(message)
        case core.StoreFailed(message):
            return StoreFailed(message)
    raise TypeError(f"no message for {type(event).__name__}")  # pragma: no cover


class EngineRelay:
    """Posts the engine's events (of `kinds`, or all) to `target` as messages, from the
    engine's thread, until `close()`."""

    def __init__(
        self,
        target: MessagePump,
        subscribe: Callable[[Callable[[core.EngineEvent], None]], Callable[[], None]],
        kinds: tuple[type[core.EngineEvent], ...] = (),
    ) -> None:
        self._target = target
        self._kinds = kinds
        self._unsubscribe: Callable[[], None] | None = subscribe(self._deliver)

    def add(self, kinds: tuple[type[core.EngineEvent], ...]) -> None:
        """Hear `kinds` as well (no kinds: every event)."""
        self._kinds = (*self._kinds, *kinds) if self._kinds and kinds else ()

    def _deliver(self, event: core.EngineEvent) -> None:
        if self._kinds and not isinstance(event, self._kinds):
            return
        target = self._target
        try:
            target.post_message(to_message(event))
        except Exception:  # the node is going away: it needs nothing more
            log.debug("dropped an engine event for a closing node", exc_info=True)
            self.close()

    def close(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            with contextlib.suppress(Exception):
                unsubscribe()
