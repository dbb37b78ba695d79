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

Transport: admissions and settlements (the request path) do not go through redis-py's pool but
over a connection of this state's own (`Link`: an asyncio protocol, replies parsed by hiredis;
address, credentials and database as the client's). Calls are pipelined: each is written at
once, without waiting for the replies to earlier ones, which Redis sends in order. Each ask is
still its own script call, so each stays atomic; a round trip through redis-py and its pool cost
the gateway far more CPU than the call itself (bench/README.md, bench_admission), and the hot
path encodes its commands itself. A caller waits at most `timeout_s` from the moment its call
was made: when the oldest call written is not answered by then, the connection is dropped and
every call on it gets QuotaUnavailable (settlements: queued, as above). `settle_soon` settles
without a task or a future, for callers that do not wait for the answer; it waits up to
SETTLE_DELAY_S to be written with an admission, so that at low load a request costs one round
trip, not two (the reservation is held that much longer). Other operations go over the client's
pool, one call each.

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
from typing import Any, TypeAlias

import hiredis
import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    MasterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from laneway.quota import redis_scripts
from laneway.quota.admission import (
    REVOKED,
    Ask,
    BudgetCharge,
    Outstanding,
    QuotaUnavailable,
    RateLimit,
    Refusal,
    SoftCrossing,
    Spend,
    check_settlement,
    rate_used,
)
from laneway.quota.redis_link import (
    Call,
    Lapse,
    Link,
    bulk,
    bulk_int,
    bulk_str,
    lapse_name,
    reply_error,
)
from laneway.quota.windows import COUNTER_GRACE_S, Period, PeriodCache

log = logging.getLogger("laneway.quota")

ClientFactory = Callable[[], aioredis.Redis]
"""Makes a client: first use, and again after a client's connection failed outright (so a
factory may point somewhere new, as after a failover; tests use it to bring a store back)."""

SETTLE_DELAY_S = 0.002
"""How long a settlement nobody waits for (`settle_soon`) may wait for a call that cannot (an
admission), to be written and answered with it instead of in a round trip of its own."""

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

    def evalsha(self, keys: Sequence[bytes], args: Sequence[bytes]) -> bytes:
        """EVALSHA of this script in Redis' protocol; `keys` and `args` already `bulk`."""
        head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%b\r\n%b" % (
            3 + len(keys) + len(args),
            self.sha.encode(),
            bulk_int(len(keys)),
        )
        return head + b"".join(keys) + b"".join(args)


Crossings: TypeAlias = tuple[SoftCrossing, ...]
OnCrossings: TypeAlias = Callable[[Crossings], None]
_NO_CROSSINGS: Crossings = ()


@dataclass(slots=True)
class _Settling:
    """A settlement nobody waits for: what to queue if it cannot be delivered, and where its
    soft crossings go."""

    reservation_id: str
    actual_nano: int
    tokens: int | None
    now: float
    on_crossings: OnCrossings


