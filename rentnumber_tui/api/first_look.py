"""The service list on a first start, asked with the standard library while httpx loads.

With nothing cached, the first screen's list waits for `GET /services`. Asked through
`RentNumberClient`, that answer also waits for httpx, httpcore and anyio to load and a
connection pool to be set up: ~130 ms of CPU, under the same interpreter lock the UI
paints with — a cold start's list took twice a bare Textual app's first frame (issue 14).
`/services` is public (spec, clarification 10): no key is sent, so this one request goes
over `http.client`, on a thread of its own, under the same request budget, while
nothing else is loaded.

It is a shortcut, not a second client: anything short of a 200 whose body the client's
own parser accepts gives None, and the engine then asks through `RentNumberClient` as
before, which says what went wrong in its usual words (and retries, and keeps the
server's clock). Where httpx would send the request through a proxy from the
environment, this does not try at all; over HTTPS it trusts what httpx trusts (the
environment's certificates where httpx reads them) and checks the host name.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import os
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from rentnumber_tui.transport import USER_AGENT, is_loopback_host

from . import parsing
from .errors import InvalidResponse
from .models import Rows, Service
from .scheduler import Priority, RequestScheduler

__all__ = ["first_services", "proxied"]

log = logging.getLogger(__name__)

ENDPOINT = "GET /services"

#: Seconds for the connection, and for each read, of the one request.
TIMEOUT = 2.0

#: Environment variables httpx (`trust_env`) would send a request through.
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})


def proxied(environ: Mapping[str, str]) -> bool:
    """Whether `environ` names a proxy httpx would consider (any case, any value)."""
    return any(name.lower() in _PROXY_VARIABLES and value for name, value in environ.items())


def first_services(
    base_url: str, scheduler: RequestScheduler, *, timeout: float = TIMEOUT
) -> Rows[Service] | None:
    """`GET /services` at `base_url`, parsed as the client parses it; None when it cannot
    be asked this way or anything at all went wrong (logged at debug level). Blocking:
    it runs on a thread of its own (`Engine.look_early`), and waits for its turn in the
    budget on an event loop of its own — so `scheduler` must serve no other loop."""
    # The client's rule: the environment's proxies and certificates (httpx's
    # `trust_env`) apply except for a server on this computer.
    trust_env = not is_loopback_host(urlsplit(base_url).hostname)
    if trust_env and proxied(os.environ):
        return None
    if scheduler.paused_for() > 0:
        return None  # the server asked for a pause (a 429): the client says how long
    try:
        asyncio.run(_turn(scheduler))
        status, charset, body = _get(
            base_url + "/services", timeout, dict(os.environ) if trust_env else {}
        )
    except (OSError, http.client.HTTPException, ValueError) as error:
        log.debug("First look at %s failed: %s", ENDPOINT, type(error).__name__)
        return None
    if status != 200:
        log.debug("First look at %s answered %d", ENDPOINT, status)
        return None
    try:
        text = body.decode(charset or "utf-8")
        return parsing.parse_services(parsing.decode_json(text, endpoint=ENDPOINT, status=200))
    except (InvalidResponse, UnicodeDecodeError, LookupError) as error:
        log.debug("First look at %s unreadable: %s", ENDPOINT, type(error).__name__)
        return None


async def _turn(scheduler: RequestScheduler) -> None:
    """This request's slot of the budget: it counts as started when granted."""
    async with scheduler.slot(Priority.USER):
        pass


def _get(url: str, timeout: float, environ: Mapping[str, str]) -> tuple[int, str | None, bytes]:
    """One blocking GET: status, the charset the answer names, the whole body."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=_tls_context(environ)
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "GET",
            path,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": "identity",
                "Connection": "close",
            },
        )
        response = connection.getresponse()
        return response.status, response.headers.get_content_charset(), response.read()
    finally:
        connection.close()


def _tls_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The authorities httpx trusts (`httpx.create_ssl_context`): the environment's
    `SSL_CERT_FILE` or `SSL_CERT_DIR` where it reads them, else certifi's bundle; host
    names checked."""
    if environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=environ["SSL_CERT_FILE"])
    if environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=environ["SSL_CERT_DIR"])
    import certifi  # httpx's own dependency, for the same trust as the client

    return ssl.create_default_context(cafile=certifi.where())
