"""The footer: the keys that matter on this screen first, only whole ones that fit.

Textual's footer lays every key out and lets the line run off the edge: at 120 columns
"F3 History" was cut, at 80 a word was cut in half, and F6 never showed even while
the top bar said "no API key". This one measures each key, drops whole keys from the
end when they do not fit (keeping F1 Help, which lists the rest), and shows F6 while
there is no usable key."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from rentnumber_tui.app import events as app_events
from rentnumber_tui.app.node import AppNode
from rentnumber_tui.core import events as core

#: Below this width the keys are drawn compact (no padding around the key).
COMPACT_BELOW = 100
#: The binding kept when keys must go: it lists every other one.
HELP = "help"
#: Shown (first of the App's) while no key is set or the key was refused.
LOGIN = "login"
QUIT = "quit"

#: What the footer shows: the keys that fit (binding, enabled, tooltip), the palette's
#: key, and whether compact; None before the screen's bindings are known.
FooterKeys = tuple[list[tuple[Binding, bool, str]], ActiveBinding | None, bool] | None


class AppFooter(AppNode, Footer):
    def __init__(self) -> None:
        super().__init__(show_command_palette=True)
        self._width = 0
        #: What the last compose showed (`_keys`): the same again is not recomposed.
        self._keys_shown: FooterKeys = None

    def watch_compact(self, compact: bool) -> None:
        for key in self.query(FooterKey):
            key.compact = compact

    def on_mount(self) -> None:
        self.follow_engine(core.KeyChanged, core.AuthLost, core.EngineReady)

    def on_engine_key_changed(self, message: app_events.KeyChanged) -> None:
        self._keys_changed()

    def on_engine_auth_lost(self, message: app_events.AuthLost) -> None:
        self._keys_changed()

    def on_engine_ready(self, message: app_events.Ready) -> None:
        self._keys_changed()

    def _keys_changed(self) -> None:
        if self.is_attached:
            self.call_after_refresh(self._show_keys)

    def bindings_changed(self, screen: Screen[object]) -> None:
        # Textual's, recomposing only when the keys to show changed: the bindings
        # "change" several times as a screen opens (its focus moves), and every
        # recompose built all the keys again — a tenth of start-up after the first frame.
        self._bindings_ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self.call_after_refresh(self._show_keys)

    def on_resize(self, event: events.Resize) -> None:
        width = event.size.width
        if width != self._width:
            self._width = width
            self.compact = width < COMPACT_BELOW
            self.call_after_refresh(self._show_keys)

    async def _show_keys(self) -> None:
        if self.is_attached and self._keys_shown != self._keys():
            await self.recompose()

    def _needs_login(self) -> bool:
        status = self.app.engine.status()
        return self.app.engine.ready and (not status.has_key or bool(status.key_refused))

    def _chosen(self) -> list[tuple[Binding, bool, str]]:
        """One entry per action: F6 while it is needed, the screen's, the App's."""
        app = self.app
        login = self._needs_login()
        screen_keys: list[tuple[Binding, bool, str]] = []
        app_keys: list[tuple[Binding, bool, str]] = []
        seen: set[str] = set()
        for namespace, binding, enabled, tooltip in self.screen.active_bindings.values():
            wanted = binding.show or (login and binding.id == LOGIN)
            if not wanted or binding.action in seen:
                continue
            seen.add(binding.action)
            entry = (binding, enabled, tooltip)
            (app_keys if namespace is app else screen_keys).append(entry)
        # Without a usable key nothing works: F6 before everything. Quit goes last.
        login_keys = [e for e in app_keys if e[0].id == LOGIN]
        app_keys = [e for e in app_keys if e[0].id != LOGIN]
        app_keys.sort(key=lambda e: e[0].id == QUIT)
        return login_keys + screen_keys + app_keys

    def _width_of(self, binding: Binding) -> int:
        key = cell_len(self.app.get_key_display(binding))
        description = cell_len(binding.description)
        # FooterKey's padding (see its CSS), plus the compact footer's margin.
        return key + description + (2 if self.compact else 3)

    def _keys(self) -> FooterKeys:
        """What the footer would show now (`FooterKeys`)."""
        if not self._bindings_ready:
            return None
        app = self.app
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        room = self.size.width or app.size.width
        if palette is not None:
            room -= self._width_of(palette.binding) + 2  # its border and padding
        chosen = self._chosen()
        fitted: list[tuple[Binding, bool, str]] = []
        used = 0
        for entry in chosen:
            width = self._width_of(entry[0])
            if used + width > room:
                break
            fitted.append(entry)
            used += width
        if len(fitted) < len(chosen) and not any(b.id == HELP for b, _, _ in fitted):
            keep = next((e for e in chosen if e[0].id == HELP), None)
            if keep is not None:
                while fitted and used + self._width_of(keep[0]) > room:
                    used -= self._width_of(fitted.pop()[0])
                fitted.append(keep)
        return fitted, palette, self.compact

    def compose(self) -> ComposeResult:
        keys = self._keys_shown = self._keys()
        if keys is None:
            return
        app = self.app
        fitted, palette, _ = keys
        self.styles.grid_size_columns = len(fitted)
        for binding, enabled, tooltip in fitted:
            key = FooterKey(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            )
            # Set, not `data_bind`: a data binding is a watcher kept on this footer for
            # as long as it lives, and the footer recomposes whenever the keys change
            # (each return to a screen): every key it ever drew stayed alive.
            key.compact = self.compact
            yield key
        if palette is not None:
            yield FooterKey(
                palette.binding.key,
                app.get_key_display(palette.binding),
                palette.binding.description,
                palette.binding.action,
                classes="-command-palette",
                disabled=not palette.enabled,
                tooltip=palette.binding.tooltip or palette.binding.description,
            )
