"""The quota state shared by every replica, in Redis: one atomic Lua script call per operation.

Time is the `now` each caller passes, never Redis' clock (so tests can drive it): replicas must
keep their clocks synchronised (NTP), since a replica running ahead refills buckets early and
rolls budget periods over early for everyone. Expiry alone uses Redis' clock: a bucket key lives
until a minute after it is full again, a budget period's counters until `COUNTER_GRACE_S` after
the period ends (the lifetime's never), a reservation until it is settled or released (or
reaped: its owner's lease lapsed), a lease `lease_s` after its last renewal.

When Redis does not answer within `timeout_s`, admit, release, revoke, spend, outstanding and seed
raise `QuotaUnavailable`; settle instead queues the settlement in this process and retries it in
the background until it lands (settling is idempotent, so a retry of one that did land changes
nothing), and `close()` makes a last attempt. The queue holds at most the requests that were in
flight when the store went away: while it is away nothing new is reserved. A queued settlement's
soft crossings go to `on_late_crossings`. An admit whose answer was lost may leave its
reservation held (a retried admit with the same reservation id charges nothing more): reconcile
with `outstanding()` and `release()`.

Recovery (`redis_recovery`, once `start`ed): admissions and settlements under a budget carry the
epoch this replica knows, so a store that lost its data refuses them (`QuotaResyncing`) until
this replica has re-seeded or re-registered; reservations name this replica as their owner and
are reaped by others once its lease lapses. This replica's book (`redis_book`) keeps what only
Redis would otherwise know: a dict entry per reservation held under a budget, and a list entry
per settlement until a renewal confirms the ledger has it.

Transport (`redis_pipeline`): admissions and settlements, the request path, are pipelined over a
connection of this state's own, each still its own script call and so atomic; a caller waits at
most `timeout_s` from the moment its call was made, after which every call on the connection
gets QuotaUnavailable (settlements: queued, as above). `settle_soon` settles without a task or
a future, for callers that do not wait for the answer; it waits up to SETTLE_DELAY_S to be
written with an admission, so that at low load a request costs one round trip, not two (the
reservation is held that much longer). Other operations go over redis-py's pool, one call each.

Not for Redis Cluster: settlement touches keys named in the reservation, not in KEYS.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeAlias

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from laneway.quota import redis_scripts
from laneway.quota.redis_book import Book
from laneway.quota.redis_link import Script, bulk, bulk_int, bulk_str
from laneway.quota.redis_pipeline import (
    ClientFactory,
    Clients,
    Pipeline,
    redis_client,
)
from laneway.quota.redis_recovery import Recovery
from laneway.quota.state import (
    REVOKED,
    Ask,
    BudgetCharge,
    LedgerTruth,
    Outstanding,
    QuotaResyncing,
    QuotaUnavailable,
    RateLimit,
    Refusal,
    SoftCrossing,
    Spend,
    check_settlement,
    debt_at,
    log_crossings,
    rate_used,
)
from laneway.quota.windows import COUNTER_GRACE_S, Period, PeriodCache, current

log = logging.getLogger(__name__)

SETTLE_DELAY_S = 0.002
"""How long a settlement nobody waits for (`settle_soon`) may wait for a call that cannot (an
admission), to be written and answered with it instead of in a round trip of its own."""

DEFAULT_LEASE_S = 30.0
"""How long a replica's reservations outlive its last lease renewal (`[state] lease_s`)."""

RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0
"""Queued settlements are retried after RETRY_FIRST_S, backing off to every RETRY_MAX_S."""

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


