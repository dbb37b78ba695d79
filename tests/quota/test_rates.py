"""Rate limits in both quota states: token buckets of one minute, refilled continuously."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import uvloop

from laneway.quota.memory import MemoryQuota
from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import (
    GRACE_S,
    Ask,
    BudgetCharge,
    QuotaState,
    RateLimit,
    Refusal,
    Spend,
)
from tests.quota.conftest import START, Backend
from tests.services import REDIS_URL


def rates_ask(rid: str, *rates: RateLimit) -> Ask:
    return Ask(rid, None, rates, (), 0)


def rpm(limit: int) -> RateLimit:
    return RateLimit("key:vk_1:rpm", limit, 1)


def tpm(limit: int, tokens: int) -> RateLimit:
    return RateLimit("key:vk_1:tpm", limit, tokens, tokens=True)


def test_a_minute_of_requests_at_once_then_one_per_refill(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        for i in range(5):
            assert await state.admit(rates_ask(f"r{i}", rpm(5)), START) is None
        refusal = await state.admit(rates_ask("r5", rpm(5)), START)
        assert refusal == Refusal("rate", "key:vk_1:rpm", 5, 5, 1, 12.0)
        # Each request frees up after 60/5 = 12 s.
        early = await state.admit(rates_ask("r5", rpm(5)), START + 11.75)
        assert early is not None
        assert early.retry_after_s == 0.25
        assert await state.admit(rates_ask("r5", rpm(5)), START + 12.0) is None
        again = await state.admit(rates_ask("r6", rpm(5)), START + 12.0)
        assert again is not None
        assert again.retry_after_s == 12.0

    backend.run(body)


def test_retry_after_is_exactly_when_the_request_fits(backend: Backend) -> None:
    rng = random.Random(11)

    async def body(state: QuotaState) -> None:
        now = START
        refusals = 0
        for i in range(300):
            limit = RateLimit("key:vk_2:tpm", 997, rng.randint(1, 400))
            now += rng.uniform(0, 3)
            refusal = await state.admit(rates_ask(f"a{i}", limit), now)
            if refusal is None:
                continue
            refusals += 1
            assert refusal.retry_after_s is not None
            assert refusal.retry_after_s > 0
            fits_at = now + refusal.retry_after_s
            # Two microseconds before, it does not fit yet (the grace is one); at it, it does.
            assert await state.admit(rates_ask(f"b{i}", limit), fits_at - 2e-6) is not None
            assert await state.admit(rates_ask(f"a{i}", limit), fits_at) is None
            now = fits_at
        assert refusals > 100

    backend.run(body)


def test_the_bucket_refills_continuously(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(rates_ask("r1", tpm(600, 600)), START) is None  # all at once
        refusal = await state.admit(rates_ask("r2", tpm(600, 301)), START + 30)
        assert refusal is not None
        assert refusal.retry_after_s == pytest.approx(0.1)  # 1 token is 0.1 s of refill
        assert refusal == Refusal("rate", "key:vk_1:tpm", 600, 300, 301, refusal.retry_after_s)
        assert await state.admit(rates_ask("r2", tpm(600, 300)), START + 30) is None
        assert await state.admit(rates_ask("r3", tpm(600, 1)), START + 30) is not None
        # A full minute later the bucket is full again, and holds no more than full.
        assert await state.admit(rates_ask("r4", tpm(600, 600)), START + 500) is None
        assert await state.admit(rates_ask("r5", tpm(600, 1)), START + 500) is not None

    backend.run(body)


def test_a_request_larger_than_the_limit_never_fits(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        refusal = await state.admit(rates_ask("big", tpm(1_000, 1_001)), START)
        assert refusal == Refusal("rate", "key:vk_1:tpm", 1_000, 0, 1_001, None)
        assert await state.admit(rates_ask("ok", tpm(1_000, 1_000)), START) is None

    backend.run(body)


def test_a_refusal_names_the_first_limit_and_waits_for_all(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(rates_ask("r1", rpm(2), tpm(600, 600)), START) is None
        assert await state.admit(rates_ask("r2", rpm(2), tpm(600, 0)), START) is None
        # Both refuse: the requests limit (first) is named, the wait is the tokens limit's.
        refusal = await state.admit(rates_ask("r3", rpm(2), tpm(600, 600)), START)
        assert refusal == Refusal("rate", "key:vk_1:rpm", 2, 2, 1, 60.0)
        # The tokens limit alone refuses: it is named.
        refusal = await state.admit(rates_ask("r3", rpm(2), tpm(600, 600)), START + 30)
        assert refusal == Refusal("rate", "key:vk_1:tpm", 600, 300, 600, 30.0)
        # One of them can never fit: no retry helps.
        refusal = await state.admit(rates_ask("r4", rpm(2), tpm(600, 601)), START)
        assert refusal is not None
        assert (refusal.limit_id, refusal.retry_after_s) == ("key:vk_1:rpm", None)

    backend.run(body)


def test_a_refused_request_charges_no_limit(backend: Backend) -> None:
    budget = BudgetCharge("key:vk_1:day", "day", 1_000, None)

    async def body(state: QuotaState) -> None:
        assert await state.admit(rates_ask("r0", tpm(100, 50)), START) is None
        refusal = await state.admit(rates_ask("r1", rpm(1), tpm(100, 51)), START)
        assert refusal is not None
        assert refusal.limit_id == "key:vk_1:tpm"
        # The requests limit was not charged by the refusal from the tokens limit.
        assert await state.admit(rates_ask("r1", rpm(1), tpm(100, 50)), START) is None
        # A budget refusal charges no rate limit either.
        other = RateLimit("key:vk_2:tpm", 100, 100, tokens=True)
        refusal = await state.admit(Ask("r2", None, (other,), (budget,), 1_001), START)
        assert refusal is not None
        assert refusal.kind == "budget"
        assert await state.admit(rates_ask("r3", other), START) is None
        assert await state.spend([budget], START) == [Spend(0, 0)]

    backend.run(body)


def test_settle_corrects_the_token_charge_to_the_tokens_used(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(rates_ask("r1", rpm(1), tpm(1_000, 1_000)), START) is None
        await state.settle("r1", 0, 100, START + 1)  # 900 tokens refunded at once
        assert await state.admit(rates_ask("r2", tpm(1_000, 917)), START + 1) is not None
        assert await state.admit(rates_ask("r2", tpm(1_000, 916)), START + 1) is None
        # Using more than estimated is owed: the next request waits for it.
        assert await state.admit(rates_ask("r3", tpm(1_000, 500)), START + 61) is None
        await state.settle("r3", 0, 1_500, START + 61)
        refusal = await state.admit(rates_ask("r4", tpm(1_000, 1)), START + 61)
        assert refusal is not None
        assert refusal.retry_after_s == pytest.approx(30.06)  # 1000 tokens owed, then 1
        # The requests limit is no tokens limit: the correction left its charge of 1 alone.
        assert await state.admit(rates_ask("q1", rpm(1)), START + 60) is None

    backend.run(body)


def test_a_refund_stops_at_a_full_bucket(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(rates_ask("r1", tpm(1_000, 800)), START) is None
        await state.settle("r1", 0, 0, START + 120)  # long since refilled: nothing to refund
        assert await state.admit(rates_ask("r2", tpm(1_000, 600)), START + 120) is None
        assert await state.admit(rates_ask("r3", tpm(1_000, 600)), START + 120) is not None

    backend.run(body)


def test_admitted_cost_never_exceeds_a_minute_of_refill_plus_the_burst(backend: Backend) -> None:
    """Over any span of D seconds at most per_minute * (D / 60 + 1) is admitted."""
    per_minute = 600
    rng = random.Random(5)

    async def body(state: QuotaState) -> None:
        now = START
        admitted: list[tuple[float, int]] = []
        for i in range(600):
            now += rng.choice([0.0, 0.0, 0.01, 0.1, 0.5, 2.0, 7.3])
            cost = rng.randint(1, 120)
            limit = RateLimit("key:vk_3:tpm", per_minute, cost)
            if await state.admit(rates_ask(f"r{i}", limit), now) is None:
                admitted.append((now, cost))
        assert len(admitted) > 100
        assert sum(cost for _, cost in admitted) > per_minute * (now - START) / 60 * 0.8
        for i, (start, _) in enumerate(admitted):
            total = 0
            for end, cost in admitted[i:]:
                total += cost
                span = Fraction(end) - Fraction(start)
                bound = per_minute * ((span + Fraction(GRACE_S)) / 60 + 1)
                assert total <= bound

    backend.run(body)


def test_memory_and_redis_decide_alike(redis_namespace: str) -> None:
    """The same asks at the same times get the same answers, to the last bit."""
    rng = random.Random(3)
    script: list[tuple[str, float, Ask, int | None]] = []
    now = START
    for i in range(400):
        now += rng.choice([0.0, 0.003, 0.25, 1.7, 9.0])
        rates = (
            RateLimit("key:a:rpm", 7, 1),
            RateLimit("key:a:tpm", 1_009, rng.randint(0, 500), tokens=True),
        )
        tokens = rng.choice([None, rng.randint(0, 900)])
        script.append((f"r{i}", now, Ask(f"r{i}", None, rates[: rng.randint(1, 2)], (), 0), tokens))

    async def play(state: QuotaState) -> list[Refusal | None]:
        rng = random.Random(9)  # which asks settle, the same for both
        answers = []
        try:
            for rid, at, one, tokens in script:
                answers.append(await state.admit(one, at))
                if rng.random() < 0.7:
                    await state.settle(rid, 0, tokens, at + 0.5)
        finally:
            await state.close()
        return answers

    in_memory = uvloop.run(play(MemoryQuota()))
    in_redis = uvloop.run(play(RedisQuota(REDIS_URL, redis_namespace)))
    assert in_memory == in_redis
    assert sum(answer is None for answer in in_memory) > 100
    assert sum(answer is not None for answer in in_memory) > 100


def test_take_charges_rates_alone_and_refuses_without_charging(backend: Backend) -> None:
    """Upstream pacing: rates checked and charged in one step, with nothing to settle."""
    requests = RateLimit("upstream:openai:gpt-5.4:rpm", 2, 1)
    tokens = RateLimit("upstream:openai:gpt-5.4:tpm", 1_000, 400, tokens=True)

    async def body(state: QuotaState) -> None:
        assert await state.take((requests, tokens), START) is None
        assert await state.take((requests, tokens), START) is None
        # The third: both limits are short; the refusal names the first and waits for both.
        third = await state.take((requests, tokens), START)
        assert third == Refusal("rate", requests.id, 2, 2, 1, 30.0)
        # Nothing was charged by the refusal: the tokens bucket has 200 tokens left now.
        assert await state.take((RateLimit(tokens.id, 1_000, 200, tokens=True),), START) is None
        small = await state.take((RateLimit(tokens.id, 1_000, 1, tokens=True),), START)
        assert small is not None
        assert small.retry_after_s == pytest.approx(0.06)
        # Too large ever to fit: no wait would help.
        huge = await state.take((RateLimit(tokens.id, 1_000, 1_001, tokens=True),), START)
        assert huge is not None
        assert huge.retry_after_s is None
        # take and admit share the buckets (the same id is the same limit).
        assert await state.admit(rates_ask("r1", requests), START + 30.0) is None
        late = await state.take((requests,), START + 30.0)
        assert late is not None
        assert late.retry_after_s == pytest.approx(30.0)

    backend.run(body)


def test_memory_and_redis_take_alike(redis_namespace: str) -> None:
    rng = random.Random(5)
    script: list[tuple[float, tuple[RateLimit, ...]]] = []
    now = START
    for _ in range(300):
        now += rng.choice([0.0, 0.001, 0.2, 3.1])
        rates = (
            RateLimit("upstream:p:m:rpm", 11, 1),
            RateLimit("upstream:p:m:tpm", 2_003, rng.randint(0, 700), tokens=True),
        )
        script.append((now, rates[rng.randint(0, 1) :]))

    async def play(state: QuotaState) -> list[Refusal | None]:
        try:
            return [await state.take(rates, at) for at, rates in script]
        finally:
            await state.close()

    in_memory = uvloop.run(play(MemoryQuota()))
    in_redis = uvloop.run(play(RedisQuota(REDIS_URL, redis_namespace)))
    assert in_memory == in_redis
    assert sum(answer is None for answer in in_memory) > 50
    assert sum(answer is not None for answer in in_memory) > 50
