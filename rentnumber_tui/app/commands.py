"""The command palette's list of what the current screen can do: built from its key
bindings (and those of the widget in focus), so every action is found by name or by
what it does, with its key, and nothing has to be listed twice."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


@dataclass
class _Action:
    binding: Binding
    namespace: DOMNode
    help: str
    keys: list[str] = field(default_factory=list)

    @property
    def help_text(self) -> str:
        return f"{self.help} ({' / '.join(self.keys)})"


class ScreenActions(Provider):
    """The App's own commands come from `get_system_commands`; these are the screen's."""

    def _actions(self) -> list[_Action]:
        app = self.app
        found: dict[tuple[int, str], _Action] = {}
        for namespace, binding, enabled, tooltip in self.screen.active_bindings.values():
            if namespace is app or not enabled or not binding.description:
                continue
            action = found.setdefault(
                (id(namespace), binding.action),
                _Action(binding, namespace, tooltip or binding.description),
            )
            action.keys.append(app.get_key_display(binding))
        return list(found.values())

    def _run(self, action: _Action) -> partial[Coroutine[Any, Any, bool]]:
        return partial(self.app.run_action, action.binding.action, action.namespace)

    async def discover(self) -> Hits:
        for action in self._actions():
            yield DiscoveryHit(action.binding.description, self._run(action), help=action.help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in self._actions():
            name = action.binding.description
            # Found by what it does too: "sort" finds "Price" (Sort by price).
            score = max(matcher.match(name), matcher.match(action.help) * 0.9)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._run(action), help=action.help_text)
