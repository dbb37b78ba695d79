"""Many admissions at once, in one event loop, over several connections and from several
processes: a budget admits exactly what fits, and settled spend never passes the limit."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import uvloop

from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import Ask, BudgetCharge, QuotaState, RateLimit, Refusal, Spend
from tests.quota.conftest import START, Backend
from tests.services import REDIS_URL

LIMIT = 10_000_000
AMOUNT = 73_000  # 136 fit: 136 * 73_000 = 9_928_000
FITS = LIMIT // AMOUNT
BUDGETS = (
    BudgetCharge("key:vk_1:day", "day", LIMIT, None),
    BudgetCharge("global:month", "month", LIMIT * 10, None),
)


def budget_ask(rid: str) -> Ask:
    return Ask(rid, "vk_1", (), BUDGETS, AMOUNT)


async def settle_randomly(state: QuotaState, admitted: list[str], seed: int) -> int:
    """Settle every admitted reservation concurrently at a random cost up to its amount."""
    rng = random.Random(seed)
    actuals = {rid: rng.randint(0, AMOUNT) for rid in admitted}
    await asyncio.gather(*(state.settle(rid, cost, None, START) for rid, cost in actuals.items()))
    return sum(actuals.values())


def test_concurrent_admits_fill_a_budget_exactly(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        rids = [f"r{i}" for i in range(300)]
        answers = await asyncio.gather(*(state.admit(budget_ask(rid), START) for rid in rids))
        admitted = [rid for rid, answer in zip(rids, answers, strict=True) if answer is None]
        assert len(admitted) == FITS
        assert {answer.kind for answer in answers if answer is not None} == {"budget"}
        assert await state.spend(BUDGETS[:1], START) == [Spend(0, FITS * AMOUNT)]
        total = await settle_randomly(state, admitted, seed=1)
        # Settling the refused ones too changes nothing.
        await asyncio.gather(*(state.settle(rid, AMOUNT, None, START) for rid in rids))
        assert await state.spend(BUDGETS, START) == [Spend(total, 0), Spend(total, 0)]
        assert total <= LIMIT
        assert await state.outstanding(START + 1) == []

    backend.run(body)


def test_concurrent_admits_fill_a_rate_limit_exactly(backend: Backend) -> None:
    limit = RateLimit("key:vk_1:rpm", 50, 1)

    async def body(state: QuotaState) -> None:
        answers = await asyncio.gather(
            *(state.admit(Ask(f"r{i}", None, (limit,), (), 0), START) for i in range(300))
        )
        assert sum(answer is None for answer in answers) == 50
        refusals = [answer for answer in answers if isinstance(answer, Refusal)]
        assert all(refusal.retry_after_s == pytest.approx(1.2) for refusal in refusals)

    backend.run(body)


def test_many_connections_share_one_budget_exactly(redis_namespace: str) -> None:
    async def main() -> None:
        states = [RedisQuota(REDIS_URL, redis_namespace, timeout_s=5.0) for _ in range(6)]
        try:
            rids = [f"r{i}" for i in range(300)]
            answers = await asyncio.gather(
                *(states[i % 6].admit(budget_ask(rid), START) for i, rid in enumerate(rids))
            )
            admitted = [rid for rid, answer in zip(rids, answers, strict=True) if answer is None]
            assert len(admitted) == FITS
            rng = random.Random(2)
            actuals = {rid: rng.randint(0, AMOUNT) for rid in admitted}
            await asyncio.gather(
                *(
                    states[i % 6].settle(rid, cost, None, START)
                    for i, (rid, cost) in enumerate(actuals.items())
                )
            )
            total = sum(actuals.values())
            for state in states:
                assert await state.spend(BUDGETS, START) == [Spend(total, 0), Spend(total, 0)]
        finally:
            await asyncio.gather(*(state.close() for state in states))

    uvloop.run(main())


def _admit_from_process(namespace: str, worker: int, count: int, start_at: float) -> list[str]:
    """In a process of its own: wait for the common start, then admit `count` at once."""

    async def main() -> list[str]:
        state = RedisQuota(REDIS_URL, namespace, timeout_s=5.0)
        try:
            await state.spend(BUDGETS[:1], START)  # connect before the start
            await asyncio.sleep(max(0.0, start_at - time.time()))
            rids = [f"w{worker}-{i}" for i in range(count)]
            answers = await asyncio.gather(*(state.admit(budget_ask(rid), START) for rid in rids))
            return [rid for rid, answer in zip(rids, answers, strict=True) if answer is None]
        finally:
            await state.close()

    return uvloop.run(main())


def test_separate_processes_share_one_budget_exactly(redis_namespace: str) -> None:
    workers = 4
    start_at = time.time() + 3.0  # after every process has started and connected
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [
            pool.submit(_admit_from_process, redis_namespace, worker, 75, start_at)
            for worker in range(workers)
        ]
        admitted = [rid for future in futures for rid in future.result(timeout=60)]
    assert len(admitted) == FITS
    assert len(set(admitted)) == FITS

    async def settle_all() -> None:
        state = RedisQuota(REDIS_URL, redis_namespace, timeout_s=5.0)
        try:
            total = await settle_randomly(state, admitted, seed=3)
            assert await state.spend(BUDGETS, START) == [Spend(total, 0), Spend(total, 0)]
            assert total <= LIMIT
        finally:
            await state.close()

    uvloop.run(settle_all())
