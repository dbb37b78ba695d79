"""Circuit-breaker state shared between gateway replicas through Redis.

Each replica keeps its own `Breakers` and answers requests from it alone; the board only
carries opens and closes between replicas, off the request path:

- A local open or close (`Breakers.listen`) is written to the hash `{namespace}:breakers` by a
  background task, one field per (provider, model): the state, the open-until time, a stamp
  and the writing replica's random origin id. A small script keeps only the newest stamp, so a
  late write cannot undo a newer event.
- Every `sync_s` the board reads the whole hash and applies (`Breakers.apply_remote`) each
  event newer than the last one it applied or wrote for that key, skipping its own. So when one
  replica opens, the others open within about `sync_s`; when one closes after a successful
  probe, the others close too. An open entry whose period is over changes nothing.

Half-open probing stays per replica: when a shared open period ends, each replica sends its own
probes (up to `half_open_probes` each). The first verdict travels as usual: a probe failure
reopens every replica, a success closes them all.

Stamps are wall-clock seconds, so ordering between replicas is as good as their clocks agree; a
replica always stamps its own event after the last one it knows for that key, so an event made
after seeing another always wins over it.

When Redis is unreachable the lapse is logged once, and its end once, by error class only (a
redis-py message names the server, and a URL may hold a password); every replica goes on with
its local state, and writes not made are retried at the next sync. Nothing here raises into
`Breakers` calls on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import orjson
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from laneway.clock import Clock
from laneway.upstream.breaker import BreakerKey, Breakers, SharedState

__all__ = ["BreakerBoard", "ClientFactory"]

log = logging.getLogger(__name__)

ClientFactory = Callable[[], aioredis.Redis]
"""Makes a client: on first use, and again after a client's connection failed outright."""

_T = TypeVar("_T")

# Errors that mean "no answer from the store now"; a command error (RedisError) lands here too,
# since the board must keep going whatever the store says.
_LAPSES: Final[tuple[type[BaseException], ...]] = (RedisError, OSError, TimeoutError)

# The least a replica's own stamp exceeds the last one it knows for a key (see the docstring).
_STAMP_STEP_S: Final = 0.001

# Write ARGV[2] to field ARGV[1] unless the field holds a stamp >= ARGV[3]; 1 if written.
_NEWEST_WINS: Final = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, entry = pcall(cjson.decode, old)
  if ok and type(entry) == 'table' then
    local stamp = tonumber(entry.stamp)
    if stamp and stamp >= tonumber(ARGV[3]) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class _Event:
    state: SharedState
    until_s: float | None  # Unix seconds; None when closed
    stamp: float  # Unix seconds when it happened (see _STAMP_STEP_S)
    origin: str  # the replica that made it


def _field(key: BreakerKey) -> bytes:
    # A JSON pair: unambiguous whatever characters the names hold.
    return orjson.dumps(list(key))


def _value(event: _Event) -> bytes:
    return orjson.dumps(
        {"state": event.state, "until": event.until_s, "stamp": event.stamp, "origin": event.origin}
    )


def _decode(field: bytes | str, value: bytes | str) -> tuple[BreakerKey, _Event] | None:
    """A hash entry as written by `_field` and `_value`, or None for anything else."""
    try:
        pair = orjson.loads(field)
        entry = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not (
        isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(name, str) for name in pair)
        and isinstance(entry, dict)
    ):
        return None
    key = (pair[0], pair[1])
    state, until, stamp, origin = (entry.get(k) for k in ("state", "until", "stamp", "origin"))
    stamp = _time(stamp)
    if stamp is None or not isinstance(origin, str):
        return None
    if state == "closed":
        return key, _Event("closed", None, stamp, origin)
    until = _time(until)
    if state == "open" and until is not None:
        return key, _Event("open", until, stamp, origin)
    return None


