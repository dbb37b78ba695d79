"""Pacing attempts under each upstream deployment's rate limits, shared by every replica.

OpenAI limits requests and tokens per minute per organisation and model, by usage tier; the
catalog holds the published figures, and a provider's config may replace them per model. Before
each attempt the pacer takes 1 request and the attempt's estimate (input + max output: what
OpenAI counts, and never corrects) from two buckets, `upstream:<provider>:<model>:rpm|tpm`, in
the quota state budgets use: memory for one process, Redis for replicas that share a provider.
So laneway stays under the provider's limits instead of collecting its 429s.

An attempt that does not fit waits for room when the wait ends before the request's pacing
deadline (`max_wait_s` from its first attempt, however many candidates it tries), and otherwise
is not sent: the caller spills to the next candidate, and when none has room answers 429 with
the soonest `retry-after`. A request larger than a limit can never fit and spills at once.

Waiters are not queued: each retries when its own wait ends, so under contention a later
request may take the room first, and a waiter whose next wait would pass its deadline spills.

The `x-ratelimit-*` headers upstream sends stay the job of `laneway.upstream.headroom`, which
catches what tier figures miss (other users of the same organisation, a tier changed upstream).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from laneway.clock import Clock
from laneway.pricing.catalog import Catalog
from laneway.quota.state import QuotaState, QuotaUnavailable, RateLimit, Refusal
from laneway.upstream.provider_config import ProviderConfig
from laneway.upstream.providers import Candidate
from laneway.wire.errors import ApiError, limits_unavailable, rate_limit_exceeded, wait_text

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PaceLimits:
    """One deployment's limits: requests and tokens per minute, and the model they are counted
    under (the catalog's id, so that a snapshot name and its alias share one limit)."""

    rpm: int
    tpm: int
    model: str

    def __post_init__(self) -> None:
        if self.rpm < 1 or self.tpm < 1:
            raise ValueError(f"limits must be positive, got rpm={self.rpm}, tpm={self.tpm}")


LimitsOf = Callable[[str, str], PaceLimits | None]
"""(provider name, model) -> the limits to pace under, or None: that deployment is not paced."""


@dataclass(frozen=True, slots=True)
class _Buckets:
    requests: RateLimit  # costs 1 per attempt
    tokens_id: str
    tpm: int


class Pacer:
    """Takes room for attempts from the deployments' limits; one per gateway."""

    __slots__ = ("_buckets", "_clock", "_fail_open", "_limits_of", "_sleep", "_state", "max_wait_s")

    def __init__(
        self,
        state: QuotaState,
        limits_of: LimitsOf,
        clock: Clock,
        sleep: Sleep,
        *,
        max_wait_s: float,
        fail_open: bool,
    ) -> None:
        if not max_wait_s >= 0:
            raise ValueError(f"max_wait_s must not be negative, got {max_wait_s}")
        self._state = state
        self._limits_of = limits_of
        self._clock = clock
        self._sleep = sleep
        self._fail_open = fail_open
        self.max_wait_s = max_wait_s
        # (provider, model) -> its buckets, or None when not paced; a few entries per model.
        self._buckets: dict[tuple[str, str], _Buckets | None] = {}

    async def acquire(
        self, candidate: Candidate, tokens: int, deadline: float
    ) -> tuple[Refusal | None, float]:
        """Take room for one attempt of ~`tokens` tokens, waiting while the room comes before
        `deadline` (monotonic); returns how long it waited and None when taken (or not paced),
        or a refusal: not taken, do not send.

        The state unreachable: `ApiError` 503 when failing closed; failing open, the attempt
        goes unpaced and the lapse is logged."""
        buckets = self._buckets_of(candidate)
        if buckets is None:
            return None, 0.0
        rates = (buckets.requests, RateLimit(buckets.tokens_id, buckets.tpm, tokens, tokens=True))
        clock = self._clock
        waited = 0.0
        while True:
            try:
                refusal = await self._state.take(rates, clock.time())
            except QuotaUnavailable as error:
                if not self._fail_open:
                    raise limits_unavailable() from None
                log.warning("sending to %s unpaced: %s", candidate.label, error)
                return None, waited
            wait = None if refusal is None else refusal.retry_after_s
            if wait is None or clock.monotonic() + wait > deadline:
                return refusal, waited
            await self._sleep(wait)
            waited += wait

    def _buckets_of(self, candidate: Candidate) -> _Buckets | None:
        key = (candidate.provider.name, candidate.model)
        try:
            return self._buckets[key]
        except KeyError:
            pass
        limits = self._limits_of(*key)
        buckets = None
        if limits is not None:
            prefix = f"upstream:{key[0]}:{limits.model}"
            buckets = _Buckets(
                RateLimit(f"{prefix}:rpm", limits.rpm, 1), f"{prefix}:tpm", limits.tpm
            )
        self._buckets[key] = buckets
        return buckets


def paced_out(candidate: Candidate, refusal: Refusal) -> ApiError:
    """The 429 for a request no candidate had room for, `candidate` being the one with room
    soonest (a refusal without a wait: none ever will, the request exceeding every limit)."""
    retry_after_s = refusal.retry_after_s
    tokens = (refusal.limit_id or "").endswith(":tpm")
    unit = "tokens per min (TPM)" if tokens else "requests per min (RPM)"
    wait = (
        f"Please try again in {wait_text(retry_after_s)}."
        if retry_after_s is not None
        else "This request is larger than the limit and can never be sent there."
    )
    return rate_limit_exceeded(
        f"Rate limit reached for {candidate.model} at provider {candidate.provider.name!r} on "
        f"{unit}: Limit {refusal.limit}, Used {refusal.used}, Requested {refusal.requested}. "
        f"laneway paces requests to stay under the upstream's limits. {wait}",
        "tokens" if tokens else "requests",
        retry_after_s,
    )


def paced_reason(refusal: Refusal) -> str:
    """What the attempt log says of an attempt the pacer held back."""
    which = "TPM" if (refusal.limit_id or "").endswith(":tpm") else "RPM"
    if refusal.retry_after_s is None:
        return f"paced: larger than the {which} limit ({refusal.limit or 0:,})"
    wait = wait_text(refusal.retry_after_s)
    return f"paced: {which} limit {refusal.limit or 0:,} full for {wait}"


def pace_limits(providers: Mapping[str, ProviderConfig], catalog: Catalog) -> LimitsOf:
    """The limits each (provider, model) is paced under, from the providers' config."""

    def limits_of(provider: str, model: str) -> PaceLimits | None:
        config = providers.get(provider)
        if config is None or not config.paced:
            return None
        spec = catalog.find(model)
        name = spec.id if spec is not None else model
        given = config.rate_limits.get(model) or config.rate_limits.get(name)
        if given is not None:
            return PaceLimits(given.rpm, given.tpm, name)
        published = spec.tier_limit(config.tier) if spec is not None else None
        if published is None:
            log.warning(
                "provider %r is paced, but %s has no known %s limits: not paced (give them in "
                "the provider's rate_limits)",
                provider,
                model,
                config.tier,
            )
            return None
        return PaceLimits(published.rpm, published.tpm, name)

    return limits_of
