"""The command line's words: subcommands, their options and the exit statuses.

Argparse only, so the program's parser can know the commands without loading the
engine (start-up of the TUI pays nothing for them); `cli.py` runs them.
"""

from __future__ import annotations

import argparse
from enum import IntEnum

COMMANDS = (
    "balance",
    "services",
    "countries",
    "prices",
    "rent",
    "wait",
    "status",
    "cancel",
    "rentals",
    "history",
)
#: Commands that need an API key (the catalog does not).
KEYED = frozenset({"balance", "rent", "wait", "status", "cancel", "rentals", "history"})


class ExitCode(IntEnum):
    DONE = 0
    UNEXPECTED = 1
    USAGE = 2
    KEY = 3
    BALANCE = 4
    NO_MATCH = 5
    NO_SMS = 6
    UNKNOWN = 7
    INTERRUPTED = 130


# -- the parser ----------------------------------------------------------------------------


def add_commands(parser: argparse.ArgumentParser) -> None:
    """The subcommands, added to the program's own parser (global options go before)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, quiet: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        if quiet:
            p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP[name])
        return p

    command("balance", "the wallet balance")
    command("services", "the services, filtered like the TUI's list").add_argument(
        "filter", nargs="?", default="", help="fuzzy filter (e.g. whats, tg)"
    )
    command("countries", "the countries, filtered like the TUI's list").add_argument(
        "filter", nargs="?", default="", help="a name or ISO code, fuzzy"
    )
    prices = command("prices", "one service's offers, cheapest first")
    prices.add_argument("service", help="slug, id or name")
    prices.add_argument("--country", help="ISO code, id or name")
    rent = command("rent", "rent the cheapest in-stock offer that matches", quiet=True)
    rent.add_argument("service", nargs="?", help="slug, id or name")
    rent.add_argument("--country", help="ISO code, id or name")
    rent.add_argument("--provider", help="the provider's name")
    rent.add_argument("--pricing-id", type=int, help="rent exactly this offer")
    rent.add_argument("--max-price", help="never pay more than this (e.g. 450 or 450.00)")
    rent.add_argument("--wait", action="store_true", help="then wait for the code")
    rent.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (600)")
    wait = command("wait", "wait for a rental's code", quiet=True)
    wait.add_argument("rental_id", type=int)
    wait.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (600)")
    command("status", "one rental as the server says it now").add_argument("rental_id", type=int)
    command("cancel", "cancel a rental (refunded if no SMS came)").add_argument(
        "rental_id", type=int
    )
    command("rentals", "the account's active rentals (and those that ended lately)")
    history = command("history", "every rental known, newest first (beyond the API's 100)")
    history.add_argument("--limit", type=int, help="at most this many")
    history.add_argument("--csv", action="store_true", help="comma-separated values")
    command("config", "the settings file's path and every setting in effect (never the key)")


QUIET_HELP = {
    "rent": "print only the number (with --wait: only the code)",
    "wait": "print only the code",
}
