"""`DelayingProxy`: a slow provider in front of the sandbox, for "the rent timed out,
but did it happen?" tests (spec, clarification 8).

Every request goes straight through, except `POST /api/v1/rent`: the proxy holds it,
unanswered, until the client gives up and closes the connection, waits `delay` more
seconds, and only then performs it upstream, throwing the answer away. The client saw
a timeout; the rental appears on the account a little later, as it does when the real
provider is slow.

One request per connection: the proxy answers with `Connection: close` and closes, which
every HTTP/1.1 client (httpx included) handles by opening a new connection next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
import time
from types import TracebackType
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

MAX_HEAD = 64 * 1024
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
        "host",
    }
)


class LateRent(NamedTuple):
    """One held `POST /rent` (times from `time.monotonic()`); status 0: upstream failed."""

    gave_up: float
    forwarded: float
    status: int


class Answer(NamedTuple):
    """One HTTP answer as the proxy sends it on."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    content: bytes


class _BadRequest(Exception):
    pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DelayingProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 (a free port) run by an asyncio loop in a thread.

    `upstream_base_url` must be a loopback `http://` URL ending in the API path (as
    `SandboxProcess.base_url` and `running_server` give): the proxy never reaches
    anything but this machine.
    """

    def __init__(self, upstream_base_url: str, delay: float = 2.0) -> None:
        parts = urlsplit(upstream_base_url)
        if parts.scheme != "http" or not parts.hostname or not _is_loopback(parts.hostname):
            raise ValueError(f"the upstream must be http:// on loopback, not {upstream_base_url}")
        self.upstream_base_url = upstream_base_url.rstrip("/")
        self.delay = delay
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._api_path = parts.path.rstrip("/")
        self._rent_path = f"{self._api_path}/rent"
        self._late: list[LateRent] = []
        self._lock = threading.Lock()
        self._held = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._port = 0
        self._thread = threading.Thread(target=self._run, name="delaying-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the delaying proxy did not start")
        if self._error is not None:
            raise RuntimeError("the delaying proxy failed to start") from self._error

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self._api_path}"

    @property
    def late_rents(self) -> list[LateRent]:
        """Each held rent, once it was performed upstream: (gave up, forwarded, status)."""
        with self._lock:
            return list(self._late)

    @property
    def held(self) -> int:
        """How many rents are held right now (the client has not given up yet, or the
        delay has not passed)."""
        with self._lock:
            return self._held

    def wait_for_late_rents(self, count: int, timeout: float = 15.0) -> list[LateRent]:
        """`late_rents` once it has `count` entries (fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while len(found := self.late_rents) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} late rents performed")
            time.sleep(0.02)  # polling a condition with a deadline
        return found

    def close(self) -> None:
        """Stop serving; a rent still held is dropped (never performed)."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> DelayingProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the proxy thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by __init__ if start-up failed
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        # trust_env=False: no proxy from the environment; the upstream is this machine.
        async with httpx.AsyncClient(
            base_url=self._origin, timeout=30.0, trust_env=False
        ) as upstream:

            async def on_connection(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter
            ) -> None:
                task = asyncio.current_task()
                assert task is not None
                tasks.add(task)
                try:
                    await self._serve(upstream, reader, writer)
                finally:
                    tasks.discard(task)

            server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
            self._port = server.sockets[0].getsockname()[1]
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                server.close()
                for task in list(tasks):
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await server.wait_closed()

    async def _serve(
        self,
        upstream: httpx.AsyncClient,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        try:
            try:
                method, target, headers, body = await _read_request(reader)
            except (_BadRequest, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                writer.write(_response(400, "Bad Request", [], b"bad request\n"))
                await writer.drain()
                return
            if self._holds(method, target):
                await self._hold_rent(upstream, reader, target, headers, body)
                return
            writer.write(_response(*await self._answer(upstream, method, target, headers, body)))
            await writer.drain()
        except (ConnectionError, OSError):
            pass  # the client went away mid-answer: nothing to tell it
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def _holds(self, method: str, target: str) -> bool:
        """Whether this request is the slow provider's to hold (every rent)."""
        return method == "POST" and target.split("?")[0] == self._rent_path

    async def _answer(
        self,
        upstream: httpx.AsyncClient,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Answer:
        """The upstream's answer, passed on as it came (502 if it could not be had)."""
        try:
            answer = await upstream.request(method, target, headers=headers, content=body)
        except httpx.HTTPError as exc:
            return Answer(
                502, "Bad Gateway", [], f"upstream failed: {type(exc).__name__}\n".encode()
            )
        kept = [(k, v) for k, v in answer.headers.multi_items() if k not in _HOP_BY_HOP]
        # httpx already decoded any content-encoding: send the bytes as they are now.
        kept = [(k, v) for k, v in kept if k != "content-encoding"]
        return Answer(answer.status_code, answer.reason_phrase, kept, answer.content)

    async def _hold_rent(
        self,
        upstream: httpx.AsyncClient,
        reader: asyncio.StreamReader,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        with self._lock:
            self._held += 1
        try:
            # Held until the client closes (EOF) or resets; anything it sends is ignored.
            with contextlib.suppress(ConnectionError, OSError):
                while await reader.read(4096):
                    pass
            gave_up = time.monotonic()
            await asyncio.sleep(self.delay)  # the slow provider, not a test waiting
            forwarded = time.monotonic()
            try:
                answer = await upstream.request("POST", target, headers=headers, content=body)
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            with self._lock:
                self._late.append(LateRent(gave_up, forwarded, status))
        finally:
            with self._lock:
                self._held -= 1


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(method, target, end-to-end headers, body) of one HTTP/1.1 request."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD:
        raise _BadRequest
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ")
    except ValueError:
        raise _BadRequest from None
    headers: list[tuple[str, str]] = []
    length = 0
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest
        name, value = name.strip().lower(), value.strip()
        if name == "transfer-encoding":
            raise _BadRequest  # httpx sends Content-Length for these simple bodies
        if name == "content-length":
            if not value.isdigit():
                raise _BadRequest
            length = int(value)
        if name not in _HOP_BY_HOP:
            headers.append((name, value))
    body = await reader.readexactly(length) if length else b""
    return method.upper(), target, headers, body


def _response(status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [f"content-length: {len(body)}", "connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body
