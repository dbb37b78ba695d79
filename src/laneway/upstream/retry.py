"""When to retry an upstream attempt, and after how long.

The policy follows OpenAI's own SDK where that is sound (shared/openai-wire.md): retry 408, 409,
429, 5xx and connection failures; `x-should-retry: true|false` overrides the status; a server's
delay (`retry-after-ms`, else `retry-after` in seconds or as an HTTP date) is honoured when it is
positive and short enough to wait for; otherwise exponential backoff, capped, with jitter.

Two gateway concerns go beyond the SDK:
- A server delay longer than `max_server_delay_s` is a refusal to be waited out here: the answer
  is "do not retry this deployment" so the caller can fall over to another candidate at once.
- A `RetryBudget` bounds retries to a share of recent traffic (plus a small floor), so an outage
  upstream does not multiply the load on it by the attempt count: a retry storm.

Clock and randomness are parameters, so tests decide time and jitter instead of sleeping.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from laneway.clock import Clock

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3  # the first attempt included
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    jitter: float = 0.25  # a backoff delay is scaled by (1 - jitter * U[0, 1))
    max_server_delay_s: float = 60.0
    retryable_statuses: frozenset[int] = field(default=RETRYABLE_STATUSES)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError("need 0 <= base_delay_s <= max_delay_s")


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay_s: float
    reason: str


def server_delay_s(headers: Mapping[str, str], now: float) -> float | None:
    """The delay the server asked for, in seconds, or None when it asked for none we can read.

    `headers` must have lower-case names. `now` is unix time, for an HTTP-date Retry-After.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return value
    after = headers.get("retry-after")
    if after is None:
        return None
    try:
        value = float(after)
    except ValueError:
        try:
            return parsedate_to_datetime(after).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return value if math.isfinite(value) else None


def decide(
    policy: RetryPolicy,
    *,
    attempt: int,
    status: int | None,
    headers: Mapping[str, str],
    now: float,
    rng: random.Random,
) -> RetryDecision:
    """Whether to try again after attempt number `attempt` (1-based) ended with `status`.

    `status` None means no HTTP answer at all (connection refused or reset, a timeout).
    """
    if attempt >= policy.max_attempts:
        return RetryDecision(False, 0.0, f"gave up after {attempt} attempts")
    should = headers.get("x-should-retry")
    if should == "false":
        return RetryDecision(False, 0.0, "upstream said x-should-retry: false")
    if should != "true" and status is not None and status not in policy.retryable_statuses:
        return RetryDecision(False, 0.0, f"status {status} is not retryable")

    asked = server_delay_s(headers, now)
    if asked is not None and asked > policy.max_server_delay_s:
        return RetryDecision(
            False, 0.0, f"upstream asked to wait {asked:.0f} s; better another candidate"
        )
    if asked is not None and asked > 0:
        return RetryDecision(True, asked, "upstream asked for this delay")
    backoff = min(policy.base_delay_s * 2 ** (attempt - 1), policy.max_delay_s)
    backoff *= 1 - policy.jitter * rng.random()
    cause = "no answer" if status is None else f"status {status}"
    return RetryDecision(True, backoff, f"{cause}: exponential backoff")


class RetryBudget:
    """Retries allowed as a share of recent requests, plus a floor per second.

    Every request deposits `ratio` of a token; every retry spends a whole one; tokens also
    accrue at `floor_per_s`, up to `cap`. With ratio 0.2 an outage adds at most ~20% load.
    One budget per upstream deployment; not thread-safe (one event loop owns it).
    """

    def __init__(
        self, clock: Clock, *, ratio: float = 0.2, floor_per_s: float = 1.0, cap: float = 100.0
    ) -> None:
        if ratio < 0 or floor_per_s < 0 or cap <= 0:
            raise ValueError("ratio and floor_per_s must be >= 0 and cap > 0")
        self._clock = clock
        self._ratio = ratio
        self._floor = floor_per_s
        self._cap = cap
        self._tokens = cap
        self._updated = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self._cap, self._tokens + (now - self._updated) * self._floor)
        self._updated = now

    def record_request(self) -> None:
        self._refill()
        self._tokens = min(self._cap, self._tokens + self._ratio)

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when it is spent."""
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens
