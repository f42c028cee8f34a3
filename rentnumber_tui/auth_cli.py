"""`rentnumber-tui login` / `logout` on the command line.

    login_main(profile, base_url)  # prompt (no echo) or one line of piped stdin,
                                   # GET /balance, then save: keyring, or file with consent
    logout_main(profile)           # remove the key from the keyring and the file
    auth_main("login", argv)       # the same behind an argparse parser, for __main__
    await check_key(key, base_url) # login's check with the server (no saving)

Nothing here prints, logs or raises the key; only its mask (``rn_…c4f2``) is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from rentnumber_tui.config import load_settings, resolve_base_url
from rentnumber_tui.credentials import (
    CredentialError,
    CredentialStore,
    DeleteIncomplete,
    InvalidKey,
    NeedsConsent,
    env_key_present,
    normalize_key,
)
from rentnumber_tui.locations import DEFAULT_PROFILE, InvalidProfile, validate_profile
from rentnumber_tui.masking import mask_key, redact
from rentnumber_tui.transport import BaseUrlError, check_transport

#: ``client_factory(api_key=..., base_url=...)`` → an object with ``async balance()``
#: and ``async aclose()`` (a `RentNumberClient`).
ClientFactory = Callable[..., Any]

EXIT_OK = 0
EXIT_FAILED = 1  # refused key, nothing saved, store failure
EXIT_USAGE = 2  # bad input or configuration
EXIT_CANCELLED = 130


@dataclass(frozen=True)
class KeyCheck:
    """The result of `check_key`. `message` is a sentence for the user (no key in it)."""

    ok: bool
    message: str
    #: The server answered 401: the key is wrong or revoked.
    unauthorized: bool = False
    #: The `Balance` when ok.
    balance: Any = None


def _default_client_factory(
    *, api_key: str, base_url: str, allow_insecure_http: bool = False
) -> Any:
    from rentnumber_tui.api import RentNumberClient

    return RentNumberClient(
        api_key=api_key, base_url=base_url, allow_insecure_http=allow_insecure_http
    )


def _money(balance: Any) -> str:
    try:
        from rentnumber_tui.core.money import format_money

        return format_money(balance.amount, balance.currency)
    except Exception:
        return f"{balance.amount} {balance.currency}"


async def check_key(
    key: str,
    base_url: str,
    *,
    allow_insecure: bool = False,
    client_factory: ClientFactory | None = None,
) -> KeyCheck:
    """Check `key` with ``GET /balance`` before anything is saved. Applies the transport
    rule first (nothing is sent to a refused URL). Never raises for a failed check."""
    from rentnumber_tui.api.errors import ApiError, Unauthorized

    verdict = check_transport(base_url, allow_insecure)
    if not verdict.ok:
        return KeyCheck(False, verdict.explanation or "Refusing that API address.")
    factory = client_factory or _default_client_factory
    secrets = [key]
    # The transport rule was applied above; an allowed insecure URL needs the client's
    # own override too.
    extra = {"allow_insecure_http": True} if allow_insecure and client_factory is None else {}
    try:
        client = factory(api_key=key, base_url=base_url, **extra)
    except Exception as exc:
        return KeyCheck(False, f"Could not check the key: {redact(_brief(exc), secrets)}.")
    try:
        balance = await client.balance()
    except Unauthorized:
        return KeyCheck(
            False,
            "The server refused this key (401 Unauthorized): it is wrong or has been revoked.",
            unauthorized=True,
        )
    except ApiError as exc:
        reason = redact(exc.message, secrets).rstrip(".")
        return KeyCheck(False, f"Could not check the key: {reason}.")
    except Exception as exc:
        return KeyCheck(False, f"Could not check the key: {redact(_brief(exc), secrets)}.")
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return KeyCheck(True, f"The key works (balance {_money(balance)}).", balance=balance)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def login_main(
    profile: str = DEFAULT_PROFILE,
    base_url: str | None = None,
    *,
    allow_file: bool = False,
    allow_insecure: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    client_factory: ClientFactory | None = None,
    store: CredentialStore | None = None,
) -> int:
    """`rentnumber-tui login`: read a key, check it with ``GET /balance``, save it.

    The key is read with `getpass.getpass` (no echo) when stdin is a terminal, else as one
    line of stdin. `base_url` None: ``$RENTNUMBER_BASE_URL``, the profile's settings,
    the public API. `allow_file` (``--store-in-file``) allows the fallback file without
    asking; without it and without a usable keyring, the key is still checked first (so
    the person learns whether it works), then a terminal user is asked ``[y/N]`` and
    piped input is told to run again with ``--store-in-file``. `allow_insecure`
    (``--allow-insecure-http``) permits a non-loopback http:// URL, with a warning.
    Synchronous (runs its own event loop): do not call it from a running loop (the
    login screen checks the key through the backend instead).
    Returns 0 saved, 1 refused/failed (nothing saved), 2 bad input (or a good key that
    needs ``--store-in-file``), 130 cancelled.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr

    def say(text: str) -> None:
        print(text, file=stderr, flush=True)

    try:
        validate_profile(profile)
    except InvalidProfile as exc:
        say(f"rentnumber-tui login: {exc.message}")
        return EXIT_USAGE
    settings, problems = load_settings(profile=profile)
    for problem in problems:
        say(f"warning: {problem}")
    try:
        url = resolve_base_url(settings, base_url)
    except BaseUrlError as error:
        say(f"rentnumber-tui login: {error.message}. Nothing was saved.")
        return EXIT_USAGE
    allow_insecure = allow_insecure or settings.allow_insecure_http
    verdict = check_transport(url, allow_insecure)
    if not verdict.ok:
        say(f"rentnumber-tui login: {verdict.explanation} Nothing was saved.")
        return EXIT_USAGE
    if verdict.warning:
        say(f"warning: {verdict.warning}")

    store = store if store is not None else CredentialStore(profile)
    interactive = _isatty(stdin)

    try:
        if interactive:
            raw = getpass.getpass(f"API key for profile '{profile}' (input hidden): ")
        else:
            raw = stdin.readline()
    except (KeyboardInterrupt, EOFError):
        say("\nCancelled. Nothing was saved.")
        return EXIT_CANCELLED
    if not raw.strip():
        say("No key was given. Nothing was saved.")
        return EXIT_USAGE
    try:
        key = normalize_key(raw)
    except InvalidKey as exc:
        say(f"{exc.message}. Nothing was saved.")
        return EXIT_USAGE
    del raw
    masked = mask_key(key)

    say(f"Checking the key {masked} with {verdict.url} …")
    result = asyncio.run(
        check_key(key, url, allow_insecure=allow_insecure, client_factory=client_factory)
    )
    if not result.ok:
        say(f"{result.message} Nothing was saved.")
        return EXIT_FAILED

    try:
        try:
            where = store.save(key, allow_file=allow_file)
        except NeedsConsent as need:
            if not interactive:
                # Checked first, so the person knows the key itself is fine.
                say(
                    f"{result.message} But there is no usable keyring: "
                    f"{need.reason or 'unknown reason'}.\n"
                    f"Run again with --store-in-file to keep the key in {need.path} "
                    "(readable only by you), or set RENTNUMBER_API_KEY instead. "
                    "Nothing was saved."
                )
                return EXIT_USAGE
            say(f"No usable keyring: {need.reason}.")
            print(
                f"Store the key in {need.path} (readable only by you)? [y/N] ",
                end="",
                file=stderr,
                flush=True,
            )
            try:
                answer = stdin.readline().strip().lower()
            except (KeyboardInterrupt, EOFError):
                answer = ""
            if answer not in ("y", "yes"):
                say(
                    "Nothing was saved. Set RENTNUMBER_API_KEY in the environment to use "
                    "the key without storing it."
                )
                return EXIT_FAILED
            where = store.save(key, allow_file=True)
    except CredentialError as exc:
        say(f"{exc.message} Nothing was saved.")
        return EXIT_FAILED

    print(
        f"{result.message} Saved {masked} for profile '{profile}' in {where}.",
        file=stdout,
        flush=True,
    )
    if env_key_present():
        say(
            "note: RENTNUMBER_API_KEY is set in this environment and takes precedence over "
            "the saved key."
        )
    return EXIT_OK


