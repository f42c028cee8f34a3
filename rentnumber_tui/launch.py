"""The composition root: settings, key, store, client and engine, then the App.

Kept apart from `__main__` so tests and benchmarks can build the same app in-process.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from rentnumber_tui.core.engine import Engine
from rentnumber_tui.core.poller import PollSettings
from rentnumber_tui.core.replace import ReplacePolicy
from rentnumber_tui.core.store import Store, StoreError

if TYPE_CHECKING:
    from rentnumber_tui.api.client import RentNumberClient
    from rentnumber_tui.api.models import Rows, Service
    from rentnumber_tui.api.scheduler import RequestScheduler
    from rentnumber_tui.app.options import AppOptions, StorageInfo
    from rentnumber_tui.config import Settings
    from rentnumber_tui.credentials import CredentialStore
    from rentnumber_tui.sandbox import Sandbox

#: Stands in for a host name in demo mode; nothing is ever resolved or sent there.
DEMO_BASE_URL = "http://127.0.0.1/api/v1"


#: `sandbox_client_factory(api_key=...)` default: the sandbox's demo account.
DEMO_KEY = "demo"


def sandbox_client_factory(
    sandbox: Sandbox, *, api_key: str | None = DEMO_KEY, **client_options: Any
) -> Callable[[], RentNumberClient]:
    """Clients that talk to `sandbox` in-process (httpx.ASGITransport) as the demo account
    (or `api_key`; None: no key, as before a login); `client_options` go to
    `RentNumberClient` (a scheduler, a timeout, a server clock)."""

    def factory() -> RentNumberClient:
        # Called on the engine thread: httpx loads there, not before the first frame.
        import httpx

        from rentnumber_tui.api.client import RentNumberClient
        from rentnumber_tui.sandbox import DEMO_API_KEY

        return RentNumberClient(
            api_key=DEMO_API_KEY if api_key == DEMO_KEY else api_key,
            base_url=DEMO_BASE_URL,
            transport=httpx.ASGITransport(app=sandbox),
            **client_options,
        )

    return factory


def demo_sandbox(*, seed: int | None = None, sms_delay: float | None = None) -> Sandbox:
    """The demo's in-process sandbox (its catalogue is built on first use)."""
    from rentnumber_tui.sandbox import Sandbox, SandboxConfig

    delay = 8.0 if sms_delay is None else max(0.0, sms_delay)
    return Sandbox(
        SandboxConfig(
            seed=1 if seed is None else seed,
            sms_delay=(delay / 2, delay * 1.5),
            no_sms_probability=0.1,
        )
    )


def demo_engine(
    *,
    seed: int | None = None,
    sms_delay: float | None = None,
    store: Store | None = None,
    poll_settings: PollSettings | None = None,
    sandbox: Sandbox | None = None,
) -> Engine:
    """An engine wired to a fresh in-process sandbox (no key, no network) — `sandbox`,
    or one built on the engine thread, with the client, off the first frame's path."""

    def client() -> RentNumberClient:
        box = sandbox if sandbox is not None else demo_sandbox(seed=seed, sms_delay=sms_delay)
        return sandbox_client_factory(box)()

    return Engine(client, store or Store(":memory:", "demo"), poll_settings=poll_settings)


def show_demo_services(store: Store, sandbox: Sandbox) -> None:
    """Put what the sandbox's `GET /services` answers in `store`'s catalog cache, read
    as the client reads an answer: the demo's first frame shows the list, as a warm
    start's does, instead of waiting for the engine thread to load httpx and ask (the
    engine asks as soon as it starts, and the list follows its answer)."""
    from rentnumber_tui.api import parsing
    from rentnumber_tui.core import catalog

    answer = parsing.loads(sandbox.services_body().decode())
    services = parsing.parse_services(answer)
    store.put_catalog(catalog.SERVICES, catalog.dump_services(tuple(services)))


def demo_app_parts(
    *, seed: int | None = None, sms_delay: float | None = None
) -> tuple[Engine, AppOptions]:
    """`--demo`: the engine on a fresh sandbox, its services already in the (in-memory)
    cache, and the person's own keys and signals."""
    sandbox = demo_sandbox(seed=seed, sms_delay=sms_delay)
    store = Store(":memory:", "demo")
    show_demo_services(store, sandbox)
    return demo_engine(store=store, sandbox=sandbox), _demo_options()


def run_app(options: argparse.Namespace) -> int:
    if options.demo:
        engine, app_options = demo_app_parts(seed=options.seed, sms_delay=options.sms_delay)
    else:
        # Before Textual loads: a first start's services are asked for meanwhile.
        built = _real_engine(options, look_early=True)
        if isinstance(built, str):
            print(built, file=sys.stderr)
            return 2
        engine, app_options = built
    from rentnumber_tui.app.app import RentNumberApp

    app = RentNumberApp(engine, app_options)
    try:
        app.run()
    finally:
        engine.stop()
        engine.store.close()  # checkpointed: the data is in the file, not only the -wal
    if app.crash_report is not None:
        print(f"rentnumber-tui crashed; the report is in {app.crash_report}", file=sys.stderr)
    return app.return_code or 0


