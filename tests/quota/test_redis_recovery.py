"""The Redis state's recovery against a real Redis: a loss of its data (epochs, the re-seed from
the ledger, each replica's reservations registered again) and leases (reservations of a replica
that stopped, reaped from the ledger's truth).

A loss is FLUSHALL on a server of the test's own: what a restart without persistence leaves.
The ledger is a small in-memory one with the writer's batching (rows wait until flushed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import redis
import uvloop

from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import (
    Ask,
    BudgetCharge,
    QuotaResyncing,
    QuotaUnavailable,
    RateLimit,
    Refusal,
    Spend,
)
from tests.gateway.serve_process import free_port
from tests.quota.conftest import START
from tests.services import PrivateRedis

# The budget: $0.02 a day, in nano-USD.
DAY = BudgetCharge("key:vk_1:day", "day", 20_000_000, None)
LEASE_S = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now


class Ledger:
    """Records settled by the replicas: written (`rows`) once flushed, as the batched writer
    does; every settled record is charged to DAY."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.queued: dict[str, int] = {}
        self.flushes = 0

    def settle(self, record_id: str, cost: int) -> None:
        self.queued[record_id] = cost

    async def flush(self) -> None:
        self.flushes += 1
        self.rows.update(self.queued)
        self.queued.clear()

    async def spend(self, now: float) -> list[tuple[BudgetCharge, int]]:
        del now
        return [(DAY, sum(self.rows.values()))]

    async def settled_cost(self, record_id: str) -> int | None:
        return self.rows.get(record_id)


class Replica:
    """One replica: its state and its share of the ledger (rows in the ledger, then Redis)."""

    def __init__(self, url: str, name: str, ledger: Ledger, clock: Clock) -> None:
        self.state = RedisQuota(
            url, "ns", timeout_s=5.0, owner=f"replica:{name}", lease_s=LEASE_S, clock=clock.time
        )
        self.ledger = ledger
        self.clock = clock

    async def admit(self, rid: str, amount: int) -> Refusal | None:
        return await self.state.admit(Ask(rid, None, (), (DAY,), amount), self.clock.now)

    async def settle(self, rid: str, cost: int) -> None:
        self.ledger.settle(rid, cost)  # as the settler does: the record first, then the budget
        await self.state.settle(rid, cost, None, self.clock.now)

    async def resynced_admit(self, rid: str, amount: int) -> Refusal | None:
        """The answer after the loss is noticed: refused while resyncing, then decided."""
        with pytest.raises(QuotaResyncing):
            await self.admit(rid, amount)
        await self.state.recovery.resynced()
        return await self.admit(rid, amount)

    async def spend(self) -> Spend:
        [spend] = await self.state.spend([DAY], self.clock.now)
        return spend


def run(url: str, body: Callable[[Replica, Replica, Ledger], Awaitable[None]]) -> None:
    """`body` with two started replicas over one ledger, closed after."""

    async def main() -> None:
        ledger = Ledger()
        clock = Clock()
        a, b = Replica(url, "a", ledger, clock), Replica(url, "b", ledger, clock)
        try:
            await a.state.start(ledger)
            await b.state.start(ledger)
            await body(a, b, ledger)
        finally:
            await a.state.close()
            await b.state.close()

    uvloop.run(main())


async def confirm(replica: Replica) -> None:
    """Two lease renewals: the first flushes the ledger writer, the second sees the epoch still
    the replica's, so its settlements need not be counted again after a loss."""
    await replica.state.recovery.beat()
    await replica.state.recovery.beat()