def logout_main(
    profile: str = DEFAULT_PROFILE,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    store: CredentialStore | None = None,
) -> int:
    """`rentnumber-tui logout`: remove the profile's key from the keyring and the file.
    Returns 0 (also when there was nothing to remove), 1 if something could not be
    removed, 2 for a bad profile name."""
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    try:
        validate_profile(profile)
    except InvalidProfile as exc:
        print(f"rentnumber-tui logout: {exc.message}", file=stderr)
        return EXIT_USAGE
    store = store if store is not None else CredentialStore(profile)
    code = EXIT_OK
    try:
        removed = store.delete()
    except DeleteIncomplete as exc:
        print(exc.message, file=stderr)
        removed, code = exc.removed, EXIT_FAILED
    if removed:
        print(f"Removed the key of profile '{profile}' from {' and '.join(removed)}.", file=stdout)
    elif code == EXIT_OK:
        print(f"No saved key for profile '{profile}'.", file=stdout)
    if env_key_present():
        print(
            "note: RENTNUMBER_API_KEY is still set in this environment, so the app keeps "
            "using that key; unset it to log out completely.",
            file=stderr,
        )
    return code


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"rentnumber-tui {command}",
        description=(
            "Check an API key with the server and save it (keyring, or a private file)."
            if command == "login"
            else "Remove the saved API key (keyring and file)."
        ),
    )
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="account profile")
    if command == "login":
        parser.add_argument("--base-url", default=None, help="API base URL")
        parser.add_argument(
            "--store-in-file",
            action="store_true",
            help="without a usable keyring, keep the key in a file readable only by you",
        )
        parser.add_argument(
            "--allow-insecure-http",
            action="store_true",
            help="allow a plain http:// URL that is not on this machine",
        )
    return parser


def auth_main(command: str, argv: list[str]) -> int:
    """Entry point for ``rentnumber-tui login|logout [options]``."""
    if command not in ("login", "logout"):
        raise ValueError(f"unknown command {command!r}")
    args = _parser(command).parse_args(argv)
    if command == "logout":
        return logout_main(args.profile)
    return login_main(
        args.profile,
        args.base_url,
        allow_file=args.store_in_file,
        allow_insecure=args.allow_insecure_http,
    )