# Whoever gets a pipelined call's reply: a caller awaiting a future, a settlement, or nobody.
_Waiter: TypeAlias = "asyncio.Future[Any] | _Settling | None"
# A queued call: its script (None: not a script), the command in Redis' protocol, its waiter,
# and the loop time by which it must be answered.
_Queued: TypeAlias = Call  # (script or None, command, who waits, deadline)

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
        on_late_crossings: OnCrossings | None = None,
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
        self._revoked_bulk = bulk_str(self._revoked_key)
        self._index_bulk = bulk_str(self._index_key)
        # rate limit (id, per minute) -> bucket key, encoded key, encoded per minute
        self._rates: dict[tuple[str, int], tuple[str, bytes, bytes]] = {}
        # (budget, period) -> encoded counter key, encoded limit, its reservation JSON
        self._budgets: dict[tuple[BudgetCharge, str], tuple[bytes, bytes, bytes]] = {}
        self._periods = PeriodCache()
        self._pending: dict[str, tuple[int, int | None, float]] = {}  # queued settlements
        self._flusher: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # clients being closed after a lapse
        self._down = False
        # The request path: calls not yet written (settlements waiting for an admission's
        # write, or calls waiting for a connection), the write planned for them, the link they
        # are written to (or its opening), and the timer for its oldest call.
        self._queued: list[_Queued] = []
        self._flush_handle: asyncio.Handle | None = None
        self._link: Link | None = None
        self._opening: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- operations ----------------------------------------------------------------------------

    async def admit(self, ask: Ask, now: float) -> Refusal | None:
        # The script call in Redis' protocol, built here: what stays the same from request to
        # request (keys, limits, a budget's part of the reservation) is encoded once.
        rates = ask.rates
        budgets = ask.budgets
        created = repr(now)
        amount = str(ask.amount_nano)
        reservation_id = ask.reservation_id
        revocation = ask.revocation
        keys = [
            self._revoked_bulk,
            bulk_str(self._reservation_prefix + reservation_id),
            self._index_bulk,
        ]
        checks: list[bytes] = []
        held_tokens = []
        for rate in rates:
            key, key_bulk, per_minute_bulk = self._rate_parts(rate)
            keys.append(key_bulk)
            checks += (per_minute_bulk, _ONE if rate.cost == 1 else bulk_int(rate.cost))
            if rate.tokens:
                held_tokens.append((key, str(rate.per_minute), str(rate.cost)))
        held_budgets = []
        for budget in budgets:
            period = self._periods.get(budget.window, now)
            key_bulk, limit_bulk, held = self._budget_parts(budget, period.label)
            keys.append(key_bulk)
            checks += (limit_bulk, bulk_int(_ttl(period, now)))
            held_budgets.append(held)
        # As orjson.dumps({"a": amount, "c": created, "b": [...], "t": [...]}) writes it: the
        # amount is digits and `created` a float's repr, neither needing escapes.
        reservation = b'{"a":"%b","c":"%b","b":[%b],"t":%b}' % (
            amount.encode(),
            created.encode(),
            b",".join(held_budgets),
            orjson.dumps(held_tokens),
        )
        args = [
            bulk_str(created),
            bulk_str(reservation_id),
            bulk_str(amount),
            _ZERO if revocation is None else _ONE,
            _EMPTY if revocation is None else bulk_str(revocation),
            bulk_int(len(rates)),
            bulk_int(len(budgets)),
            bulk(reservation),
            *checks,
        ]
        command = _ADMIT.evalsha(keys, args)
        reply = await self._pipelined(_ADMIT, command)
        verdict = reply[0]
        if verdict == 0:
            return None
        if verdict == 1:
            return REVOKED
        if verdict == 2:
            rate = rates[reply[1] - 1]
            used = rate_used(float(reply[2]), rate.per_minute)
            retry = float(reply[3]) if reply[3] else None
            return Refusal("rate", rate.id, rate.per_minute, used, rate.cost, retry)
        budget = budgets[reply[1] - 1]
        return Refusal("budget", budget.id, budget.limit_nano, int(reply[2]), ask.amount_nano, None)

    async def settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> Crossings:
        check_settlement(actual_nano, tokens)
        try:
            return await self._settle(reservation_id, actual_nano, tokens, now)
        except QuotaUnavailable:
            self._queue(reservation_id, actual_nano, tokens, now)
            return _NO_CROSSINGS

    def settle_soon(
        self,
        reservation_id: str,
        actual_nano: int,
        tokens: int | None,
        now: float,
        on_crossings: OnCrossings,
    ) -> None:
        """`settle` for a caller that does not wait for it: sent with the next pipeline (within
        SETTLE_DELAY_S), its soft crossings handed to `on_crossings`; queued and retried like
        `settle`'s when the store does not answer. Call it inside the running event loop."""
        check_settlement(actual_nano, tokens)
        settling = _Settling(reservation_id, actual_nano, tokens, now, on_crossings)
        command = self._settle_command(reservation_id, actual_nano, tokens, now)
        self._enqueue(_SETTLE, command, settling, wait_s=SETTLE_DELAY_S)

    async def is_revoked(self, prefix: str) -> bool:
        """Whether `prefix` is revoked: what admitting an ask with no limits but a revocation
        decides, without writing a reservation that only its settlement would remove. Sent
        with the pipeline; QuotaUnavailable as `admit`."""
        command = _SISMEMBER + self._revoked_bulk + bulk_str(prefix)
        return bool(await self._pipelined(None, command))

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
        """Finish the calls made so far, make a last attempt at queued settlements, then close
        the connections."""
        await self._drain()
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
        if self._pending:
            await self._flush_pending()
        if self._pending:
            log.error(
                "quota store: %d settlement(s) could not be delivered before closing; "
                "their budgets keep the reservations until released",
                len(self._pending),
            )
        await self._drain()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        link, self._link = self._link, None
        if link is not None:
            link.close("closed", failed=False)
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

    def _settle_command(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> bytes:
        return _SETTLE.evalsha(
            (bulk_str(self._reservation_prefix + reservation_id), self._index_bulk),
            (
                bulk_str(reservation_id),
                bulk_str(repr(now)),
                bulk_int(actual_nano),
                _EMPTY if tokens is None else bulk_int(tokens),
            ),
        )

    async def _settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> Crossings:
        command = self._settle_command(reservation_id, actual_nano, tokens, now)
        return _crossings(await self._pipelined(_SETTLE, command))

    def _queue(self, reservation_id: str, actual_nano: int, tokens: int | None, now: float) -> None:
        self._pending[reservation_id] = (actual_nano, tokens, now)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._retry_pending())

    async def _retry_pending(self) -> None:
        delay = RETRY_FIRST_S
        while self._pending:
            await asyncio.sleep(delay)
            delay = RETRY_FIRST_S if await self._flush_pending() else min(delay * 2, RETRY_MAX_S)

    async def _flush_pending(self) -> bool:
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

    # -- the pipeline --------------------------------------------------------------------------

    def _pipelined(self, script: _Script | None, command: bytes) -> asyncio.Future[Any]:
        """The reply to `command` (an EVALSHA of `script`, or no script), written now."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(script, command, future)
        return future

    def _enqueue(
        self, script: _Script | None, command: bytes, waiter: _Waiter, *, wait_s: float = 0.0
    ) -> None:
        """Write a call now, with any that wait; `wait_s`: it may wait that long for another
        call's write instead."""
        loop = asyncio.get_running_loop()
        self._queued.append((script, command, waiter, loop.time() + self._timeout_s))
        if not wait_s:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = loop.call_later(wait_s, self._flush)

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
        client = self._client
        if client is None:
            client = self._client = self._factory()
        loop = asyncio.get_running_loop()
        deadline = self._queued[0][3] if self._queued else loop.time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                link = await Link.open(client, self._on_reply, self._on_lost)
        except BaseException as error:
            queued, self._queued = self._queued, []
            self._fail(queued, lapse_name(error))
            if isinstance(error, (*_LAPSES, Lapse)):
                self._lapse(client, error, broken=not isinstance(error, TimeoutError))
                return
            raise
        finally:
            self._opening = None
        self._link = link
        self._flush()

    def _on_reply(self, link: Link, call: _Queued, reply: Any) -> None:
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
        if isinstance(reply, _LAPSES):  # e.g. a replica refusing writes during a failover
            self._lapse(link.client, reply)
            reply = _unavailable(type(reply).__name__)
        elif self._down and not isinstance(reply, Exception):
            self._down = False
            log.warning("quota store reachable again")
        if isinstance(waiter, _Settling):
            self._settled(waiter, reply)
        elif not waiter.done():  # its caller may have gone (cancelled)
            if isinstance(reply, Exception):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)

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
        self._fail(waiting, reason)
        if failed:
            # A connection that failed outright (not one that was slow) starts over from the
            # client factory, as redis-py's connection errors do.
            self._lapse(link.client, Lapse(reason), broken=reason != "TimeoutError")
        if self._queued and self._flush_handle is None:  # reconnect, out of this callback
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    async def _drain(self) -> None:
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

    def _fail(self, calls: list[_Queued], what: str) -> None:
        """No reply will come: callers get QuotaUnavailable, settlements are queued."""
        for _, _, waiter, _ in calls:
            if isinstance(waiter, _Settling):
                self._settled(waiter, _unavailable(what))
            elif waiter is not None and not waiter.done():
                waiter.set_exception(_unavailable(what))

    def _settled(self, settling: _Settling, reply: Any) -> None:
        if isinstance(reply, QuotaUnavailable):
            self._queue(
                settling.reservation_id, settling.actual_nano, settling.tokens, settling.now
            )
        elif isinstance(reply, Exception):
            log.error("quota store: settling %s failed: %r", settling.reservation_id, reply)
        elif reply:
            try:
                settling.on_crossings(_crossings(reply))
            except Exception:  # a reply is being read: nothing here may stop that
                log.exception("quota store: reporting soft thresholds crossed failed")

    # -- calls ---------------------------------------------------------------------------------

    def _counter_key(self, budget: BudgetCharge, period: Period) -> str:
        return f"{self._ns}:budget:{budget.id}@{period.label}"

    def _rate_parts(self, rate: RateLimit) -> tuple[str, bytes, bytes]:
        memo = (rate.id, rate.per_minute)
        parts = self._rates.get(memo)
        if parts is None:
            if len(self._rates) > _PARTS_MAX:
                self._rates.clear()
            key = f"{self._ns}:rate:{rate.id}"
            parts = self._rates[memo] = (key, bulk_str(key), bulk_int(rate.per_minute))
        return parts

    def _budget_parts(self, budget: BudgetCharge, label: str) -> tuple[bytes, bytes, bytes]:
        memo = (budget, label)
        parts = self._budgets.get(memo)
        if parts is None:
            if len(self._budgets) > _PARTS_MAX:
                self._budgets.clear()
            key = f"{self._ns}:budget:{budget.id}@{label}"
            soft = "" if budget.soft_nano is None else str(budget.soft_nano)
            held = orjson.dumps([key, budget.id, label, str(budget.limit_nano), soft])
            parts = self._budgets[memo] = (bulk_str(key), bulk_int(budget.limit_nano), held)
        return parts

    async def _call(
        self, script: _Script, keys: list[str], args: Sequence[str | int | bytes]
    ) -> Any:
        """Run one script over the pool (loading it first if this server lacks it), or raise
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
            raise _unavailable(type(error).__name__) from None
        if self._down:
            self._down = False
            log.warning("quota store reachable again")
        return reply

    def _lapse(
        self, client: aioredis.Redis, error: BaseException, *, broken: bool | None = None
    ) -> None:
        """The store did not serve `client`; `broken` (by default: a redis-py connection
        error): the next call starts over from the factory."""
        # Only the class is logged: redis-py's messages name the server, and URLs hold passwords.
        if not self._down:
            self._down = True
            log.warning("quota store unreachable (%s)", lapse_name(error))
        if broken is None:
            broken = isinstance(error, RedisConnectionError)
        if broken and self._client is client:
            # A connection that failed outright: the next call starts over from the factory.
            self._client = None
            task = asyncio.get_running_loop().create_task(_close_quietly(client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


_EMPTY = bulk(b"")
_ZERO = bulk(b"0")
_ONE = bulk(b"1")
_SCRIPT_LOAD = b"*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n"
_SISMEMBER = b"*3\r\n$9\r\nSISMEMBER\r\n"
_PARTS_MAX = 10_000  # encoded keys and limits kept; past this many, dropped and made again


def _unavailable(what: str) -> QuotaUnavailable:
    error = QuotaUnavailable(f"the quota store (Redis) is unavailable: {what}")
    error.__suppress_context__ = True  # as if raised `from None`: nothing of redis-py's shows
    return error


def _crossings(flat: Any) -> Crossings:
    if not flat:
        return _NO_CROSSINGS
    return tuple(
        SoftCrossing(flat[i].decode(), flat[i + 1].decode(), int(flat[i + 2]), int(flat[i + 3]))
        for i in range(0, len(flat), 4)
    )


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
