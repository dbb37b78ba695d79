"""The quota state shared by every replica, in Redis: one atomic Lua script call per operation.

Time is the `now` each caller passes, never Redis' clock (so tests can drive it): replicas must
keep their clocks synchronised (NTP), since a replica running ahead refills buckets early and
rolls budget periods over early for everyone. Expiry alone uses Redis' clock: a bucket key lives
until a minute after it is full again, a budget period's counters until `COUNTER_GRACE_S` after
the period ends (the lifetime's never), a reservation until it is settled or released.

When Redis does not answer within `timeout_s`, admit, release, revoke, spend, outstanding and seed
raise `QuotaUnavailable`; settle instead queues the settlement in this process and retries it in
the background until it lands (settling is idempotent, so a retry of one that did land changes
nothing), and `close()` makes a last attempt. The queue holds at most the requests that were in
flight when the store went away: while it is away nothing new is reserved. A queued settlement's
soft crossings go to `on_late_crossings`. An admit whose answer was lost may leave its
reservation held (a retried admit with the same reservation id charges nothing more): reconcile
with `outstanding()` and `release()`.

Not for Redis Cluster: settlement touches keys named in the reservation, not in KEYS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MasterDownError, NoScriptError, OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from laneway.quota import redis_scripts
from laneway.quota.admission import (
    REVOKED,
    Ask,
    BudgetCharge,
    Outstanding,
    QuotaUnavailable,
    Refusal,
    SoftCrossing,
    Spend,
    check_settlement,
    rate_used,
)
from laneway.quota.windows import COUNTER_GRACE_S, Period, PeriodCache

log = logging.getLogger("laneway.quota")

ClientFactory = Callable[[], aioredis.Redis]
"""Makes a client: first use, and again after a client's connection failed outright (so a
factory may point somewhere new, as after a failover; tests use it to bring a store back)."""

RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0
"""Queued settlements are retried after RETRY_FIRST_S, backing off to every RETRY_MAX_S."""

# Errors that mean "the store cannot serve us now", as opposed to a bug in a command: no answer,
# a replica refusing writes while a failover completes, a server out of memory.
_LAPSES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    MasterDownError,
    OutOfMemoryError,
    TimeoutError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class _Script:
    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> _Script:
        return cls(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


_ADMIT = _Script.of(redis_scripts.ADMIT)
_SETTLE = _Script.of(redis_scripts.SETTLE)
_RELEASE = _Script.of(redis_scripts.RELEASE)
_SPEND = _Script.of(redis_scripts.SPEND)
_OUTSTANDING = _Script.of(redis_scripts.OUTSTANDING)
_SEED = _Script.of(redis_scripts.SEED)


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


class RedisQuota:
    """`QuotaState` in Redis, shared by every replica that uses the same URL and namespace."""

    def __init__(
        self,
        url: str,
        namespace: str,
        *,
        timeout_s: float = 0.5,
        client_factory: ClientFactory | None = None,
        on_late_crossings: Callable[[tuple[SoftCrossing, ...]], None] | None = None,
    ) -> None:
        """`client_factory`, when given, makes the clients instead of `url`."""
        if not namespace:
            raise ValueError("a Redis namespace must not be empty")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self._timeout_s = timeout_s
        self._factory = client_factory or (lambda: redis_client(url, timeout_s))
        self._client: aioredis.Redis | None = None
        self._on_late = on_late_crossings or _log_crossings
        self._ns = namespace
        self._revoked_key = f"{namespace}:revoked"
        self._index_key = f"{namespace}:reservations"
        self._reservation_prefix = f"{namespace}:res:"
        self._periods = PeriodCache()
        self._pending: dict[str, tuple[int, int | None, float]] = {}  # queued settlements
        self._flusher: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # clients being closed after a lapse
        self._down = False

    # -- operations ----------------------------------------------------------------------------

    async def admit(self, ask: Ask, now: float) -> Refusal | None:
        ns = self._ns
        revocation = ask.revocation
        created = repr(now)
        amount = str(ask.amount_nano)
        keys = [self._revoked_key, self._reservation_prefix + ask.reservation_id, self._index_key]
        checks: list[str | int] = []
        held_budgets = []
        held_tokens = []
        for rate in ask.rates:
            key = f"{ns}:rate:{rate.id}"
            keys.append(key)
            checks += (rate.per_minute, rate.cost)
            if rate.tokens:
                held_tokens.append((key, str(rate.per_minute), str(rate.cost)))
        for budget in ask.budgets:
            period = self._periods.get(budget.window, now)
            key = self._counter_key(budget, period)
            keys.append(key)
            checks += (budget.limit_nano, _ttl(period, now))
            soft = "" if budget.soft_nano is None else str(budget.soft_nano)
            held_budgets.append((key, budget.id, period.label, str(budget.limit_nano), soft))
        reservation = orjson.dumps({"a": amount, "c": created, "b": held_budgets, "t": held_tokens})
        args: list[str | int | bytes] = [
            created,
            ask.reservation_id,
            amount,
            0 if revocation is None else 1,
            "" if revocation is None else revocation,
            len(ask.rates),
            len(ask.budgets),
            reservation,
            *checks,
        ]
        reply = await self._call(_ADMIT, keys, args)
        verdict = reply[0]
        if verdict == 0:
            return None
        if verdict == 1:
            return REVOKED
        if verdict == 2:
            rate = ask.rates[reply[1] - 1]
            used = rate_used(float(reply[2]), rate.per_minute)
            retry = float(reply[3]) if reply[3] else None
            return Refusal("rate", rate.id, rate.per_minute, used, rate.cost, retry)
        budget = ask.budgets[reply[1] - 1]
        return Refusal("budget", budget.id, budget.limit_nano, int(reply[2]), ask.amount_nano, None)

    async def settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> tuple[SoftCrossing, ...]:
        check_settlement(actual_nano, tokens)
        try:
            return await self._settle(reservation_id, actual_nano, tokens, now)
        except QuotaUnavailable:
            self._queue(reservation_id, actual_nano, tokens, now)
            return ()

    async def release(self, reservation_id: str) -> bool:
        keys = [self._reservation_prefix + reservation_id, self._index_key]
        return bool(await self._call(_RELEASE, keys, [reservation_id]))

    async def revoke(self, prefix: str) -> None:
        async def add(client: aioredis.Redis) -> Any:
            return await client.sadd(self._revoked_key, prefix)

        await self._guarded(add)

    async def spend(self, budgets: Sequence[BudgetCharge], now: float) -> list[Spend]:
        if not budgets:
            return []
        keys = [
            self._counter_key(budget, self._periods.get(budget.window, now)) for budget in budgets
        ]
        flat = await self._call(_SPEND, keys, [])
        return [Spend(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def outstanding(self, older_than: float) -> list[Outstanding]:
        args = [f"({older_than!r}", self._reservation_prefix]
        flat = await self._call(_OUTSTANDING, [self._index_key], args)
        found = []
        for i in range(0, len(flat), 2):
            held = orjson.loads(flat[i + 1])
            budgets = tuple(f"{budget_id}@{label}" for _, budget_id, label, _, _ in held["b"])
            found.append(Outstanding(flat[i].decode(), int(held["a"]), float(held["c"]), budgets))
        return found

    async def seed(self, budget: BudgetCharge, now: float, settled_nano: int) -> None:
        check_settlement(settled_nano, None)
        period = self._periods.get(budget.window, now)
        soft = "" if budget.soft_nano is None else budget.soft_nano
        args: list[str | int] = [settled_nano, soft, _ttl(period, now)]
        await self._call(_SEED, [self._counter_key(budget, period)], args)

    async def close(self) -> None:
        """Make a last attempt at queued settlements, then close the connections."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
        if self._pending:
            await self._flush()
        if self._pending:
            log.error(
                "quota store: %d settlement(s) could not be delivered before closing; "
                "their budgets keep the reservations until released",
                len(self._pending),
            )
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    @property
    def pending_settlements(self) -> int:
        """Settlements queued because the store did not answer, not yet delivered."""
        return len(self._pending)

    # -- settlement queue ----------------------------------------------------------------------

    async def _settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> tuple[SoftCrossing, ...]:
        keys = [self._reservation_prefix + reservation_id, self._index_key]
        args: list[str | int] = [reservation_id, repr(now), actual_nano]
        args.append("" if tokens is None else tokens)
        flat = await self._call(_SETTLE, keys, args)
        if not flat:
            return ()
        return tuple(
            SoftCrossing(flat[i].decode(), flat[i + 1].decode(), int(flat[i + 2]), int(flat[i + 3]))
            for i in range(0, len(flat), 4)
        )

    def _queue(self, reservation_id: str, actual_nano: int, tokens: int | None, now: float) -> None:
        self._pending[reservation_id] = (actual_nano, tokens, now)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._retry_pending())

    async def _retry_pending(self) -> None:
        delay = RETRY_FIRST_S
        while self._pending:
            await asyncio.sleep(delay)
            delay = RETRY_FIRST_S if await self._flush() else min(delay * 2, RETRY_MAX_S)

    async def _flush(self) -> bool:
        """Deliver queued settlements in order until one fails; True if all landed."""
        delivered = 0
        try:
            for reservation_id, (actual, tokens, now) in list(self._pending.items()):
                try:
                    crossings = await self._settle(reservation_id, actual, tokens, now)
                except QuotaUnavailable:
                    return False
                self._pending.pop(reservation_id, None)
                delivered += 1
                if crossings:
                    self._on_late(crossings)
        finally:
            if delivered:
                log.warning("quota store: %d queued settlement(s) delivered", delivered)
        return True

    # -- calls ---------------------------------------------------------------------------------

    def _counter_key(self, budget: BudgetCharge, period: Period) -> str:
        return f"{self._ns}:budget:{budget.id}@{period.label}"

    async def _call(
        self, script: _Script, keys: list[str], args: Sequence[str | int | bytes]
    ) -> Any:
        """Run one script (loading it first if this server lacks it), or raise
        QuotaUnavailable."""

        async def run(client: aioredis.Redis) -> Any:
            try:
                return await client.evalsha(script.sha, len(keys), *keys, *args)
            except NoScriptError:
                await client.script_load(script.source)
                return await client.evalsha(script.sha, len(keys), *keys, *args)

        return await self._guarded(run)

    async def _guarded(self, call: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
        client = self._client
        if client is None:
            client = self._client = self._factory()
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await call(client)
        except _LAPSES as error:
            self._lapse(client, error)
            raise QuotaUnavailable(
                f"the quota store (Redis) is unavailable: {type(error).__name__}"
            ) from None
        if self._down:
            self._down = False
            log.warning("quota store reachable again")
        return reply

    def _lapse(self, client: aioredis.Redis, error: BaseException) -> None:
        # Only the class is logged: redis-py's messages name the server, and URLs hold passwords.
        if not self._down:
            self._down = True
            log.warning("quota store unreachable (%s)", type(error).__name__)
        if isinstance(error, RedisConnectionError) and self._client is client:
            # A connection that failed outright: the next call starts over from the factory.
            self._client = None
            task = asyncio.get_running_loop().create_task(_close_quietly(client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def _ttl(period: Period, now: float) -> int:
    """Seconds a counter of `period` should live from `now`; 0 for never expiring."""
    if period.end is None:
        return 0
    return max(1, math.ceil(period.end - now) + COUNTER_GRACE_S)


async def _close_quietly(client: aioredis.Redis) -> None:
    with contextlib.suppress(*_LAPSES):  # dropped for failing: failing again changes nothing
        await client.aclose()


def _log_crossings(crossings: tuple[SoftCrossing, ...]) -> None:
    for crossing in crossings:
        log.warning(
            "budget %s (%s) passed its soft threshold: %d of %d nano-USD spent",
            crossing.budget_id,
            crossing.period,
            crossing.spent_nano,
            crossing.limit_nano,
        )
