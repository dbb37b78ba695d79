"""Per-model rate limits for one usage tier, enforced, with OpenAI's headers and 429 errors.

Each model has two continuous-refill buckets: requests (capacity rpm, refilling rpm/60 a second)
and tokens (capacity tpm, refilling tpm/60 a second). A request takes 1 request and the tokens
the caller estimates (input + max output, as OpenAI does); it is refused, consuming nothing, if
either bucket lacks room.

A bucket is kept as the time at which it will be full again (the GCRA form of a token bucket):
one float per bucket, no refill loop, and "time until full" (the reset header) falls out
directly. Using u units adds u * 60/limit seconds of debt; room means the debt stays <= 60 s.

Rules chosen here where OpenAI publishes none:

- Capacity is judged with 1 µs of grace, so float noise in the clock never refuses a client that
  waited exactly the retry-after-ms it was given.
- When both buckets lack room, the error names the one with the longer wait, and retry-after-ms
  is that longer wait: a retry after it succeeds (unless others got there first).
- "Used" in a message is limit - remaining, remaining being the floor of the bucket's level.
- Resets and waits are rounded up to whole milliseconds before formatting.
- A request whose tokens exceed tpm can never fit: "Request too large" (429, type "tokens"),
  with the six headers but no retry-after, since waiting does not help.
- settle() may push a bucket below empty (usage over the estimate is owed, and later requests
  wait for it); a refund never fills a bucket beyond capacity.

Not thread-safe: one instance belongs to one event loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from laneway.clock import Clock
from laneway.wire.errors import ApiError

if TYPE_CHECKING:
    from laneway.pricing.model_spec import TierLimit

WINDOW_S = 60.0
"""Limits are per minute: a full bucket is 60 seconds of refill."""

_GRACE_S = 1e-6
# Rounding a wait up to whole ms forgives only half the grace, so a client that waits exactly
# what it was told lands inside the grace even with a little float noise in the clock.
_ROUNDING_S = _GRACE_S / 2
_RATE_LIMITS_URL = "https://platform.openai.com/account/rate-limits"


@dataclass(frozen=True, slots=True)
class Limits:
    """Requests and tokens per minute for one model."""

    rpm: int
    tpm: int

    def __post_init__(self) -> None:
        if self.rpm < 1 or self.tpm < 1:
            raise ValueError(f"limits must be positive, got rpm={self.rpm}, tpm={self.tpm}")

    @classmethod
    def of(cls, tier: TierLimit) -> Limits:
        """The limits a catalog entry publishes for a tier."""
        return cls(tier.rpm, tier.tpm)


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one request.

    `headers` always holds the six x-ratelimit-* headers. When refused, `error` is the 429 to
    send, its `headers` complete for the response (the six plus retry-after and retry-after-ms,
    except for a request too large ever to fit), and `retry_after_s` is retry-after-ms / 1000.
    """

    allowed: bool
    headers: dict[str, str]
    retry_after_s: float | None = None
    error: ApiError | None = None


class _Buckets:
    """One model's two buckets, as the times (relative to the limiter's epoch) they are full."""

    __slots__ = ("request_s", "requests_full_at", "rpm", "token_s", "tokens_full_at", "tpm")

    def __init__(self, limits: Limits) -> None:
        self.rpm = limits.rpm
        self.tpm = limits.tpm
        self.request_s = WINDOW_S / limits.rpm  # debt one request adds
        self.token_s = WINDOW_S / limits.tpm  # debt one token adds
        self.requests_full_at = 0.0
        self.tokens_full_at = 0.0


