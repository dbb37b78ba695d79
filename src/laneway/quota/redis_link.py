"""A connection of laneway's own to Redis for the quota state's request path: an asyncio
protocol whose replies hiredis parses, with calls pipelined (written at once, answered in
order), and the few pieces of Redis' protocol (RESP2) the hot path encodes itself.

redis-py still makes the client this connects like (address, TLS, credentials, database) and
serves every other operation; a round trip through its pool cost the gateway far more CPU than
the call itself (bench/README.md, bench_arms).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import hiredis
import redis.asyncio as aioredis
from redis.exceptions import (
    MasterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)

from laneway.errors import LanewayError

# A call as the state queues it: (script or None, the encoded command, who waits, deadline).
Call: TypeAlias = tuple[Any, bytes, Any, float]


@dataclass(frozen=True, slots=True)
class Script:
    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Script:
        return cls(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())

    def evalsha(self, keys: Sequence[bytes], args: Sequence[bytes]) -> bytes:
        """EVALSHA of this script in Redis' protocol; `keys` and `args` already `bulk`."""
        head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%b\r\n%b" % (
            3 + len(keys) + len(args),
            self.sha.encode(),
            bulk_int(len(keys)),
        )
        return head + b"".join(keys) + b"".join(args)


class Lapse(LanewayError):
    """The link failed; `args[0]` names what happened (never an address)."""


class Link(asyncio.Protocol):
    """The request path's connection to Redis: calls are written as they are flushed, and the
    replies, which Redis sends in order, are parsed by hiredis and handed back in order."""

    def __init__(
        self,
        client: aioredis.Redis,
        on_reply: Callable[[Link, Call, Any], None],
        on_lost: Callable[[Link, str, bool], None],
    ) -> None:
        self.client = client  # whose address and credentials it connected with
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[Call] = deque()  # written, not yet answered, in order
        self.loading: set[str] = set()  # scripts being loaded again after a NOSCRIPT
        self.lost = False
        self._reader = hiredis.Reader()
        self._on_reply = on_reply
        self._on_lost = on_lost
        self._ending: tuple[str, bool] | None = None  # why it was closed, and if it failed
        self._drain_waiters: list[asyncio.Future[None]] = []

    @classmethod
    async def open(
        cls,
        client: aioredis.Redis,
        on_reply: Callable[[Link, Call, Any], None],
        on_lost: Callable[[Link, str, bool], None],
    ) -> Link:
        """A link to where `client` connects (TCP, TLS or a Unix socket), logged in and on its
        database as the client's own connections are."""
        loop = asyncio.get_running_loop()
        # The client's settings, from a connection it would make (never connected).
        settings = client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
        link = cls(client, on_reply, on_lost)
        path = getattr(settings, "path", None)
        if path:
            await loop.create_unix_connection(lambda: link, path)
        else:
            ssl_context = getattr(settings, "ssl_context", None)
            ssl = ssl_context.get() if ssl_context is not None else None
            await loop.create_connection(lambda: link, settings.host, settings.port, ssl=ssl)
        try:
            await link._login(settings)
        except BaseException:
            link.close("ConnectionError", failed=True)
            raise
        return link

    async def _login(self, settings: Any) -> None:
        commands = []
        credentials: tuple[str, ...] = ()
        if settings.credential_provider is not None:
            credentials = tuple(await settings.credential_provider.get_credentials_async())
        elif settings.password is not None:
            credentials = (settings.username, settings.password)
            credentials = credentials if settings.username else credentials[1:]
        if credentials:
            commands.append(command("AUTH", *credentials))
        if settings.db:
            commands.append(command("SELECT", str(settings.db)))
        if settings.client_name:
            commands.append(command("CLIENT", "SETNAME", settings.client_name))
        if not commands:
            return
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self.send(
            [(None, command, f, math.inf) for command, f in zip(commands, futures, strict=True)]
        )
        for reply in await asyncio.gather(*futures, return_exceptions=True):
            if isinstance(reply, BaseException):
                raise Lapse("AuthenticationError" if credentials else "ConnectionError")

    def send(self, calls: list[Call]) -> None:
        assert self.transport is not None  # noqa: S101 - connected before anything is sent
        self.transport.write(b"".join([command for _, command, _, _ in calls]))
        self.waiting.extend(calls)

    def close(self, reason: str, *, failed: bool) -> None:
        """Close (`failed`: at once, dropping what is unsent); `connection_lost` follows and
        fails whatever still waits with `reason`."""
        self.lost = True
        if self._ending is None:
            self._ending = (reason, failed)
        if self.transport is not None:
            if failed:
                self.transport.abort()
            else:
                self.transport.close()

    def drained(self) -> None:
        if not self.waiting and self._drain_waiters:
            for waiter in self._drain_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._drain_waiters.clear()

    async def until_drained(self) -> None:
        """Until nothing waits for a reply: answered, or failed when the connection is lost
        (which a lost link always learns, in `connection_lost`)."""
        if self.waiting:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiters.append(waiter)
            await waiter

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP, TLS or Unix stream

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        waiting = self.waiting
        on_reply = self._on_reply
        try:
            while (reply := reader.gets()) is not False:
                on_reply(self, waiting.popleft(), reply)
        except (hiredis.ProtocolError, IndexError):  # garbage, or a reply nobody asked for
            self.close("ProtocolError", failed=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        reason, failed = self._ending or (type(exc).__name__ if exc else "ConnectionError", True)
        self._on_lost(self, reason, failed)


def command(*parts: str) -> bytes:
    return b"*%d\r\n%b" % (len(parts), b"".join(bulk_str(part) for part in parts))


_REPLY_ERRORS: dict[str, type[ResponseError]] = {
    "NOSCRIPT": NoScriptError,
    "READONLY": ReadOnlyError,
    "OOM": OutOfMemoryError,
    "MASTERDOWN": MasterDownError,
}


def reply_error(message: str) -> ResponseError:
    """An error reply as redis-py would raise it."""
    return _REPLY_ERRORS.get(message.split(" ", 1)[0], ResponseError)(message)


def lapse_name(error: BaseException) -> str:
    return str(error.args[0]) if isinstance(error, Lapse) else type(error).__name__


def bulk(data: bytes) -> bytes:
    """One argument in Redis' protocol (a bulk string)."""
    return b"$%d\r\n%b\r\n" % (len(data), data)


def bulk_str(text: str) -> bytes:
    return bulk(text.encode())


def bulk_int(number: int) -> bytes:
    return bulk(b"%d" % number)
