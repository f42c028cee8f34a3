"""The API address and the one rule for whether the API key may travel to it.

Stdlib only and imports nothing else of ours: the settings check, the launcher and the
HTTP client all decide with these functions, so they cannot disagree (spec,
clarification 12). The key goes over HTTPS, or over plain HTTP only to this computer;
any other plain-HTTP address needs the explicit `--allow-insecure-http` override.

What counts as "this computer" is what the connection will really reach without asking
DNS: `localhost` itself (with or without the trailing dot), 127.0.0.0/8 and ::1 in any
spelling the C library accepts for a numeric address (``127.1``, ``2130706433``,
``0x7f.1``, IPv4-mapped IPv6). A *subdomain* of localhost is not: outside systemd-resolved
it is an ordinary DNS name, which may point anywhere.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from rentnumber_tui.user_error import UserFacingError

DEFAULT_BASE_URL = "https://v2.rentnumber.net/api/v1"
#: How every request of ours names the program (the client's and the first look's).
USER_AGENT = "rentnumber-tui/0.1.0"
#: Environment variable for the base URL: between the command-line flag and the file.
BASE_URL_ENV = "RENTNUMBER_BASE_URL"

_EXPECTED = 'an http:// or https:// URL such as "https://v2.rentnumber.net/api/v1"'


class BaseUrlError(UserFacingError, ValueError):
    """A base URL that cannot be used; `message` says what is wrong with it."""


class Transport(Enum):
    HTTPS = "https"
    LOOPBACK = "loopback"  # plain HTTP to this computer: the local sandbox
    INSECURE = "insecure"  # plain HTTP elsewhere, allowed by an explicit override
    REFUSED = "refused"


@dataclass(frozen=True)
class TransportCheck:
    """Whether the API key may be sent to a base URL. `message` explains a refusal or
    is the warning to keep visible on screen for an allowed insecure URL."""

    verdict: Transport
    url: str
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is not Transport.REFUSED

    @property
    def warning(self) -> str | None:
        return self.message if self.verdict is Transport.INSECURE else None

    @property
    def explanation(self) -> str | None:
        return self.message if self.verdict is Transport.REFUSED else None


_USERINFO = re.compile(r"(?<=//)[^/?#@]*@")


def _shown(text: str) -> str:
    """A URL quoted for a message: shortened, printable, and never its user name or
    password."""
    text = _USERINFO.sub("", text)
    shown = text if len(text) <= 60 else text[:57] + "..."
    return '"' + "".join(ch if ch.isprintable() else "?" for ch in shown) + '"'


def parse_base_url(text: object) -> str:
    """`text` as a usable base URL (trimmed, without a trailing slash), or `BaseUrlError`.

    The same check for the command line, the environment and the settings file: a
    scheme of http or https, a host, a valid port, and no spaces, user name, password,
    query or fragment (none of which belongs in an API root, and a password there would
    travel with every request)."""
    if not isinstance(text, str):
        raise BaseUrlError(f"must be {_EXPECTED}")
    url = text.strip()
    if not url:
        raise BaseUrlError(f"is empty; it must be {_EXPECTED}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise BaseUrlError(f"must be {_EXPECTED}, not {_shown(url)}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BaseUrlError(f"must be {_EXPECTED}, not {_shown(url)}")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise BaseUrlError(f"must be {_EXPECTED} without spaces, not {_shown(url)}")
    if parts.username is not None or parts.password is not None:
        raise BaseUrlError(
            f"must be {_EXPECTED} without a user name or password (the API uses a key)"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise BaseUrlError(f"must be {_EXPECTED} without a query or fragment, not {_shown(url)}")
    return url.rstrip("/")


def resolve_base_url(flag: str | None, configured: str | None = None) -> str:
    """The base URL to use: the command-line flag, else `$RENTNUMBER_BASE_URL`, else the
    settings file's value (`configured`), else the public API. Raises `BaseUrlError`
    (its message names where the bad value came from). A flag given as an empty string
    is an error, never a silent fall-back to the production address; an empty
    environment variable counts as unset, as shells use it."""
    if flag is not None:
        try:
            return parse_base_url(flag)
        except BaseUrlError as error:
            raise BaseUrlError(f"--base-url {error.message}") from None
    env = os.environ.get(BASE_URL_ENV, "")
    if env.strip():
        try:
            return parse_base_url(env)
        except BaseUrlError as error:
            raise BaseUrlError(f"{BASE_URL_ENV} {error.message}") from None
    if configured is not None:
        return parse_base_url(configured)
    return DEFAULT_BASE_URL


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """A host the C library reads as an IPv4 address without DNS (``127.1``,
    ``2130706433``, ``0x7f000001``), as `inet_aton` does; None for a name."""
    if not host or not all(ch in "0123456789abcdefxABCDEFX." for ch in host):
        return None
    if not host[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def is_loopback_host(host: str | None) -> bool:
    """Whether a connection to `host` stays on this computer (see the module doc)."""
    if not host:
        return False
    name = host.strip().strip("[]").lower()
    if name.endswith(".") and not name.endswith(".."):
        name = name[:-1]
    if name == "localhost":
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            name.split("%", 1)[0]
        )
    except ValueError:
        numeric = _numeric_ipv4(name)
        return bool(numeric and numeric.is_loopback)
    if address.is_loopback:
        return True
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(mapped and mapped.is_loopback)


@functools.lru_cache(maxsize=64)  # asked before every keyed request; strings in, frozen out
def check_transport(base_url: str, allow_insecure: bool = False) -> TransportCheck:
    """The transport rule: the key goes only over HTTPS, or over plain HTTP to this
    computer. Any other http:// URL is refused with an explanation, unless
    `allow_insecure`, which allows it with a warning. An unusable URL is refused even
    with the override."""
    text = str(base_url).strip()
    try:
        url = parse_base_url(text)
    except BaseUrlError as error:
        return TransportCheck(
            Transport.REFUSED,
            text,
            f"{_shown(text)} is not a usable API address ({error.message}): it must start "
            "with https:// (or http:// for a server on this computer) and name a host",
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    display = f"{scheme}://{netloc}{parts.path}"
    if scheme == "https":
        return TransportCheck(Transport.HTTPS, display)
    if is_loopback_host(host):
        return TransportCheck(Transport.LOOPBACK, display)
    if allow_insecure:
        return TransportCheck(
            Transport.INSECURE,
            display,
            f"INSECURE: the API key is sent unencrypted over plain HTTP to {netloc}; "
            "anyone on the network path can read it",
        )
    return TransportCheck(
        Transport.REFUSED,
        display,
        f"Refusing to send the API key to {display}: over plain http:// anyone on the "
        "network path could read it. Use an https:// address; plain http:// is only "
        "allowed to this computer (localhost, 127.0.0.1, ::1). To override, pass "
        "--allow-insecure-http (or set allow_insecure_http = true in config.toml) — "
        "a warning then stays on screen.",
    )
