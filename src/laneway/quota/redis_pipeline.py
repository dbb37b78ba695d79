"""How the Redis quota state reaches Redis: the clients it makes, and the request path's
pipeline.

- `Clients`: the redis-py client made from the state's factory, replaced after a connection
  failed outright; a lapse is logged once, and its end once, by error class only (redis-py's
  messages name the server, and URLs hold passwords). Operations off the request path run one
  call each over its pool (`guarded`).
- `Pipeline`: admissions and settlements, written on a `Link` of their own as they are made,
  without waiting for replies to earlier calls, which Redis sends in order. Each call is still its
  own command (one script per ask), so each stays atomic. A call may instead wait a little
  (`wait_s`) to share another's write. When the oldest call written is not answered within
  `timeout_s`, the link is dropped and every call on it fails with QuotaUnavailable. A server
  that forgot the scripts (NOSCRIPT) is sent the script once and the calls again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from laneway.quota.redis_link import Call, Lapse, Link, Script, bulk_str, lapse_name, reply_error
from laneway.quota.state import QuotaUnavailable

log = logging.getLogger(__name__)

ClientFactory = Callable[[], aioredis.Redis]
"""Makes a client: first use, and again after a client's connection failed outright (so a
factory may point somewhere new, as after a failover; tests use it to bring a store back)."""

# Errors that mean "the store cannot serve us now", as opposed to a bug in a command: no answer,
# a replica refusing writes while a failover completes, a server out of memory.
LAPSES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    MasterDownError,
    OutOfMemoryError,
    TimeoutError,
    OSError,
)

# Whoever gets a call's reply: a caller awaiting a future, a callback (a settlement nobody waits
# for; given QuotaUnavailable when no reply will come), or nobody (a SCRIPT LOAD).
Waiter: TypeAlias = "asyncio.Future[Any] | Callable[[Any], None] | None"

_SCRIPT_LOAD = b"*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n"


def redis_client(url: str, timeout_s: float, *, max_connections: int = 32) -> aioredis.Redis:
    """A client as RedisQuota makes one from a URL: hiredis replies, no retries of its own (the
    caller decides), every wait bounded by `timeout_s`, at most `max_connections` connections."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis.from_pool(pool)


def unavailable(what: str) -> QuotaUnavailable:
    error = QuotaUnavailable(f"the quota store (Redis) is unavailable: {what}")
    error.__suppress_context__ = True  # as if raised `from None`: nothing of redis-py's shows
    return error


