"""The emulator's rate limiter: buckets, OpenAI's headers and 429s, Go-style durations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.clock import ManualClock
from laneway.emulator.rate_limits import Decision, Limits, RateLimiter, go_duration
from laneway.pricing.model_spec import TierLimit

MODEL = "gpt-5.2"
VISIT = "Visit https://platform.openai.com/account/rate-limits to learn more."


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limiter(clock: ManualClock) -> RateLimiter:
    return RateLimiter(clock, {MODEL: Limits(rpm=500, tpm=500_000)})


def allowed(decision: Decision | None) -> Decision:
    assert decision is not None
    assert decision.allowed, decision.error and decision.error.message
    assert decision.error is None
    assert decision.retry_after_s is None
    return decision


def refused(decision: Decision | None) -> Decision:
    assert decision is not None
    assert not decision.allowed
    assert decision.error is not None
    assert decision.error.status == 429
    assert decision.error.code == "rate_limit_exceeded"
    assert decision.error.param is None
    return decision


def remaining(decision: Decision) -> tuple[int, int]:
    h = decision.headers
    return int(h["x-ratelimit-remaining-requests"]), int(h["x-ratelimit-remaining-tokens"])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.012, "12ms"),
        (1, "1s"),
        (90.5, "1m30.5s"),
        (360, "6m0s"),
        (3725, "1h2m5s"),
        (3600, "1h0m0s"),
        (0.0015, "1.5ms"),
        (0.000_5, "500µs"),
        (0.000_000_25, "250ns"),
        (1.898, "1.898s"),
        (59.999, "59.999s"),
        (0.12, "120ms"),
        (-1.5, "-1.5s"),
        (86_400, "24h0m0s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_go_duration_refuses_what_is_not_a_duration() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        go_duration(float("inf"))


def test_unknown_model_is_not_limited(limiter: RateLimiter) -> None:
    assert limiter.check("gpt-4o", 10**9) is None
    limiter.settle("gpt-4o", 1, 2)  # nothing to settle, nothing raised


def test_headers_after_n_requests(limiter: RateLimiter) -> None:
    first = allowed(limiter.check(MODEL, 1000))
    assert first.headers == {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-limit-tokens": "500000",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-remaining-tokens": "499000",
        "x-ratelimit-reset-requests": "120ms",  # one request refills in 60 s / 500
        "x-ratelimit-reset-tokens": "120ms",  # 1,000 tokens refill in 60 s * 1000 / 500000
    }
    for _ in range(9):
        last = allowed(limiter.check(MODEL, 1000))
    assert remaining(last) == (490, 490_000)
    assert last.headers["x-ratelimit-reset-requests"] == "1.2s"
    assert last.headers["x-ratelimit-reset-tokens"] == "1.2s"


def test_refusal_at_the_request_limit_and_the_exact_wait(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    for _ in range(500):
        allowed(limiter.check(MODEL, 10))
    decision = refused(limiter.check(MODEL, 10))
    assert decision.retry_after_s == 0.12
    assert decision.headers["x-ratelimit-remaining-requests"] == "0"
    assert decision.headers["x-ratelimit-reset-requests"] == "1m0s"
    assert decision.headers["x-ratelimit-remaining-tokens"] == "495000"  # nothing consumed
    error = decision.error
    assert error is not None
    assert error.type == "requests"
    assert error.message == (
        "Rate limit reached for gpt-5.2 in organization org-emulator on requests per min (RPM): "
        f"Limit 500, Used 500, Requested 1. Please try again in 120ms. {VISIT}"
    )
    assert error.headers == {**decision.headers, "retry-after": "1", "retry-after-ms": "120"}
    assert error.to_json()["error"]["type"] == "requests"

    clock.advance(0.119)
    again = refused(limiter.check(MODEL, 10))
    assert again.error is not None
    assert again.error.headers["retry-after-ms"] == "1"
    clock.advance(0.001)
    assert remaining(allowed(limiter.check(MODEL, 10))) == (0, 495_990)


def test_retry_after_is_whole_seconds_rounded_up(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, {MODEL: Limits(rpm=40, tpm=10_000)})
    for _ in range(40):
        allowed(limiter.check(MODEL, 1))
    decision = refused(limiter.check(MODEL, 1))
    assert decision.error is not None
    assert decision.error.headers["retry-after"] == "2"
    assert decision.error.headers["retry-after-ms"] == "1500"
    assert "Please try again in 1.5s." in decision.error.message
    assert decision.retry_after_s == 1.5


def test_buckets_refill_continuously(limiter: RateLimiter, clock: ManualClock) -> None:
    for _ in range(500):
        allowed(limiter.check(MODEL, 1000))  # tokens: exactly the 500,000 capacity
    clock.advance(30.0)
    half = allowed(limiter.check(MODEL, 0))
    assert remaining(half) == (249, 250_000)
    assert half.headers["x-ratelimit-reset-requests"] == "30.12s"
    assert half.headers["x-ratelimit-reset-tokens"] == "30s"
    clock.advance(3600.0)
    full = allowed(limiter.check(MODEL, 0))
    assert remaining(full) == (499, 500_000)  # refill stops at capacity
    assert full.headers["x-ratelimit-reset-tokens"] == "0s"


def test_token_bucket_refusal(limiter: RateLimiter, clock: ManualClock) -> None:
    allowed(limiter.check(MODEL, 499_000))
    decision = refused(limiter.check(MODEL, 2000))
    assert decision.error is not None
    assert decision.error.type == "tokens"
    assert decision.error.message == (
        "Rate limit reached for gpt-5.2 in organization org-emulator on tokens per min (TPM): "
        f"Limit 500000, Used 499000, Requested 2000. Please try again in 120ms. {VISIT}"
    )
    assert decision.error.headers["retry-after-ms"] == "120"
    assert remaining(decision) == (499, 1000)  # the refused request took nothing
    assert decision.headers["x-ratelimit-reset-tokens"] == "59.88s"
    clock.advance(0.12)
    assert remaining(allowed(limiter.check(MODEL, 2000))) == (499, 0)  # 1 request refilled too


def test_when_both_buckets_lack_room_the_longer_wait_is_named(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, {MODEL: Limits(rpm=2, tpm=1000)}, organization="org-abc")
    allowed(limiter.check(MODEL, 100))
    allowed(limiter.check(MODEL, 100))  # requests: 30 s to the next one
    decision = refused(limiter.check(MODEL, 1000))  # tokens: 200 to come, 12 s
    assert decision.error is not None
    assert decision.error.type == "requests"
    assert "organization org-abc" in decision.error.message
    assert decision.retry_after_s == 30.0
    assert decision.error.headers["retry-after"] == "30"
    clock.advance(30.0)
    allowed(limiter.check(MODEL, 1000))


def test_request_too_large_never_fits(limiter: RateLimiter) -> None:
    allowed(limiter.check(MODEL, 500_000))  # the whole capacity is fine when the bucket is full
    decision = refused(limiter.check(MODEL, 600_000))
    assert decision.retry_after_s is None
    error = decision.error
    assert error is not None
    assert error.type == "tokens"
    assert error.message == (
        "Request too large for gpt-5.2 in organization org-emulator on tokens per min (TPM): "
        "Limit 500000, Requested 600000. The input or output tokens must be reduced in order to "
        f"run successfully. {VISIT}"
    )
    assert error.headers == decision.headers  # no retry-after: waiting does not help
    assert remaining(decision) == (499, 0)


def test_settle_refunds_and_charges(limiter: RateLimiter, clock: ManualClock) -> None:
    allowed(limiter.check(MODEL, 300_000))
    limiter.settle(MODEL, 300_000, 100_000)
    assert remaining(allowed(limiter.check(MODEL, 0))) == (498, 400_000)
    limiter.settle(MODEL, 100_000, 700_000)  # 600,000 over the estimate: the bucket owes
    decision = refused(limiter.check(MODEL, 1))
    assert remaining(decision) == (498, 0)
    assert decision.headers["x-ratelimit-reset-tokens"] == "1m24s"
    assert decision.retry_after_s == 24.001  # 24.00012 s, rounded up to whole ms
    clock.advance(84.0)
    limiter.settle(MODEL, 500_000, 0)  # a refund never fills a bucket beyond capacity
    assert remaining(allowed(limiter.check(MODEL, 0))) == (500 - 1, 500_000)
    limiter.settle(MODEL, 5, 5)


def test_negative_tokens_are_a_caller_bug(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        limiter.check(MODEL, -1)


def test_limits() -> None:
    assert Limits.of(TierLimit(rpm=500, tpm=30_000)) == Limits(rpm=500, tpm=30_000)
    with pytest.raises(ValueError, match="limits must be positive"):
        Limits(rpm=0, tpm=1)


@settings(max_examples=50, deadline=None)
@given(
    rpm=st.integers(1, 10_000),
    tpm=st.integers(1, 40_000_000),
    steps=st.lists(st.tuples(st.floats(0, 5), st.integers(0, 10**7)), min_size=1, max_size=40),
)
def test_waiting_the_advised_time_always_succeeds(
    rpm: int, tpm: int, steps: list[tuple[float, int]]
) -> None:
    clock = ManualClock()  # Unix-sized: additions carry float noise
    limiter = RateLimiter(clock, {MODEL: Limits(rpm=rpm, tpm=tpm)})
    for pause, wanted in steps:
        clock.advance(pause)
        tokens = min(wanted, tpm)
        decision = limiter.check(MODEL, tokens)
        assert decision is not None
        assert len(decision.headers) == 6
        if not decision.allowed:
            assert decision.retry_after_s is not None
            assert decision.retry_after_s >= 0.001
            clock.advance(decision.retry_after_s)
            allowed(limiter.check(MODEL, tokens))