def lose_data(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


def test_a_budget_near_its_limit_is_not_handed_its_window_again_after_a_loss(
    private_redis: str,
) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        # $0.01964 of $0.02 spent; each request may cost up to $0.0004.
        for i in range(4):
            assert await a.admit(f"s{i}", 400_000) is None
            await a.settle(f"s{i}", 4_910_000)
        await confirm(a)
        assert await a.spend() == Spend(19_640_000, 0)
        lose_data(private_redis)
        # Before the fix this was admitted, to $0.037: Redis counted from nothing.
        refusal = await a.resynced_admit("next", 400_000)
        assert refusal is not None
        assert (refusal.kind, refusal.used) == ("budget", 19_640_000)
        refusal = await b.resynced_admit("other", 400_000)
        assert refusal is not None
        assert refusal.kind == "budget"
        assert await b.spend() == Spend(19_640_000, 0)
        assert sum(ledger.rows.values()) == 19_640_000

    run(private_redis, body)


def test_held_reservations_and_unflushed_settlements_are_counted_again(
    private_redis: str,
) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        assert await a.admit("a1", 1_000_000) is None
        await a.settle("a1", 800_000)
        await confirm(a)  # a1 is in the ledger: a re-seed reads it there
        assert await a.admit("a2", 2_000_000) is None  # held by A at the loss
        assert await b.admit("b1", 3_000_000) is None
        await b.settle("b1", 500_000)  # settled in Redis, its ledger row still batched
        assert await b.admit("b2", 4_000_000) is None  # held by B at the loss
        lose_data(private_redis)
        # A notices first and seeds (after flushing its own rows, not B's: B's are unflushed
        # until B resyncs); B then counts what it settled since it last confirmed.
        assert await a.resynced_admit("a3", 1) is None
        assert await b.resynced_admit("b3", 1) is None
        spend = await a.spend()
        assert spend.reserved_nano == 2_000_000 + 4_000_000 + 1 + 1
        # Never under-counted; B's row may be counted by both (it reached the ledger through
        # B's flush before A's seed read it here, as it can): at most once more.
        assert 800_000 + 500_000 <= spend.settled_nano <= 800_000 + 2 * 500_000
        await a.settle("a2", 1_500_000)
        await b.settle("b2", 0)
        await a.settle("a3", 1)
        await b.settle("b3", 1)
        assert (await a.spend()).reserved_nano == 0

    run(private_redis, body)


def test_a_settlement_for_a_reservation_the_loss_erased_still_counts(private_redis: str) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        del b
        assert await a.admit("r1", 1_000_000) is None
        lose_data(private_redis)
        await a.settle("r1", 700_000)  # refused by the script: not this epoch
        await a.state.recovery.resynced()
        assert await a.spend() == Spend(700_000, 0)  # A seeded: its own row was read once
        assert await a.admit("r2", 19_300_000) is None
        assert await a.admit("r3", 1) is not None

    run(private_redis, body)


def test_replicas_noticing_at_once_seed_once(private_redis: str) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        for i, replica in enumerate((a, b, a, b)):
            assert await replica.admit(f"r{i}", 100) is None
            await replica.settle(f"r{i}", 1_000_000)
        await confirm(a)
        await confirm(b)
        lose_data(private_redis)
        answers = await asyncio.gather(a.admit("x", 1), b.admit("y", 1), return_exceptions=True)
        assert all(isinstance(answer, QuotaResyncing) for answer in answers)
        await asyncio.gather(a.state.recovery.resynced(), b.state.recovery.resynced())
        assert a.state.recovery.epoch == b.state.recovery.epoch
        assert await a.spend() == Spend(4_000_000, 0)  # seeded once, nothing added twice

    run(private_redis, body)


def test_a_resync_waits_for_the_answers_to_admissions_already_sent(private_redis: str) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        del b, ledger
        lose_data(private_redis)
        # Sent together: each is refused by the script, none may be registered as held.
        answers = await asyncio.gather(
            *(a.admit(f"r{i}", 1_000) for i in range(20)), return_exceptions=True
        )
        assert all(isinstance(answer, QuotaResyncing) for answer in answers)
        await a.state.recovery.resynced()
        assert await a.spend() == Spend(0, 0)
        assert await a.state.outstanding(START + 1) == []

    run(private_redis, body)


def test_a_replica_started_while_redis_was_down_syncs_before_admitting_under_a_budget() -> None:
    server = PrivateRedis(free_port())  # not started yet

    async def main() -> None:
        ledger = Ledger()
        ledger.rows["earlier"] = 19_900_000  # spent before this replica started
        replica = Replica(server.url, "late", ledger, Clock())
        try:
            await replica.state.start(ledger)  # does not fail: the store may come back
            with pytest.raises(QuotaUnavailable):
                await replica.admit("r1", 400_000)
            await asyncio.to_thread(server.start)
            refusal = await replica.resynced_admit("r1", 400_000)
            assert refusal is not None
            assert (refusal.kind, refusal.used) == ("budget", 19_900_000)
        finally:
            await replica.state.close()
            server.stop()

    uvloop.run(main())


def test_asks_under_no_budget_do_not_wait_for_a_resync(private_redis: str) -> None:
    rpm = RateLimit("key:vk_1:rpm", 100, 1)

    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        del b, ledger
        lose_data(private_redis)
        with pytest.raises(QuotaResyncing):
            await a.admit("budgeted", 1)
        assert a.state.recovery.epoch is not None
        # Rate limits only: admitted at once, resync or not (a lost bucket only refills early).
        assert await a.state.admit(Ask("rated", "lw_1", (rpm,), (), 0), a.clock.now) is None
        await a.state.recovery.resynced()
        assert await a.admit("budgeted", 1) is None

    run(private_redis, body)


def test_reservations_of_a_replica_whose_lease_lapsed_are_reaped_from_the_ledger(
    private_redis: str,
) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        assert await a.admit("answered", 1_000_000) is None
        assert await a.admit("unanswered", 2_000_000) is None
        ledger.rows["answered"] = 600_000  # settled in the ledger; A died before Redis heard
        b.clock.now += LEASE_S + 1
        assert await b.state.recovery.beat() == 0  # A's lease is live: nothing to reap
        redis.Redis.from_url(private_redis).delete("ns:lease:replica:a")  # as if it lapsed
        assert await b.state.recovery.beat() == 2
        assert await b.spend() == Spend(600_000, 0)
        assert await b.state.outstanding(b.clock.now) == []

    run(private_redis, body)


def test_reservations_registered_after_a_loss_are_not_taken_for_a_lapsed_owners(
    private_redis: str,
) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        del ledger
        assert await a.admit("long", 1_000_000) is None  # a long stream, still running
        a.clock.now += LEASE_S + 1
        lose_data(private_redis)  # the leases go with everything else
        assert await a.resynced_admit("a", 1) is None
        assert await b.resynced_admit("b", 1) is None
        # A registered it under a lease of its own (and B its own: its first beat finds it).
        assert await b.state.recovery.beat() == 0
        await b.state.recovery.resynced()
        assert await b.state.recovery.beat() == 0
        assert await b.spend() == Spend(0, 1_000_000 + 1 + 1)

    run(private_redis, body)


def test_a_replica_cut_off_past_its_lease_still_counts_what_it_settles(private_redis: str) -> None:
    async def body(a: Replica, b: Replica, ledger: Ledger) -> None:
        assert await a.admit("late", 1_000_000) is None
        assert await a.admit("running", 2_000_000) is None
        b.clock.now += LEASE_S + 1
        redis.Redis.from_url(private_redis).delete("ns:lease:replica:a")
        assert await b.state.recovery.beat() == 2  # both released: the ledger has neither
        assert await b.spend() == Spend(0, 0)
        await a.settle("late", 300_000)  # released by the reaper: counted now, once
        await a.settle("late", 300_000)
        assert await a.spend() == Spend(300_000, 0)
        await a.state.recovery.beat()  # A finds its lease lapsed: puts back what it holds
        await a.state.recovery.resynced()
        assert await a.spend() == Spend(300_000, 2_000_000)
        await a.settle("running", 1_000_000)
        assert await a.spend() == Spend(1_300_000, 0)

    run(private_redis, body)