class Clients:
    def __init__(self, factory: ClientFactory, timeout_s: float) -> None:
        self._factory = factory
        self._timeout_s = timeout_s
        self._client: aioredis.Redis | None = None
        self._closing: set[asyncio.Task[None]] = set()  # clients being closed after a lapse
        self.down = False

    def current(self) -> aioredis.Redis:
        client = self._client
        if client is None:
            client = self._client = self._factory()
        return client

    async def guarded(self, call: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
        """`call` on the current client within `timeout_s`, or QuotaUnavailable."""
        client = self.current()
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await call(client)
        except LAPSES as error:
            self.lapse(client, error)
            raise unavailable(type(error).__name__) from None
        if self.down:
            self.recovered()
        return reply

    def recovered(self) -> None:
        self.down = False
        log.warning("quota store reachable again")

    def lapse(
        self, client: aioredis.Redis, error: BaseException, *, broken: bool | None = None
    ) -> None:
        """The store did not serve `client`; `broken` (by default: a redis-py connection
        error): the next call starts over from the factory."""
        if not self.down:
            self.down = True
            log.warning("quota store unreachable (%s)", lapse_name(error))
        if broken is None:
            broken = isinstance(error, RedisConnectionError)
        if broken and self._client is client:
            self._client = None
            task = asyncio.get_running_loop().create_task(_close_quietly(client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class Pipeline:
    def __init__(self, clients: Clients, timeout_s: float) -> None:
        self._clients = clients
        self._timeout_s = timeout_s
        # Calls not yet written (waiting for another's write, or for a connection), the write
        # planned for them, the link they are written to (or its opening), and the timer for its
        # oldest call.
        self._queued: list[Call] = []
        self._flush_handle: asyncio.Handle | None = None
        self._link: Link | None = None
        self._opening: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def call(self, script: Script | None, command: bytes) -> asyncio.Future[Any]:
        """The reply to `command` (an EVALSHA of `script`, or no script), written now."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.enqueue(script, command, future)
        return future

    def enqueue(
        self, script: Script | None, command: bytes, waiter: Waiter, *, wait_s: float = 0.0
    ) -> None:
        """Write a call now, with any that wait; `wait_s`: it may wait that long for another
        call's write instead."""
        loop = asyncio.get_running_loop()
        self._queued.append((script, command, waiter, loop.time() + self._timeout_s))
        if not wait_s:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = loop.call_later(wait_s, self._flush)

    async def drain(self) -> None:
        """Until every call made so far is answered or failed."""
        while True:
            if self._opening is not None:
                await asyncio.gather(self._opening, return_exceptions=True)
            elif self._queued:
                self._flush()
            elif self._link is not None and self._link.waiting:
                await self._link.until_drained()
            else:
                return

    def close(self) -> None:
        """Close the link (after `drain`)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        link, self._link = self._link, None
        if link is not None:
            link.close("closed", failed=False)

    def _flush(self) -> None:
        """Write what is queued, connecting first if need be."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._queued:
            return
        link = self._link
        if link is None or link.lost:
            if self._opening is None:
                self._opening = asyncio.get_running_loop().create_task(self._open())
            return  # written once connected
        batch, self._queued = self._queued, []
        link.send(batch)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_at(link.waiting[0][3], self._expire)

    async def _open(self) -> None:
        """Connect the link (the client's address and credentials), then write the queue."""
        client = self._clients.current()
        loop = asyncio.get_running_loop()
        deadline = self._queued[0][3] if self._queued else loop.time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                link = await Link.open(client, self._on_reply, self._on_lost)
        except BaseException as error:
            queued, self._queued = self._queued, []
            _fail(queued, lapse_name(error))
            if isinstance(error, (*LAPSES, Lapse)):
                self._clients.lapse(client, error, broken=not isinstance(error, TimeoutError))
                return
            raise
        finally:
            self._opening = None
        self._link = link
        self._flush()

    def _on_reply(self, link: Link, call: Call, reply: Any) -> None:
        script, _, waiter, _ = call
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            if script is not None and waiter is not None and message.startswith("NOSCRIPT"):
                # The server forgot the scripts (a restart, SCRIPT FLUSH): load this one (once
                # for all the calls that find it missing) and send the call again, behind
                # what is already written; sent again, it is no script's (no third try).
                if script.sha not in link.loading:
                    link.loading.add(script.sha)
                    load = _SCRIPT_LOAD + bulk_str(script.source)
                    link.send([(script, load, None, call[3])])
                link.send([(None, call[1], waiter, call[3])])
                return
            reply = reply_error(message)
        if not link.waiting:
            link.drained()
        if waiter is None:  # a SCRIPT LOAD sent above: the call sent again after it tells
            if script is not None:
                link.loading.discard(script.sha)
            return
        if isinstance(reply, LAPSES):  # e.g. a replica refusing writes during a failover
            self._clients.lapse(link.client, reply)
            reply = unavailable(type(reply).__name__)
        elif self._clients.down and not isinstance(reply, Exception):
            self._clients.recovered()
        _deliver(waiter, reply)

    def _expire(self) -> None:
        """The oldest call written is due: answered, or the link is given up on."""
        self._timer = None
        link = self._link
        if link is None or not link.waiting:
            return
        due = link.waiting[0][3]
        if asyncio.get_running_loop().time() < due:
            self._timer = asyncio.get_running_loop().call_at(due, self._expire)
            return
        link.close("TimeoutError", failed=True)  # Redis did not answer in time: _on_lost follows

    def _on_lost(self, link: Link, reason: str, failed: bool) -> None:
        """The link closed or failed: every call still waiting on it gets QuotaUnavailable."""
        if link is self._link:
            self._link = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        waiting = list(link.waiting)
        link.waiting.clear()
        link.drained()
        _fail(waiting, reason)
        if failed:
            # A connection that failed outright (not one that was slow) starts over from the
            # client factory, as redis-py's connection errors do.
            self._clients.lapse(link.client, Lapse(reason), broken=reason != "TimeoutError")
        if self._queued and self._flush_handle is None:  # reconnect, out of this callback
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)


def _deliver(waiter: Waiter, reply: Any) -> None:
    if isinstance(waiter, asyncio.Future):
        if not waiter.done():  # its caller may have gone (cancelled)
            if isinstance(reply, Exception):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)
    elif waiter is not None:
        waiter(reply)


def _fail(calls: list[Call], what: str) -> None:
    """No reply will come: callers get QuotaUnavailable (settlements then queue themselves)."""
    for _, _, waiter, _ in calls:
        _deliver(waiter, unavailable(what))


async def _close_quietly(client: aioredis.Redis) -> None:
    with contextlib.suppress(*LAPSES):  # dropped for failing: failing again changes nothing
        await client.aclose()
