"""The upstream retry policy and the retry budget, with an injected clock and randomness."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from laneway.clock import ManualClock
from laneway.upstream.retry import RetryBudget, RetryPolicy, decide, server_delay_s

NOW = 1_767_225_600.0
POLICY = RetryPolicy()


class FixedRandom(random.Random):
    """random() always returns `value`: jitter becomes a known number."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def attempt(
    n: int,
    status: int | None,
    headers: dict[str, str] | None = None,
    *,
    policy: RetryPolicy = POLICY,
    jitter_draw: float = 0.0,
) -> tuple[bool, float, str]:
    decision = decide(
        policy,
        attempt=n,
        status=status,
        headers=headers or {},
        now=NOW,
        rng=FixedRandom(jitter_draw),
    )
    return decision.retry, decision.delay_s, decision.reason


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, None])
def test_retryable_failures(status: int | None) -> None:
    retry, delay, _ = attempt(1, status)
    assert retry
    assert delay == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    assert attempt(1, status)[0] is False


def test_backoff_doubles_and_caps() -> None:
    policy = RetryPolicy(max_attempts=10)
    delays = [attempt(n, 503, policy=policy)[1] for n in range(1, 8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_only_shortens_and_by_at_most_a_quarter() -> None:
    assert attempt(2, 503, jitter_draw=0.999_999)[1] == pytest.approx(1.0 * (1 - 0.25 * 0.999_999))
    real = [
        decide(POLICY, attempt=2, status=503, headers={}, now=NOW, rng=random.Random(i)).delay_s
        for i in range(200)
    ]
    assert all(0.75 < d <= 1.0 for d in real)
    assert len(set(real)) > 100  # jitter actually varies


def test_attempts_are_capped() -> None:
    retry, _, reason = attempt(3, 503)
    assert not retry
    assert "after 3 attempts" in reason
    assert attempt(1, 503, policy=RetryPolicy(max_attempts=1))[0] is False


def test_x_should_retry_overrides_the_status() -> None:
    assert attempt(1, 400, {"x-should-retry": "true"})[0] is True
    assert attempt(1, 503, {"x-should-retry": "false"})[0] is False
    assert attempt(3, 400, {"x-should-retry": "true"})[0] is False  # but not the attempt cap


def test_server_delays_win_over_backoff() -> None:
    assert attempt(1, 429, {"retry-after-ms": "644"})[1] == pytest.approx(0.644)
    assert attempt(1, 429, {"retry-after": "3"})[1] == 3.0
    both = {"retry-after-ms": "250", "retry-after": "7"}
    assert attempt(1, 429, both)[1] == pytest.approx(0.25)  # the finer one first
    date = formatdate(NOW + 12, usegmt=True)
    assert attempt(1, 503, {"retry-after": date})[1] == pytest.approx(12.0)


def test_unusable_server_delays_fall_back_to_backoff() -> None:
    for headers in ({"retry-after": "soon"}, {"retry-after-ms": "nan"}, {"retry-after": "0"},
                    {"retry-after": "-5"}, {"retry-after-ms": "inf"}):  # fmt: skip
        retry, delay, reason = attempt(1, 429, headers)
        assert retry, headers
        assert delay == 0.5, headers
        assert "backoff" in reason


def test_a_long_server_delay_means_try_elsewhere() -> None:
    retry, _, reason = attempt(1, 429, {"retry-after": "3600"})
    assert not retry
    assert "another candidate" in reason


def test_server_delay_parsing() -> None:
    assert server_delay_s({}, NOW) is None
    assert server_delay_s({"retry-after": "1.5"}, NOW) == 1.5
    assert server_delay_s({"retry-after": "Wed, 01 Jan 2026 00:00:30 GMT"}, NOW) == 30.0
    assert server_delay_s({"retry-after": "garbage"}, NOW) is None


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.0)
    with pytest.raises(ValueError, match="base_delay_s"):
        RetryPolicy(base_delay_s=10, max_delay_s=1)


def test_budget_limits_retries_to_a_share_of_traffic() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock, ratio=0.2, floor_per_s=0.0, cap=10.0)
    spent = sum(budget.try_spend() for _ in range(50))
    assert spent == 10  # the initial allowance, then nothing
    for _ in range(100):  # 100 requests at 20% earn 20 retries
        budget.record_request()
    assert sum(budget.try_spend() for _ in range(50)) == 10  # capped at 10 stored


def test_budget_floor_refills_with_time() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock, ratio=0.0, floor_per_s=2.0, cap=5.0)
    while budget.try_spend():
        pass
    assert budget.available < 1
    clock.advance(1.0)
    assert budget.try_spend()
    assert budget.try_spend()
    assert not budget.try_spend()
    clock.advance(100)
    assert budget.available == 5.0


def test_budget_validation() -> None:
    with pytest.raises(ValueError, match="cap"):
        RetryBudget(ManualClock(), cap=0)
