"""Command line: `rentnumber-tui [--demo]` (the TUI), `rentnumber-tui COMMAND` (the
scriptable commands, `cli.py`; `config`, `config_cli.py`), `rentnumber-tui sandbox`,
`login`, `logout`.

Only argparse (and `dataclass_cache`, which `run` installs first) is imported up front:
start-up time is first-frame time, so the app, httpx, the engine and the sandbox are
imported when the chosen command needs them.
"""

from __future__ import annotations

import argparse
import gc
import sys


def _app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rentnumber-tui",
        description="Rent phone numbers and receive verification codes from RentNumber.",
        epilog="Without a COMMAND the full-screen app starts. Exit statuses of the commands: "
        "0 done, 1 unexpected, 2 usage or settings, 3 key missing or refused, 4 not enough "
        "balance, 5 nothing matches / sold out / above --max-price, 6 no SMS in time, 7 the "
        "rent's outcome still unknown. Other commands: 'rentnumber-tui sandbox --help', "
        "'rentnumber-tui login', 'rentnumber-tui logout'.",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in sandbox: no key, no network",
    )
    parser.add_argument(
        "--base-url", help="API base URL (default: $RENTNUMBER_BASE_URL or the real service)"
    )
    parser.add_argument("--profile", default="default", help="account profile (default: default)")
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL that is not on this machine (the key would "
        "travel unencrypted)",
    )
    parser.add_argument("--seed", type=int, default=None, help="demo: sandbox random seed")
    parser.add_argument(
        "--sms-delay", type=float, default=None, help="demo: typical seconds until an SMS arrives"
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    from rentnumber_tui.cli_args import add_commands

    add_commands(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sandbox":
        from rentnumber_tui.sandbox.server import main as sandbox_main

        return sandbox_main(args[1:])
    if args and args[0] in ("login", "logout"):
        from rentnumber_tui.auth_cli import auth_main

        return auth_main(args[0], args[1:])

    options = _app_parser().parse_args(args)
    if options.version:
        from rentnumber_tui import __version__

        print(f"rentnumber-tui {__version__}")
        return 0
    if options.command == "config":
        from rentnumber_tui.config_cli import config_main

        return config_main(options)
    if options.command:
        from rentnumber_tui.cli import install_sigterm, run_command

        install_sigterm()
        return run_command(options)
    # Start-up allocates many long-lived objects (modules, classes, the DOM): collecting
    # garbage meanwhile only costs first-frame time. The App re-enables it after the
    # first frame, freezing what start-up built so later collections skip it.
    gc.disable()
    from rentnumber_tui.launch import run_app

    return run_app(options)


def run() -> int:
    """The program itself (`rentnumber-tui`, `python -m rentnumber_tui`): `main` with
    the compiled methods of dataclasses kept between runs, as bytecode is
    (`dataclass_cache`) — tests that call `main` leave the interpreter as it is."""
    from rentnumber_tui import dataclass_cache

    dataclass_cache.install()
    return main()


if __name__ == "__main__":
    sys.exit(run())