def _export_dir() -> Path:
    from rentnumber_tui import locations

    return locations.export_dir()


def _crash_dir() -> Path:
    from rentnumber_tui import locations

    return locations.state_dir() / "crashes"


@dataclass
class Built:
    """An engine for the real service and what the front end should say about it."""

    engine: Engine
    settings: Settings
    #: Sentences to show at start (settings problems, an insecure transport).
    warnings: list[str]
    #: Filled in on the engine thread while the key is loaded (why none could be used).
    key_notes: list[str]
    #: The insecure-transport warning to keep on screen, if the key travels in clear.
    insecure: str | None


def build_engine(options: argparse.Namespace) -> Built | str:
    """The engine for the real service — settings, transport rule, store, shared
    budget, key — or a message saying why it cannot start. The TUI and the command line
    both start here, so they share one journal, one budget and one key storage."""
    from rentnumber_tui import config, locations
    from rentnumber_tui.transport import BaseUrlError, Transport, check_transport

    settings, problems = config.load_settings(profile=options.profile)
    try:
        base_url = config.resolve_base_url(settings, options.base_url)
    except BaseUrlError as error:
        return f"rentnumber-tui: {error.message}."
    allow_insecure = options.allow_insecure_http or settings.allow_insecure_http
    transport = check_transport(base_url, allow_insecure)
    if not transport.ok:
        return transport.explanation or "The base URL is not allowed."
    warnings = [*problems]
    if transport.warning:
        warnings.append(transport.warning)
    try:
        store = Store(locations.store_file(), f"{options.profile}|{base_url}")
    except StoreError as error:
        return error.message

    key_notes: list[str] = []
    # Only an explicit override reaches here for a remote http:// URL.
    insecure = transport.verdict is Transport.INSECURE

    def client() -> RentNumberClient:
        # On the engine thread: the keyring is slow to load and may block.
        from rentnumber_tui.api.client import RentNumberClient

        return RentNumberClient(
            api_key=_load_key(options.profile, key_notes),
            base_url=base_url,
            allow_insecure_http=insecure,
            scheduler=_shared_scheduler(base_url, key_notes),
        )

    def first_look() -> Rows[Service] | None:
        # The services before httpx is loaded, in the budget every process shares.
        from rentnumber_tui.api.first_look import first_services

        scheduler = _look_scheduler(base_url)
        return None if scheduler is None else first_services(base_url, scheduler)

    engine = Engine(
        client,
        store,
        poll_settings=PollSettings(slow_interval=settings.poll_interval),
        rent_grace=settings.rent_grace,
        replace_policy=ReplacePolicy(
            enabled=settings.auto_replace,
            after=settings.replace_after,
            attempts=settings.replace_attempts,
            max_price=settings.replace_max_price,
        ),
        first_look=first_look,
    )
    return Built(engine, settings, warnings, key_notes, transport.warning if insecure else None)


def _real_engine(
    options: argparse.Namespace, *, look_early: bool = False
) -> tuple[Engine, AppOptions] | str:
    """The engine and the App's options for the real service, or why it cannot start.
    `look_early`: on a first start, ask for the services at once (`Engine.look_early`)."""
    from rentnumber_tui.app.options import AppOptions

    built = build_engine(options)
    if isinstance(built, str):
        return built
    if look_early:
        built.engine.look_early()
    settings = built.settings
    keymap, keymap_problems = checked_keymap(settings)
    app_options = AppOptions(
        **_personal_options(settings, keymap),
        default_country=settings.default_country,
        profile=options.profile,
        key_storage=CredentialKeyStorage(options.profile),
        insecure_transport=built.insecure,
        warnings=(*built.warnings, *keymap_problems),
        late_warnings=built.key_notes,
        save_theme=_save_theme,
    )
    return built.engine, app_options


def _demo_options() -> AppOptions:
    """The demo uses the person's own keys, theme and signals from the settings file
    (so a keymap can be tried there), never its server, key or money settings."""
    from rentnumber_tui import config
    from rentnumber_tui.app.options import AppOptions

    settings, problems = config.load_settings()
    keymap, keymap_problems = checked_keymap(settings)
    return AppOptions(
        **_personal_options(settings, keymap),
        demo=True,
        profile="demo",
        warnings=(*problems, *keymap_problems),
    )


class _Personal(TypedDict):
    bell: bool
    clipboard: bool
    notifications: bool
    auto_copy: bool
    desktop_notifications: str
    theme: str | None
    keymap: tuple[tuple[str, str], ...]
    crash_dir: Path
    export_dir: Path


def _personal_options(settings: Settings, keymap: dict[str, str]) -> _Personal:
    """The App's options that follow the person, not the account: signals, theme, keys
    and where files go. The demo and the real service take them alike."""
    return {
        "bell": settings.bell,
        "clipboard": settings.clipboard,
        "notifications": settings.notifications,
        "auto_copy": settings.auto_copy,
        "desktop_notifications": settings.desktop_notifications,
        "theme": settings.theme,
        "keymap": tuple(keymap.items()),
        "crash_dir": _crash_dir(),
        "export_dir": _export_dir(),
    }


