"""How a replica of the Redis state recovers: from a loss of Redis' data (epochs), and from
replicas that stopped without settling (leases). Started by `RedisQuota.start`.

Epochs. Budgets are seeded from the ledger into a new epoch, a random token in `N:epoch`. Each
replica sends the epoch it knows with every admission and settlement under a budget, and the
scripts refuse when Redis holds another one (or none: its data was lost) - one GET inside the
script, no round trip more. A replica refused so starts a resync, and meanwhile refuses
requests under a budget itself (`QuotaResyncing`, a 503):
1. wait for the answers to admissions it already sent (so it knows which it holds);
2. flush its ledger writer (its settled records are then in the ledger);
3. if Redis has no epoch, seed one: under a lock (SET NX, expiring) only one replica reads the
   ledger's spend per budget and sets it with the new epoch, in one script, raising counters
   only; the others wait for the epoch to appear;
4. register, in that epoch, every reservation it holds and (when the epoch changed) every
   settlement it made since it last confirmed one was in the ledger; then adopt the epoch.
Settlements sent meanwhile are refused by the scripts and counted in step 4 (the book moves
them to `settled` when sent). A settlement counted both by the seed (its record had landed)
and by step 4 is counted twice: the over-count is at most two renewals' settlements.

Leases. Each reservation names its owner; each replica renews `N:lease:<owner>` (expiring
after `lease_s`) every `lease_s / 3` from one background task, which also confirms the book's
settlements (flushed to the ledger at one renewal, the epoch unchanged at the next) and reaps:
a reservation older than `lease_s` whose owner's lease has lapsed is settled at its ledger
record's cost when that is settled there, else released; a tombstone lets a late settlement by
an owner that was only cut off still count once. A replica that finds its own lease lapsed
resyncs (step 4 puts back what was reaped).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from laneway.quota import redis_recovery_scripts as scripts
from laneway.quota.redis_book import Book, CounterAt
from laneway.quota.redis_link import Script, bulk, bulk_str, command
from laneway.quota.state import LedgerTruth, QuotaUnavailable

log = logging.getLogger(__name__)

Send = Callable[[Script | None, bytes], Awaitable[Any]]
"""Sends one command (an EVALSHA of the script, or no script's) and gives its reply: the
request path's pipeline, whose deadlines hold even while Redis restarts."""

_SEED_EPOCH = Script.of(scripts.SEED_EPOCH)
_REGISTER = Script.of(scripts.REGISTER)
_LEASE = Script.of(scripts.LEASE)
_REAPABLE = Script.of(scripts.REAPABLE)
_REAP = Script.of(scripts.REAP)

TOMBSTONE_S = 86_400
"""How long a reaped reservation's tombstone waits for a late settlement by its owner."""
REAP_BATCH = 1000
"""How many of the oldest reservations one reaping pass looks at."""
_UNSYNCED = bulk(b"unsynced")  # an epoch no store holds (epochs are "<owner>:<n>")
ATTEMPT_MIN_S = 10.0
"""The least time one resync attempt is given (else `lease_s`) before it is tried again."""
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0
"""A resync that failed (the store or the ledger unreachable) is tried again after
RETRY_FIRST_S, backing off to every RETRY_MAX_S; waiting for another replica's seed polls
every RETRY_FIRST_S."""


class Recovery:
    def __init__(
        self,
        namespace: str,
        owner: str,
        lease_s: float,
        book: Book,
        *,
        send: Send,
        counter_at: CounterAt,
        clock: Callable[[], float],
    ) -> None:
        self.owner = owner
        self.lease_s = lease_s
        self._book = book
        self._send = send
        self._counter_at = counter_at
        self._clock = clock
        self._truth: LedgerTruth | None = None
        self.epoch: str | None = None
        self._tokens = itertools.count()
        self._epoch_key = f"{namespace}:epoch"
        self._lock_key = f"{namespace}:seeding"
        self._index_key = f"{namespace}:reservations"
        self._reservation_prefix = f"{namespace}:res:"
        self.lease_prefix = f"{namespace}:lease:"
        self.tombstone_prefix = f"{namespace}:reaped:"
        self._flushed = 0  # settlements the last beat flushed to the ledger
        self._resync: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # -- start and stop ------------------------------------------------------------------------

    async def start(self, truth: LedgerTruth) -> None:
        """Take the lease, adopt the epoch (seeding one if Redis has none), then renew and reap
        in the background. A store unreachable now is synced with once it answers: until
        then this replica's epoch matches none, so the scripts send it to resync first."""
        self._truth = truth
        book = self._book
        book.keeping = True
        book.epoch_bulk = _UNSYNCED
        book.stale = True
        try:
            await self._renew()
            while not await self._try_resync():
                await asyncio.sleep(RETRY_FIRST_S)
        except QuotaUnavailable:  # requests meet the store's lapse as configured (on_unavailable)
            log.warning("quota store unreachable at start: budgets sync once it answers")
        book.stale = False
        self._heartbeat = asyncio.get_running_loop().create_task(self._beating())

    async def resynced(self) -> None:
        """Until no resync runs (tests, and callers that want to wait rather than poll)."""
        while self._resync is not None and not self._resync.done():
            await asyncio.gather(self._resync, return_exceptions=True)

    async def close(self) -> None:
        for task in (self._heartbeat, self._resync):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._heartbeat = self._resync = None

    # -- epochs --------------------------------------------------------------------------------

    def notice(self) -> None:
        """A script answered that the epoch is not ours: resync, unless one runs (or this
        state was never started, and so keeps no epoch)."""
        if self._truth is None or (self._resync is not None and not self._resync.done()):
            return
        self._book.stale = True
        log.warning("quota store: budgets are not this replica's epoch; resyncing from the ledger")
        self._resync = asyncio.get_running_loop().create_task(self._resyncing())

    async def _resyncing(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                # Bounded: a ledger or store that hangs is tried again, and logged.
                async with asyncio.timeout(max(self.lease_s, ATTEMPT_MIN_S)):
                    done = await self._try_resync()
                if done:
                    break
                delay = RETRY_FIRST_S  # another replica seeds: poll for its epoch
            except QuotaUnavailable:
                delay = min(delay * 2, RETRY_MAX_S)
            except Exception:  # the ledger failing, or a bug: try again, never admit unchecked
                log.exception("quota store: resync failed; trying again")
                delay = min(delay * 2, RETRY_MAX_S)
            await asyncio.sleep(delay)
        self._book.stale = False
        log.warning("quota store: budgets resynced (epoch %s)", self.epoch)

    async def _try_resync(self) -> bool:
        """One attempt (steps 1-4 above); False when another replica is seeding."""
        book = self._book
        truth = self._truth
        assert truth is not None  # noqa: S101 - only started states resync
        while book.asking:  # admissions already sent: their answers say what this replica holds
            await asyncio.sleep(0.001)
        flushed = len(book.settled)
        await truth.flush()
        epoch = await self._send(None, command("GET", self._epoch_key))
        if epoch is None:
            epoch = await self._seed(truth)
            if epoch is None:
                return False
            # Seeded by this replica after its flush: the ledger it read holds those.
            settled_from: int | None = flushed
        else:
            epoch = epoch.decode()
            settled_from = 0 if epoch != self.epoch else None
        payload = book.payload(self._counter_at, self._clock(), settled_from)
        args: list[str | int | bytes] = [
            epoch,
            self._reservation_prefix,
            self.tombstone_prefix,
            orjson.dumps(payload),
            self._lease_ms(),
        ]
        keys = [self._epoch_key, self._index_key, self.lease_prefix + self.owner]
        if not await self._call(_REGISTER, keys, args):
            return False  # the epoch moved again meanwhile
        self.epoch = epoch
        book.epoch_bulk = bulk_str(epoch)
        return True

    async def _seed(self, truth: LedgerTruth) -> str | None:
        """Seed a new epoch from the ledger, if this replica gets the lock; its epoch or None."""
        token = f"{self.owner}:{next(self._tokens)}"
        lock = command("SET", self._lock_key, token, "NX", "PX", str(self._lease_ms()))
        if not await self._send(None, lock):
            return None
        now = self._clock()
        counters = []
        for budget, spent in await truth.spend(now):
            key, ttl = self._counter_at(budget, now, now)
            soft = "" if budget.soft_nano is None else str(budget.soft_nano)
            counters.append([key, str(spent), soft, ttl])
        args: list[str | int | bytes] = [token, token, orjson.dumps(counters)]
        if not await self._call(_SEED_EPOCH, [self._lock_key, self._epoch_key], args):
            return None
        log.warning(
            "quota store: seeded %d budget(s) from the ledger (epoch %s)", len(counters), token
        )
        return token

    # -- leases --------------------------------------------------------------------------------

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.beat()
            except QuotaUnavailable:
                pass  # logged by the clients; the lease may lapse, and a resync follows
            except Exception:
                log.exception("quota store: renewing the lease failed")

    async def beat(self) -> int:
        """Renew the lease (first: a slow ledger must not let it lapse), confirm what the last
        beat flushed, reap, then flush the ledger writer for the next; how many were reaped."""
        book = self._book
        flushed, self._flushed = self._flushed, 0
        held, same = await self._renew()
        if not held or not same:
            self.notice()
            return 0
        if not book.stale:
            # In the ledger since the last beat, the epoch ours throughout: a re-seed from now
            # on reads them there.
            del book.settled[:flushed]
        reaped = await self.reap()
        truth = self._truth
        if truth is not None:
            count = len(book.settled)
            try:
                async with asyncio.timeout(self.lease_s / 3):
                    await truth.flush()
            except TimeoutError:
                log.warning("quota store: the ledger writer did not flush within a renewal")
            else:
                self._flushed = count
        return reaped

    async def _renew(self) -> tuple[int, int]:
        keys = [self.lease_prefix + self.owner, self._epoch_key]
        args: list[str | int | bytes] = [self._lease_ms(), self.epoch or ""]
        held, same = await self._call(_LEASE, keys, args)
        return held, same

    def _lease_ms(self) -> int:
        return max(1, math.ceil(self.lease_s * 1000))

    async def _call(
        self, script: Script, keys: list[str], args: Sequence[str | int | bytes]
    ) -> Any:
        encoded = [bulk(arg if isinstance(arg, bytes) else str(arg).encode()) for arg in args]
        return await self._send(script, script.evalsha([bulk_str(key) for key in keys], encoded))

    async def reap(self) -> int:
        """Reservations older than a lease whose owner's lease lapsed: settled at their ledger
        cost, or released."""
        truth = self._truth
        if truth is None or self.epoch is None:
            return 0
        bound = f"({self._clock() - self.lease_s!r}"
        args: list[str | int | bytes] = [
            bound,
            self._reservation_prefix,
            self.lease_prefix,
            REAP_BATCH,
        ]
        found = await self._call(_REAPABLE, [self._index_key], args)
        reaped = 0
        for raw in found:
            reservation_id = raw.decode()
            cost = await truth.settled_cost(reservation_id)
            keys = [self._reservation_prefix + reservation_id, self._index_key, self._epoch_key]
            reap: list[str | int | bytes] = [
                reservation_id,
                self.lease_prefix,
                "" if cost is None else str(cost),
                self.tombstone_prefix,
                TOMBSTONE_S,
                self.epoch,
            ]
            reaped += await self._call(_REAP, keys, reap)
        if reaped:
            log.warning("quota store: reaped %d reservation(s) of replicas that stopped", reaped)
        return reaped
