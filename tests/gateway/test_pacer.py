"""The pacer on its own: bounded waits on an injected clock, and the limits it paces under."""

from __future__ import annotations

import logging
import random

import pytest
import uvloop

from laneway.clock import ManualClock
from laneway.config import GatewayConfig, ProviderConfig
from laneway.gateway.answer import AnswerMeta
from laneway.gateway.attempts import Attempts
from laneway.gateway.client import ANONYMOUS_CLIENT
from laneway.gateway.observers import Exchange, Observers
from laneway.gateway.pacing import PaceLimits, Pacer, pace_limits
from laneway.ledger.record import LedgerRecord
from laneway.pricing.catalog import Catalog
from laneway.quota.memory import MemoryQuota
from laneway.routing.explain import Route
from laneway.routing.router import Plan
from laneway.upstream.breaker import Breakers
from laneway.upstream.headroom import Headroom
from laneway.upstream.health import Health
from laneway.upstream.providers import Candidate, Provider
from laneway.upstream.retry import RetryBudget, RetryPolicy
from laneway.upstream.timeouts import TimeoutsConfig
from laneway.wire.errors import ApiError
from laneway.wire.request import read_request


class ClockSleep:
    """Sleeping moves the manual clock; every wait is noted."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def provider(name: str, clock: ManualClock) -> Provider:
    return Provider(
        name=name,
        kind="openai-compatible",
        base_url="http://127.0.0.1:9",
        models=frozenset(),
        tier="tier-1",
        transport=None,  # type: ignore[arg-type]  # never sent: every attempt is paced out
        retry_budget=RetryBudget(clock, ratio=0.2),
        headers={},
    )


def make_pacer(clock: ManualClock, sleep: ClockSleep, max_wait_s: float, rpm: int = 2) -> Pacer:
    def limits_of(provider: str, model: str) -> PaceLimits | None:
        return PaceLimits(rpm, 1_000, model) if provider != "free" else None

    return Pacer(MemoryQuota(), limits_of, clock, sleep, max_wait_s=max_wait_s, fail_open=False)


def test_a_short_wait_is_waited_a_long_one_refused_and_unpaced_deployments_pass() -> None:
    clock = ManualClock()
    sleep = ClockSleep(clock)
    pacer = make_pacer(clock, sleep, max_wait_s=31.0)
    paced = Candidate(provider("p", clock), "m")
    free = Candidate(provider("free", clock), "m")

    async def body() -> None:
        deadline = clock.monotonic() + pacer.max_wait_s
        assert await pacer.acquire(paced, 10, deadline) == (None, 0.0)
        assert await pacer.acquire(paced, 10, deadline) == (None, 0.0)
        # Two per minute: room again in 30 s, inside the deadline: waited for, then taken.
        assert await pacer.acquire(paced, 10, deadline) == (None, 30.0)
        assert sleep.waits == [30.0]
        # The next room is 30 s on again: past the deadline, so refused without waiting.
        refusal, waited = await pacer.acquire(paced, 10, deadline)
        assert refusal is not None
        assert refusal.retry_after_s == pytest.approx(30.0)
        assert (waited, sleep.waits) == (0.0, [30.0])
        # Larger than the tokens limit: never fits, refused at once.
        huge, _ = await pacer.acquire(Candidate(provider("p", clock), "n"), 5_000, deadline + 99)
        assert huge is not None
        assert huge.retry_after_s is None
        # A deployment without limits is never held back.
        for _ in range(10):
            assert await pacer.acquire(free, 10, deadline) == (None, 0.0)

    uvloop.run(body())


def test_the_soonest_retry_after_among_paced_out_candidates_is_the_answer() -> None:
    clock = ManualClock()
    sleep = ClockSleep(clock)
    pacer = make_pacer(clock, sleep, max_wait_s=0.0, rpm=1)
    first, second = Candidate(provider("a", clock), "m"), Candidate(provider("b", clock), "m")
    attempts = Attempts(
        RetryPolicy(),
        clock,
        random.Random(1),
        sleep,
        Health(Breakers(clock), Headroom(clock)),
        Observers(),
        pacer,
    )
    request = read_request("responses", b'{"model": "m", "input": "hi"}')

    async def body() -> None:
        far = clock.monotonic() + 99
        assert await pacer.acquire(first, 0, far) == (None, 0.0)
        clock.advance(20.0)  # a has room again in 40 s
        assert await pacer.acquire(second, 0, far) == (None, 0.0)  # b: in 60 s
        plan = Plan(
            None,
            [first, second],
            TimeoutsConfig().for_effort(None),
            Route(None, "model", "model"),
            {},
        )
        record = LedgerRecord("req_1", clock.time(), None, "responses", "m", stream=False)
        meta = AnswerMeta(record, plan.route)
        exchange = Exchange(request, ANONYMOUS_CLIENT, plan, record, clock.monotonic(), meta)
        with pytest.raises(ApiError) as failed:
            await attempts.run(exchange, {})
        error = failed.value
        log = exchange.attempts
        assert (error.status, error.code, error.type) == (429, "rate_limit_exceeded", "requests")
        assert error.headers["retry-after-ms"] == "40000"
        assert "for m at provider 'a'" in error.message
        assert [(a.provider, a.status) for a in log] == [("a", None), ("b", None)]
        assert sleep.waits == []

    uvloop.run(body())


def test_limits_come_from_the_tier_the_overrides_and_are_shared_by_a_models_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = Catalog.load()
    config = GatewayConfig.model_validate(
        {
            "providers": {
                "openai": {"kind": "openai", "tier": "tier-1"},
                "custom": {
                    "kind": "openai",
                    "tier": "tier-5",
                    "rate_limits": {"gpt-5.4-mini": {"rpm": 7, "tpm": 7_000}},
                },
                "local": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:8000/v1"},
            }
        }
    )
    limits_of = pace_limits(config.providers, catalog)
    spec = catalog.find("gpt-5.2")
    assert spec is not None
    published = spec.tier_limit("tier-1")
    assert published is not None
    assert limits_of("openai", "gpt-5.2") == PaceLimits(published.rpm, published.tpm, "gpt-5.2")
    # A snapshot name is counted under the model's id, with the same limits.
    assert spec.snapshot is not None
    assert limits_of("openai", spec.snapshot) == limits_of("openai", "gpt-5.2")
    assert limits_of("custom", "gpt-5.4-mini") == PaceLimits(7, 7_000, "gpt-5.4-mini")
    assert limits_of("local", "gpt-5.2") is None  # openai-compatible: off unless asked for
    assert not ProviderConfig(kind="openai-compatible", base_url="http://x").paced
    assert not ProviderConfig(kind="openai").paced  # no tier written: limits not known
    assert not ProviderConfig(kind="openai", tier="tier-2", pace=False).paced
    assert ProviderConfig(kind="openai", tier="tier-2").paced
    with caplog.at_level(logging.WARNING):
        assert limits_of("openai", "no-such-model") is None  # no known limits: not paced
    assert "no known tier-1 limits" in caplog.text