def checked_keymap(settings: Settings) -> tuple[dict[str, str], list[str]]:
    """The settings' `[keymap]` entries whose id is one of the app's bindings, and a
    sentence (naming the file and the id) for each that is not. The app's screens are
    imported only when there is a keymap to check."""
    if not settings.keymap:
        return {}, []
    from rentnumber_tui import locations
    from rentnumber_tui.app.keymap import check_keymap

    keymap, problems = check_keymap(settings.keymap)
    return keymap, [f"{locations.config_file()}: {problem}" for problem in problems]


def _shared_scheduler(base_url: str, notes: list[str]) -> RequestScheduler:
    """The request budget every process of this program shares for `base_url` (a file
    in the data directory); this process's own where it cannot be shared."""
    from rentnumber_tui import locations
    from rentnumber_tui.api.scheduler import default_scheduler
    from rentnumber_tui.api.shared_budget import shared_scheduler

    try:
        return shared_scheduler(locations.budget_file(base_url))
    except OSError as error:
        notes.append(
            "The request budget cannot be shared with other windows of rentnumber-tui "
            f"({error.strerror or error}); keep to one window on this account, or the "
            "account may be throttled."
        )
        return default_scheduler()


def _look_scheduler(base_url: str) -> RequestScheduler | None:
    """The first look's scheduler, on the budget the client's shares with every other
    process (the look may run on a thread and event loop of its own, before the client
    exists); None where the budget cannot be shared: the client asks then."""
    from rentnumber_tui import locations
    from rentnumber_tui.api.shared_budget import companion_scheduler

    try:
        return companion_scheduler(locations.budget_file(base_url))
    except OSError:
        return None


def _save_theme(theme: str) -> None:
    """Remember the theme in config.toml (raises `ConfigError`, whose message the app
    shows)."""
    from rentnumber_tui import config

    config.save_theme(theme)


def _load_key(profile: str, notes: list[str]) -> str | None:
    """The key from $RENTNUMBER_API_KEY, the keyring or the key file; why not, in `notes`."""
    from rentnumber_tui.credentials import CredentialError, CredentialStore

    try:
        loaded = CredentialStore(profile).load_verbose()
    except CredentialError as error:
        notes.append(error.message)
        return None
    if loaded.key is None:
        # "No keyring on this machine" is normal on a server: the login screen says it
        # when a key is needed. Failures (a keyring that errs, an unreadable file) are not.
        notes.extend(note for note in loaded.notes if not note.startswith("keyring not used"))
        return None
    return str(loaded.key.key)


class CredentialKeyStorage:
    """The app's `KeyStorage` on top of `credentials.CredentialStore`: translates its
    errors into the app's, so the app layer never imports credentials or keyring. The
    store (and keyring) is created on first use, on a worker thread."""

    def __init__(
        self, profile: str, store_factory: Callable[[], CredentialStore] | None = None
    ) -> None:
        self.profile = profile
        self._store_factory = store_factory
        self._store: CredentialStore | None = None

    def _credentials(self) -> CredentialStore:
        if self._store is None:
            if self._store_factory is not None:
                self._store = self._store_factory()
            else:
                from rentnumber_tui.credentials import CredentialStore

                self._store = CredentialStore(self.profile)
        return self._store

    def describe(self) -> StorageInfo:
        from rentnumber_tui.app.options import StorageInfo
        from rentnumber_tui.credentials import ENV_KEY, env_key_present

        store = self._credentials()
        status = store.keyring_status()
        note = (
            f"{ENV_KEY} is set in the environment: at the next start it wins over a saved key."
            if env_key_present()
            else None
        )
        if status.usable:
            return StorageInfo(where=store.where_it_would_go(), note=note)
        return StorageInfo(
            where=store.where_it_would_go(),
            needs_consent=True,
            path=str(store.key_file_path),
            reason=status.reason,
            note=note,
        )

    def save(self, key: str, *, allow_file: bool = False) -> str:
        from rentnumber_tui.app.options import ConsentNeeded, KeyStorageError
        from rentnumber_tui.credentials import CredentialError, NeedsConsent

        try:
            return self._credentials().save(key, allow_file=allow_file)
        except NeedsConsent as need:
            raise ConsentNeeded(need.message, str(need.path), need.reason) from None
        except CredentialError as error:
            raise KeyStorageError(error.message) from None

    def delete(self) -> str:
        from rentnumber_tui.app.options import KeyStorageError
        from rentnumber_tui.credentials import ENV_KEY, DeleteIncomplete, env_key_present

        try:
            removed = self._credentials().delete()
        except DeleteIncomplete as error:
            raise KeyStorageError(error.message) from None
        if removed:
            text = f"Removed the key of profile '{self.profile}' from {' and '.join(removed)}."
        else:
            text = f"There was no saved key for profile '{self.profile}'."
        if env_key_present():
            text += f" {ENV_KEY} is still set in the environment: the next start uses it."
        return text