class RateLimiter:
    """Enforces per-model rpm/tpm limits and produces OpenAI's headers and 429 errors."""

    __slots__ = ("_buckets", "_clock", "_epoch", "_organization")

    def __init__(
        self,
        clock: Clock,
        limits: Mapping[str, Limits],
        *,
        organization: str = "org-emulator",
    ) -> None:
        self._clock = clock
        # Times are kept relative to this epoch: small floats keep their sub-microsecond
        # precision, where adding 0.12 s to a Unix-sized clock value would not.
        self._epoch = clock.monotonic()
        self._organization = organization
        self._buckets = {model: _Buckets(lim) for model, lim in limits.items()}

    def check(self, model: str, tokens: int) -> Decision | None:
        """Admit or refuse one request needing `tokens` tokens; None if `model` has no limits."""
        b = self._buckets.get(model)
        if b is None:
            return None
        if tokens < 0:
            raise ValueError(f"tokens must not be negative, got {tokens}")
        now = self._clock.monotonic() - self._epoch
        request_debt = max(b.requests_full_at - now, 0.0)
        token_debt = max(b.tokens_full_at - now, 0.0)
        if tokens > b.tpm:
            return self._too_large(model, b, tokens, request_debt, token_debt)

        new_request_debt = request_debt + b.request_s
        new_token_debt = token_debt + tokens * b.token_s
        request_wait = new_request_debt - WINDOW_S
        token_wait = new_token_debt - WINDOW_S
        if request_wait <= _GRACE_S and token_wait <= _GRACE_S:
            b.requests_full_at = now + new_request_debt
            b.tokens_full_at = now + new_token_debt
            return Decision(True, _headers(b, new_request_debt, new_token_debt))

        headers = _headers(b, request_debt, token_debt)
        if request_wait >= token_wait:
            kind, unit, limit, requested = "requests", "requests per min (RPM)", b.rpm, 1
            used = b.rpm - _remaining(request_debt, b.rpm)
        else:
            kind, unit, limit, requested = "tokens", "tokens per min (TPM)", b.tpm, tokens
            used = b.tpm - _remaining(token_debt, b.tpm)
        wait_ms = max(1, _ceil_ms(max(request_wait, token_wait)))
        message = (
            f"Rate limit reached for {model} in organization {self._organization} on {unit}: "
            f"Limit {limit}, Used {used}, Requested {requested}. "
            f"Please try again in {_format_ns(wait_ms * 1_000_000)}. "
            f"Visit {_RATE_LIMITS_URL} to learn more."
        )
        error_headers = {
            **headers,
            "retry-after": str(-(-wait_ms // 1000)),
            "retry-after-ms": str(wait_ms),
        }
        error = ApiError(429, message, type=kind, code="rate_limit_exceeded", headers=error_headers)
        return Decision(False, headers, wait_ms / 1000, error)

    def settle(self, model: str, estimated_tokens: int, actual_tokens: int) -> None:
        """Refund (or charge) the difference between a request's estimated and actual tokens."""
        b = self._buckets.get(model)
        if b is None or actual_tokens == estimated_tokens:
            return
        now = self._clock.monotonic() - self._epoch
        full_at = max(b.tokens_full_at, now) + (actual_tokens - estimated_tokens) * b.token_s
        b.tokens_full_at = max(full_at, now)  # a refund stops at a full bucket

    def _too_large(
        self, model: str, b: _Buckets, tokens: int, request_debt: float, token_debt: float
    ) -> Decision:
        headers = _headers(b, request_debt, token_debt)
        message = (
            f"Request too large for {model} in organization {self._organization} on tokens per "
            f"min (TPM): Limit {b.tpm}, Requested {tokens}. The input or output tokens must be "
            f"reduced in order to run successfully. Visit {_RATE_LIMITS_URL} to learn more."
        )
        error = ApiError(
            429, message, type="tokens", code="rate_limit_exceeded", headers=dict(headers)
        )
        return Decision(False, headers, None, error)


def _remaining(debt: float, limit: int) -> int:
    """Whole units left in a bucket owing `debt` seconds (0 when it is owed more than it holds)."""
    level = (WINDOW_S - debt + _GRACE_S) * limit / WINDOW_S
    return min(int(level), limit) if level > 0 else 0


def _reset(debt: float) -> str:
    """Time until a bucket owing `debt` seconds is full, in whole ms rounded up, Go-style."""
    return _format_ns(_ceil_ms(debt) * 1_000_000) if debt > _ROUNDING_S else "0s"


def _ceil_ms(seconds: float) -> int:
    return math.ceil((seconds - _ROUNDING_S) * 1000)


def _headers(b: _Buckets, request_debt: float, token_debt: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(b.rpm),
        "x-ratelimit-limit-tokens": str(b.tpm),
        "x-ratelimit-remaining-requests": str(_remaining(request_debt, b.rpm)),
        "x-ratelimit-remaining-tokens": str(_remaining(token_debt, b.tpm)),
        "x-ratelimit-reset-requests": _reset(request_debt),
        "x-ratelimit-reset-tokens": _reset(token_debt),
    }


def go_duration(seconds: float) -> str:
    """`seconds` as Go's time.Duration.String() writes it: "0s", "12ms", "1.5s", "1m30.5s"."""
    if not math.isfinite(seconds):
        raise ValueError(f"not a duration: {seconds!r}")
    return _format_ns(round(seconds * 1e9))


def _format_ns(ns: int) -> str:
    if ns < 0:
        return "-" + _format_ns(-ns)
    if ns >= 1_000_000_000:
        return _format_seconds(ns)
    # Under a second Go uses the largest unit that fits, with a decimal fraction: 1.5ms, 250ns.
    if ns >= 1_000_000:
        return _decimal(ns, 1_000_000) + "ms"
    if ns >= 1_000:
        return _decimal(ns, 1_000) + "µs"
    return f"{ns}ns" if ns else "0s"


def _format_seconds(ns: int) -> str:
    minutes, rest = divmod(ns, 60_000_000_000)
    hours, minutes = divmod(minutes, 60)
    seconds = _decimal(rest, 1_000_000_000) + "s"
    # From a second up Go writes every unit below the largest non-zero one: 1h0m5s, 6m0s, 5s.
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    return f"{minutes}m{seconds}" if minutes else seconds


def _decimal(value: int, unit: int) -> str:
    """value / unit in decimal, without trailing zeros ("1.5", "30", "0.012")."""
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    width = len(str(unit)) - 1
    return f"{whole}.{str(fraction).rjust(width, '0').rstrip('0')}"