def _time(value: object) -> float | None:
    """Unix seconds from JSON, or None when it is not a finite number."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class BreakerBoard:
    """Shares one process's `Breakers` with other replicas' through a Redis hash."""

    def __init__(
        self,
        client_factory: ClientFactory,
        namespace: str,
        breakers: Breakers,
        clock: Clock,
        *,
        sync_s: float = 1.0,
        timeout_s: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not (math.isfinite(sync_s) and sync_s > 0):
            raise ValueError(f"sync_s must be a positive number of seconds, got {sync_s}")
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s}")
        self._factory = client_factory
        self._hash = f"{namespace}:breakers"
        self._breakers = breakers
        self._clock = clock
        self._sync_s = sync_s
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._origin = secrets.token_hex(8)  # this replica, for this process's life
        self._client: aioredis.Redis | None = None
        self._script: AsyncScript | None = None  # the client's handle on _NEWEST_WINS
        # Per key, the stamp of the newest event applied or written here.
        self._seen: dict[BreakerKey, float] = {}
        self._pending: dict[BreakerKey, _Event] = {}  # local events not yet written
        self._writer: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._down = False
        self._closed = False
        # Listening from the start: a transition before `start` is written at the first sync.
        breakers.listen(self._on_transition)

    @property
    def origin(self) -> str:
        """This replica's id in the events it writes (random, new each process)."""
        return self._origin

    @property
    def down(self) -> bool:
        """Whether the last call to Redis failed."""
        return self._down

    async def start(self) -> None:
        """Sync once (a new replica learns of open breakers at once), then every `sync_s`."""
        if self._loop_task is not None:
            return
        await self.sync_once()
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def sync_once(self) -> None:
        """Write pending local events, then apply other replicas' newer ones. Never raises for
        Redis being unreachable."""
        await self.flush()
        entries = await self._guarded(lambda client: client.hgetall(self._hash))
        if entries is None:
            return
        for field, value in entries.items():
            decoded = _decode(field, value)
            if decoded is None:
                continue  # not ours to understand; a newer writer's format, say
            key, event = decoded
            if event.origin == self._origin or event.stamp <= self._seen.get(key, -math.inf):
                continue
            self._seen[key] = event.stamp
            self._breakers.apply_remote(key, event.state, event.until_s)

    async def flush(self) -> None:
        """Write the local events not yet written; returns once written, or once Redis failed
        (they are then retried at the next sync)."""
        self._start_writer()
        writer = self._writer
        if writer is not None and not writer.done():
            await writer

    async def close(self) -> None:
        """Stop syncing, give pending writes up to `timeout_s`, close the client."""
        self._closed = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout_s):
                await self.flush()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        client, self._client = self._client, None
        if client is not None:
            await _close_quietly(client)

    def _on_transition(self, key: BreakerKey, state: SharedState, until_s: float | None) -> None:
        # Called inside Breakers.record, on the request path: note it and leave.
        if self._closed:
            return
        stamp = max(self._clock.time(), self._seen.get(key, -math.inf) + _STAMP_STEP_S)
        self._seen[key] = stamp
        self._pending[key] = _Event(state, until_s, stamp, self._origin)
        self._start_writer()

    def _start_writer(self) -> None:
        if not self._pending or (self._writer is not None and not self._writer.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop running (a sync caller): the next sync writes it
        self._writer = loop.create_task(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                written = await self._guarded(functools.partial(self._write, batch=batch))
            except BaseException:
                self._requeue(batch)  # cancelled (closing): leave them as they were
                raise
            if written is None:
                self._requeue(batch)
                return

    async def _write(self, client: aioredis.Redis, *, batch: dict[BreakerKey, _Event]) -> bool:
        script = self._script
        if script is None:
            script = self._script = client.register_script(_NEWEST_WINS)
        for key, event in batch.items():
            await script(
                keys=[self._hash],
                args=[_field(key), _value(event), repr(event.stamp)],
                client=client,
            )
        return True

    def _requeue(self, batch: dict[BreakerKey, _Event]) -> None:
        for key, event in batch.items():
            self._pending.setdefault(key, event)  # a newer event for the key stays

    async def _guarded(self, call: Callable[[aioredis.Redis], Awaitable[_T]]) -> _T | None:
        """`call` on the client within `timeout_s`, or None when Redis did not serve it."""
        client = self._client
        if client is None:
            client = self._client = self._factory()
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await call(client)
        except _LAPSES as error:
            if not self._down:
                self._down = True
                log.warning("breaker board: Redis unreachable (%s)", type(error).__name__)
            if isinstance(error, RedisConnectionError) and self._client is client:
                # Start over from the factory next time: it may point elsewhere after a failover.
                self._client = None
                self._script = None
                await _close_quietly(client)
            return None
        if self._down:
            self._down = False
            log.warning("breaker board: Redis reachable again")
        return reply

    async def _run(self) -> None:
        while True:
            await self._sleep(self._sync_s)
            try:
                await self.sync_once()
            except Exception:  # a bug must not end sharing for the process's life
                log.exception("breaker board: sync failed")


async def _close_quietly(client: aioredis.Redis) -> None:
    with contextlib.suppress(*_LAPSES):
        await client.aclose()