_ADMIT = Script.of(redis_scripts.ADMIT)
_TAKE = Script.of(redis_scripts.TAKE)
_SETTLE = Script.of(redis_scripts.SETTLE)
_RELEASE = Script.of(redis_scripts.RELEASE)
_SPEND = Script.of(redis_scripts.SPEND)
_OUTSTANDING = Script.of(redis_scripts.OUTSTANDING)
_SEED = Script.of(redis_scripts.SEED)


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
        owner: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`client_factory`, when given, makes the clients instead of `url`. `owner` names this
        process in its reservations ("replica:<random id>"; by default one is made), `lease_s`
        how long they outlive its last renewal; `clock` is the time recovery reaps and seeds by
        (`start`)."""
        if not namespace:
            raise ValueError("a Redis namespace must not be empty")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if lease_s <= 0:
            raise ValueError(f"lease_s must be positive, got {lease_s}")
        self._timeout_s = timeout_s
        factory = client_factory or (lambda: redis_client(url, timeout_s))
        self._clients = Clients(factory, timeout_s)
        self._pipeline = Pipeline(self._clients, timeout_s)
        self._on_late = on_late_crossings or log_crossings
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
        self._owner = owner or f"replica:{secrets.token_hex(8)}"
        self._owner_json = orjson.dumps(self._owner)
        self._epoch_key = bulk_str(f"{namespace}:epoch")
        self._tombstone_bulk = bulk_str(f"{namespace}:reaped:")
        self._book = Book()
        self.recovery = Recovery(
            namespace,
            self._owner,
            lease_s,
            self._book,
            send=self._pipeline.call,
            counter_at=self._counter_at,
            clock=clock,
        )

    # -- operations ----------------------------------------------------------------------------

    @property
    def immediate(self) -> None:
        """Never: every answer is a round trip to Redis."""
        return None

    async def start(self, truth: LedgerTruth) -> None:
        """Recover with the ledger's help from here on (`redis_recovery`): take this replica's
        lease, adopt the store's epoch (seeding budgets from `truth` when the store has none),
        and renew and reap in the background until `close`. A state never started checks no
        epoch and holds no lease (its reservations are never reaped)."""
        await self.recovery.start(truth)

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
            self._epoch_key,
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
        # As orjson.dumps({"a": amount, "c": created, "o": owner, "b": [...], "t": [...]})
        # writes it: the amount is digits and `created` a float's repr, neither needing escapes.
        reservation = b'{"a":"%b","c":"%b","o":%b,"b":[%b],"t":%b}' % (
            amount.encode(),
            created.encode(),
            self._owner_json,
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
            self._book.epoch_bulk,
            *checks,
        ]
        command = _ADMIT.evalsha(keys, args)
        if budgets:
            reply = await self._held(reservation_id, reservation, budgets, now, command)
        else:
            reply = await self._pipeline.call(_ADMIT, command)
        return None if reply[0] == 0 else _refusal(ask, reply)

    async def _held(
        self,
        reservation_id: str,
        reservation: bytes,
        budgets: tuple[BudgetCharge, ...],
        now: float,
        command: bytes,
    ) -> Any:
        """ADMIT's reply for an ask under budgets, kept in this replica's book (a loss of Redis'
        data must not lose it) before it is sent, so that a resync waiting for `asking` knows
        of every reservation made."""
        book = self._book
        if book.stale:
            raise _resyncing()
        book.held[reservation_id] = (reservation, budgets, now)
        book.asking += 1
        try:
            reply = await self._pipeline.call(_ADMIT, command)
        except BaseException:
            book.held.pop(reservation_id, None)
            raise
        finally:
            book.asking -= 1
        if reply[0] != 0:
            book.held.pop(reservation_id, None)
            if reply[0] == 4:
                self.recovery.notice()
                raise _resyncing()
        return reply

    async def take(self, rates: tuple[RateLimit, ...], now: float) -> Refusal | None:
        keys: list[bytes] = []
        args = [bulk_str(repr(now))]
        for rate in rates:
            _, key_bulk, per_minute_bulk = self._rate_parts(rate)
            keys.append(key_bulk)
            args += (per_minute_bulk, _ONE if rate.cost == 1 else bulk_int(rate.cost))
        reply = await self._pipeline.call(_TAKE, _TAKE.evalsha(keys, args))
        if reply[0] == 0:
            return None
        return _rate_refusal(rates[reply[1] - 1], reply)

    async def settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> Crossings:
        check_settlement(actual_nano, tokens)
        self._book.settle(reservation_id, actual_nano)
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
        self._book.settle(reservation_id, actual_nano)
        settling = _Settling(reservation_id, actual_nano, tokens, now, on_crossings)
        command = self._settle_command(reservation_id, actual_nano, tokens, now)
        self._pipeline.enqueue(
            _SETTLE, command, partial(self._settled, settling), wait_s=SETTLE_DELAY_S
        )

    async def is_revoked(self, prefix: str) -> bool:
        """Whether `prefix` is revoked: what admitting an ask with no limits but a revocation
        decides, without writing a reservation that only its settlement would remove. Sent
        with the pipeline; QuotaUnavailable as `admit`."""
        command = _SISMEMBER + self._revoked_bulk + bulk_str(prefix)
        return bool(await self._pipeline.call(None, command))

    async def release(self, reservation_id: str) -> bool:
        self._book.held.pop(reservation_id, None)
        keys = [self._reservation_prefix + reservation_id, self._index_key]
        return bool(await self._call(_RELEASE, keys, [reservation_id]))

    async def revoke(self, prefix: str) -> None:
        async def add(client: aioredis.Redis) -> Any:
            return await client.sadd(self._revoked_key, prefix)

        await self._clients.guarded(add)

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
            found.append(
                Outstanding(
                    flat[i].decode(), int(held["a"]), float(held["c"]), budgets, held.get("o")
                )
            )
        return found

    async def rate_use(self, rates: Sequence[RateLimit], now: float) -> list[int]:
        if not rates:
            return []
        keys = [self._rate_parts(rate)[0] for rate in rates]

        async def read(client: aioredis.Redis) -> Any:
            return await client.mget(keys)

        held = await self._clients.guarded(read)
        used = []
        for rate, value in zip(rates, held, strict=True):
            debt = 0.0
            if value:  # "<reference time> <seconds owed then>", as the scripts keep it
                since, owed = value.split()
                debt = debt_at(float(since), float(owed), now)
            used.append(rate_used(debt, rate.per_minute))
        return used

    async def seed(self, budget: BudgetCharge, now: float, settled_nano: int) -> None:
        check_settlement(settled_nano, None)
        period = self._periods.get(budget.window, now)
        soft = "" if budget.soft_nano is None else budget.soft_nano
        args: list[str | int] = [settled_nano, soft, _ttl(period, now)]
        await self._call(_SEED, [self._counter_key(budget, period)], args)

    async def close(self) -> None:
        """Finish the calls made so far, make a last attempt at queued settlements, then close
        the connections."""
        await self.recovery.close()
        await self._pipeline.drain()
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
        await self._pipeline.drain()
        self._pipeline.close()
        await self._clients.close()

    @property
    def pending_settlements(self) -> int:
        """Settlements queued because the store did not answer, not yet delivered."""
        return len(self._pending)

    # -- settlement queue ----------------------------------------------------------------------

    def _settle_command(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> bytes:
        return _SETTLE.evalsha(
            (
                bulk_str(self._reservation_prefix + reservation_id),
                self._index_bulk,
                self._epoch_key,
            ),
            (
                bulk_str(reservation_id),
                bulk_str(repr(now)),
                bulk_int(actual_nano),
                _EMPTY if tokens is None else bulk_int(tokens),
                self._book.epoch_bulk,
                self._tombstone_bulk,
            ),
        )

    async def _settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> Crossings:
        command = self._settle_command(reservation_id, actual_nano, tokens, now)
        reply = await self._pipeline.call(_SETTLE, command)
        if reply == _NOT_OUR_EPOCH:  # the book counts it in the epoch the resync adopts
            self.recovery.notice()
            return _NO_CROSSINGS
        return _crossings(reply)

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

    def _settled(self, settling: _Settling, reply: Any) -> None:
        if isinstance(reply, QuotaUnavailable):
            self._queue(
                settling.reservation_id, settling.actual_nano, settling.tokens, settling.now
            )
        elif isinstance(reply, Exception):
            log.error("quota store: settling %s failed: %r", settling.reservation_id, reply)
        elif reply == _NOT_OUR_EPOCH:
            self.recovery.notice()
        elif reply:
            try:
                settling.on_crossings(_crossings(reply))
            except Exception:  # a reply is being read: nothing here may stop that
                log.exception("quota store: reporting soft thresholds crossed failed")

    # -- calls ---------------------------------------------------------------------------------

    def _counter_key(self, budget: BudgetCharge, period: Period) -> str:
        return f"{self._ns}:budget:{budget.id}@{period.label}"

    def _counter_at(self, budget: BudgetCharge, at: float, now: float) -> list[str]:
        """[counter key, ttl from `now`] of the budget's period at `at` (recovery's scripts)."""
        period = current(budget.window, at)
        return [self._counter_key(budget, period), str(_ttl(period, now))]

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
        self, script: Script, keys: list[str], args: Sequence[str | int | bytes]
    ) -> Any:
        """Run one script over the pool (loading it first if this server lacks it), or raise
        QuotaUnavailable."""

        async def run(client: aioredis.Redis) -> Any:
            try:
                return await client.evalsha(script.sha, len(keys), *keys, *args)
            except NoScriptError:
                await client.script_load(script.source)
                return await client.evalsha(script.sha, len(keys), *keys, *args)

        return await self._clients.guarded(run)


_EMPTY = bulk(b"")
_NOT_OUR_EPOCH = -1  # SETTLE's answer when the epoch is not the caller's
_ZERO = bulk(b"0")
_ONE = bulk(b"1")
_SISMEMBER = b"*3\r\n$9\r\nSISMEMBER\r\n"
_PARTS_MAX = 10_000  # encoded keys and limits kept; past this many, dropped and made again


def _resyncing() -> QuotaResyncing:
    return QuotaResyncing(
        "the quota store (Redis) lost its data; budgets are being restored from the ledger"
    )


def _crossings(flat: Any) -> Crossings:
    if not flat:
        return _NO_CROSSINGS
    return tuple(
        SoftCrossing(flat[i].decode(), flat[i + 1].decode(), int(flat[i + 2]), int(flat[i + 3]))
        for i in range(0, len(flat), 4)
    )


def _refusal(ask: Ask, reply: Any) -> Refusal:
    """ADMIT's refusal {1}, {2, i, debt, retry} or {3, j, used}."""
    verdict = reply[0]
    if verdict == 1:
        return REVOKED
    if verdict == 2:
        return _rate_refusal(ask.rates[reply[1] - 1], reply)
    budget = ask.budgets[reply[1] - 1]
    return Refusal("budget", budget.id, budget.limit_nano, int(reply[2]), ask.amount_nano, None)


def _rate_refusal(rate: RateLimit, reply: Any) -> Refusal:
    """A script's {2, i, debt, retry} for rate limit i (`rate`)."""
    used = rate_used(float(reply[2]), rate.per_minute)
    retry = float(reply[3]) if reply[3] else None
    return Refusal("rate", rate.id, rate.per_minute, used, rate.cost, retry)


def _ttl(period: Period, now: float) -> int:
    """Seconds a counter of `period` should live from `now`; 0 for never expiring."""
    if period.end is None:
        return 0
    return max(1, math.ceil(period.end - now) + COUNTER_GRACE_S)
