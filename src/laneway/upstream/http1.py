"""`Transport` on laneway's own HTTP/1.1 client: asyncio protocols over httptools, a keep-alive
pool per origin.

Why not aiohttp: measured in the gateway (bench/README.md), aiohttp's client was the largest
cost per request; a protocol that parses with httptools, wakes its reader once per read and
keeps one timer per wait costs about a third as much. It does only what an upstream call needs:
POST a body, read a head, then the body whole or as it arrives. No redirects, cookies, proxies
or compression (it asks for none: no accept-encoding is sent).

Failures map to the three errors of `transport.py`. One case is retried here at once: a pooled
connection that the server had already closed (a keep-alive race) dies before any byte of the
answer, so the request never reached the server; it is sent again once on a new connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import BodyBroken, NoAnswer, NotSent

MAX_HEADER_BYTES = 64 * 1024
_SMALL_BODY = 64 * 1024  # below this, head and body go out in one write
_USER_AGENT = b"user-agent: laneway\r\n"
# Targets (URL -> origin and path) remembered: a few API paths, unless passthrough forwards
# client-chosen paths and queries, which are then parsed each time rather than kept.
_MAX_TARGETS = 256


class _Expired(Exception):
    """A wait ran past its deadline."""


class _Closed(Exception):
    """The connection ended before the answer did."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection, carrying one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self.origin: _Origin | None = None
        self.reused = False
        self.idle_since = 0.0
        self.begin()

    def begin(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self._header_bytes = 0
        self.parts: list[bytes] = []
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.received = False
        self.error: Exception | None = None
        self._until_close = False

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP (or TLS) transport

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.error = _Closed(f"malformed HTTP answer: {error}")
            self.close()
        self._wake()  # once per read, however many callbacks it ran

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.complete and self.error is None:
            if self.head_done and self._until_close:
                self.complete = True  # a body delimited by the connection's end
            else:
                self.error = _Closed("the upstream closed the connection")
        self._wake()

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise _Closed("the answer's headers are too large")
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.head_done = True
        headers = self.headers
        self._until_close = (
            "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
        )

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()

    # -- waiting -----------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, deadline: float) -> None:
        """Until more arrives, the connection ends (raises _Closed) or `deadline` (_Expired)."""
        if self.error is not None:
            raise self.error
        waiter = self.loop.create_future()
        self._waiter = waiter
        timer = self.loop.call_at(deadline, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        if self.error is not None:
            raise self.error

    def take(self) -> bytes:
        parts = self.parts
        self.parts = []
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


@dataclass(slots=True)
class _Origin:
    host: str
    port: int
    tls: bool
    host_header: bytes
    idle: deque[_Connection]


class Http1Response:
    """An answer whose head has arrived; reading it to the end gives the connection back."""

    __slots__ = ("_connection", "_deadline", "_idle_s", "_loop", "_transport", "headers", "status")

    def __init__(
        self,
        transport: Http1Transport,
        connection: _Connection,
        idle_s: float,
        deadline: float,
    ) -> None:
        self._transport: Http1Transport | None = transport
        self._connection = connection
        self._loop = connection.loop
        self._idle_s = idle_s
        self._deadline = deadline
        self.status = connection.status
        self.headers: Mapping[str, str] = connection.headers

    async def _more(self) -> None:
        deadline = min(self._loop.time() + self._idle_s, self._deadline)
        try:
            await self._connection.wait(deadline)
        except _Expired:
            self.close()
            raise BodyBroken("the body stopped: timed out", timed_out=True) from None
        except _Closed as error:
            self.close()
            raise BodyBroken(f"the body broke: {error}") from None
        except BaseException:
            self.close()
            raise

    async def read(self) -> bytes:
        connection = self._connection
        while not connection.complete:
            await self._more()
        body = connection.take()
        self.close()
        return body

    async def chunks(self) -> AsyncIterator[bytes]:
        # No `finally: close()`: a reader may stop after the first event and a second reader
        # go on (the gateway does), so only the end of the body or close() gives the
        # connection back.
        connection = self._connection
        while True:
            if connection.parts:
                yield connection.take()
            elif connection.complete:
                self.close()
                return
            else:
                await self._more()

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.give_back(self._connection)


class Http1Transport:
    def __init__(
        self,
        *,
        max_connections: int = 512,
        keepalive_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._ssl = ssl_context
        self._origins: dict[str, tuple[_Origin, bytes]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._header_cache: tuple[Mapping[str, str] | None, bytes] = (None, b"")

    def _target(self, url: str) -> tuple[_Origin, bytes]:
        known = self._origins.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotSent(f"cannot call {parts.scheme}:// URLs")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        default = port == (443 if tls else 80)
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        host_header = shown if default else f"{shown}:{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        same = next(
            (o for o, _ in self._origins.values() if (o.host, o.port, o.tls) == (host, port, tls)),
            None,
        )
        origin = same or _Origin(host, port, tls, host_header.encode("idna"), deque())
        if len(self._origins) < _MAX_TARGETS:
            self._origins[url] = (origin, path.encode("latin-1"))
        return origin, path.encode("latin-1")

    def _header_block(self, headers: Mapping[str, str]) -> bytes:
        cached, block = self._header_cache
        if cached is headers:
            return block
        lines = []
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} holds a line break")
            lines.append(f"{name}: {value}\r\n")
        block = "".join(lines).encode("latin-1")
        self._header_cache = (headers, block)
        return block

    def _pooled(self, origin: _Origin) -> _Connection | None:
        idle = origin.idle
        cutoff = asyncio.get_running_loop().time() - self._keepalive_s
        while idle and idle[0].idle_since < cutoff:  # the oldest first: they expire first
            idle.popleft().close()
        while idle:
            connection = idle.pop()
            if connection.usable:
                return connection
        return None

    async def _connect(self, origin: _Origin, timeouts: Timeouts) -> _Connection:
        loop = asyncio.get_running_loop()
        context = None
        if origin.tls:
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            async with asyncio.timeout(timeouts.connect_s):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=origin.host if context else None,
                )
        except TimeoutError:
            raise NotSent(
                f"no connection to {origin.host}:{origin.port} within {timeouts.connect_s:g} s",
                timed_out=True,
            ) from None
        except OSError as error:
            raise NotSent(f"cannot connect to {origin.host}:{origin.port}: {error}") from None
        connection.origin = origin
        return connection

    async def _slot(self, timeouts: Timeouts) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_connections)
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeouts.connect_s)
        except TimeoutError:
            raise NotSent(
                f"all {self._max_connections} upstream connections stayed busy", timed_out=True
            ) from None

    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        *,
        method: bytes = b"POST",
    ) -> Http1Response:
        started = asyncio.get_running_loop().time()
        deadline = started + timeouts.total_s
        origin, path = self._target(url)
        head = b"%s %s HTTP/1.1\r\nhost: %s\r\n%s%scontent-length: %d\r\n\r\n" % (
            method,
            path,
            origin.host_header,
            _USER_AGENT,
            self._header_block(headers),
            len(body),
        )
        await self._slot(timeouts)
        try:
            return await self._exchange(origin, head, body, timeouts, started, deadline)
        except BaseException:
            self._free_slot()
            raise

    async def _exchange(
        self,
        origin: _Origin,
        head: bytes,
        body: bytes,
        timeouts: Timeouts,
        started: float,
        deadline: float,
    ) -> Http1Response:
        first_byte = min(started + timeouts.first_byte_s, deadline)
        for _ in range(2):
            connection = self._pooled(origin) or await self._connect(origin, timeouts)
            connection.begin()
            transport = connection.transport
            if transport is None:  # closed between the pool and here
                continue
            if len(body) < _SMALL_BODY:
                transport.write(head + body)
            else:
                transport.writelines((head, body))
            try:
                while not connection.head_done:
                    await connection.wait(first_byte)
            except _Expired:
                connection.close()
                raise NoAnswer(
                    f"no answer within {first_byte - started:g} s", timed_out=True
                ) from None
            except _Closed as error:
                connection.close()
                if connection.reused and not connection.received:
                    continue  # the server had closed this pooled connection: never sent
                raise NoAnswer(str(error)) from None
            except BaseException:
                connection.close()
                raise
            return Http1Response(self, connection, timeouts.idle_s, deadline)
        raise NoAnswer("the upstream closed two connections in a row")  # pragma: no cover

    def give_back(self, connection: _Connection) -> None:
        self._free_slot()
        origin = connection.origin
        if connection.complete and connection.keep_alive and connection.usable and origin:
            connection.reused = True
            connection.idle_since = connection.loop.time()
            origin.idle.append(connection)
        else:
            connection.close()

    def _free_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def close(self) -> None:
        for origin, _ in self._origins.values():
            while origin.idle:
                origin.idle.pop().close()
