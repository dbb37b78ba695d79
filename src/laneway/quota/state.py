"""What admission asks of the quota state, what it answers, and the interface both states keep.

The gateway admits a request before sending it upstream: one atomic step checks the key's
revocation, its rate limits and every budget, and only if all pass charges the rate limits and
reserves the request's worst-case cost against every budget. Once the answer is in, it settles:
the reservation is replaced by the real cost. Memory (`laneway.quota.memory`) serves one process;
Redis (`laneway.quota.redis_state`) is shared by replicas. Both follow the rules below exactly.

Rate limits are token buckets holding `per_minute` and refilling `per_minute` every 60 s,
continuously: a full minute's worth may be used at once. A bucket is kept as the refill it owes,
in seconds, at a reference time: taking `cost` adds `cost * 60 / per_minute` seconds of debt, time
pays it off second for second, and a request fits when the debt it leaves is at most 60 s. The
debt is a small number, so a burst at one instant adds up exactly enough (unlike sums of Unix
times); `now - reference` is exact between Unix times. Fitting allows `GRACE_S` (1 µs) more, so
that the float a client computes as `now + retry_after_s` fits despite rounding; hence over any
span of D seconds at most `per_minute * ((D + GRACE_S) / 60 + 1)` is admitted. `retry_after_s`
is exactly when the request fits (unless others take the room first). Python and Redis' Lua do
the same float operations in the same order, so both states give the same answers to the same
asks, to the last bit. A bucket's reference time never moves back, so a replica whose clock lags
cannot refill a bucket twice.

Money is integer nano-USD (1e-9 USD). Redis' Lua computes in doubles, so every amount, limit and
counter must stay below 2**53 nano-USD (about 9 million USD); the types below refuse more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from laneway.errors import LanewayError
from laneway.pricing.money import NanoUSD, usd_str
from laneway.pricing.worst_case import usd_of_nano
from laneway.quota.budget import Window

MINUTE_S = 60.0
"""A bucket holds one minute of refill."""

GRACE_S = 1e-6
"""How far past a full minute of debt a request still fits (float rounding in client clocks)."""

ROOM_S = MINUTE_S + GRACE_S
"""The most debt a bucket may owe after admitting a request."""

EXACT_LIMIT = 2**53
"""Amounts, limits and costs * 60 stay below this: the doubles of Redis' Lua hold them exactly."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One per-minute limit and what this request takes from it."""

    id: str  # e.g. "key:vk_1:rpm", "key:vk_1:tpm"
    per_minute: int
    cost: int  # 1 for a requests limit; the estimated tokens for a tokens limit
    # True for a tokens limit: settle(tokens=...) corrects this charge to the tokens used.
    tokens: bool = False

    def __post_init__(self) -> None:
        if self.per_minute < 1:
            raise ValueError(f"rate limit {self.id}: per_minute must be at least 1")
        if not 0 <= self.cost * 60 < EXACT_LIMIT:
            raise ValueError(f"rate limit {self.id}: cost out of range: {self.cost}")


@dataclass(frozen=True, slots=True)
class BudgetCharge:
    """One budget a request's worst case is reserved against."""

    id: str  # e.g. "key:vk_1:day", "lane:coding:month", "global:lifetime"
    window: Window
    limit_nano: NanoUSD
    soft_nano: NanoUSD | None  # settled spend at which a warning fires, once per period

    def __post_init__(self) -> None:
        if not 0 <= self.limit_nano < EXACT_LIMIT:
            raise ValueError(f"budget {self.id}: limit out of range: {self.limit_nano}")
        if self.soft_nano is not None and not 0 <= self.soft_nano < EXACT_LIMIT:
            raise ValueError(f"budget {self.id}: soft threshold out of range: {self.soft_nano}")


@dataclass(slots=True)  # not frozen: one per request, and a frozen one costs 3x to build
class Ask:
    """One request asking to be admitted. Each rate limit and budget id appears at most once."""

    reservation_id: str
    revocation: str | None  # a key prefix: refused if it is in the revoked set
    rates: tuple[RateLimit, ...]
    budgets: tuple[BudgetCharge, ...]
    amount_nano: NanoUSD  # the request's worst-case cost, reserved against every budget

    def __post_init__(self) -> None:
        if not 0 <= self.amount_nano < EXACT_LIMIT:
            raise ValueError(f"amount out of range: {self.amount_nano}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was not admitted: the first limit that failed it.

    For a rate limit, `retry_after_s` is when the request would fit every rate limit it asked
    (the longest wait among them), or None when it can never fit one (cost above the limit).
    For budgets and revocations it is None: waiting does not help within the period.
    """

    kind: Literal["revoked", "rate", "budget"]
    limit_id: str | None
    limit: int | None
    used: int | None
    requested: int | None
    retry_after_s: float | None


log = logging.getLogger(__name__)

REVOKED = Refusal("revoked", None, None, None, None, None)


@dataclass(frozen=True, slots=True)
class SoftCrossing:
    """A budget's settled spend reached its soft threshold, for the first time this period."""

    budget_id: str
    period: str
    limit_nano: NanoUSD
    spent_nano: NanoUSD


def log_crossings(crossings: Sequence[SoftCrossing]) -> None:
    """Each crossing as one warning, in USD: what either state does with crossings nobody
    else takes."""
    for crossing in crossings:
        log.warning(
            "budget %s (%s) passed its soft threshold: %s of %s USD spent",
            crossing.budget_id,
            crossing.period,
            usd_str(usd_of_nano(crossing.spent_nano)),
            usd_str(usd_of_nano(crossing.limit_nano)),
        )


@dataclass(frozen=True, slots=True)
class Spend:
    """A budget's current period: spend settled, and worst cases reserved and not yet settled."""

    settled_nano: NanoUSD
    reserved_nano: NanoUSD


@dataclass(frozen=True, slots=True)
class Outstanding:
    """A reservation not yet settled or released."""

    reservation_id: str
    amount_nano: NanoUSD
    created_at: float
    budgets: tuple[str, ...]  # "id@period"
    owner: str | None = None  # Redis: the replica ("replica:<id>") whose lease covers it


class ImmediateState(Protocol):
    """A state that answers at once (no method ever waits): `admit` and `settle` without a
    coroutine, for the request path. Each gives exactly what its awaited twin gives."""

    def admit_now(self, ask: Ask, now: float) -> Refusal | None: ...

    def settle_now(
        self, reservation_id: str, actual_nano: NanoUSD, tokens: int | None, now: float
    ) -> tuple[SoftCrossing, ...]: ...


class QuotaState(Protocol):
    """Rate limits, budgets and revocations, shared by every request that reaches one state."""

    @property
    def immediate(self) -> ImmediateState | None:
        """This state, when it answers at once (memory); None when it must be awaited."""
        ...

    async def admit(self, ask: Ask, now: float) -> Refusal | None:
        """Check and charge everything `ask` names, atomically. None: admitted, the reservation
        is held (also when `ask.reservation_id` is already held: a retried admit charges once).
        A refusal charges nothing."""
        ...

    async def take(self, rates: tuple[RateLimit, ...], now: float) -> Refusal | None:
        """Check and charge `rates` alone, atomically, by the rules above: no reservation, no
        revocation, nothing to settle (upstream pacing: OpenAI charges a request's estimate and
        never corrects it). None: charged. A refusal charges nothing."""
        ...

    async def settle(
        self, reservation_id: str, actual_nano: NanoUSD, tokens: int | None, now: float
    ) -> tuple[SoftCrossing, ...]:
        """Replace the reservation by the actual cost in every budget and period it reserved, and
        correct its tokens limits' charges to `tokens` when given. Settling an unknown, released
        or already settled reservation changes nothing. Returns soft thresholds newly crossed."""
        ...

    async def release(self, reservation_id: str) -> bool:
        """Drop a reservation without spend (operator or reconcile); False if it is not held."""
        ...

    async def revoke(self, prefix: str) -> None:
        """Refuse, from now on, every ask whose `revocation` is `prefix`."""
        ...

    async def spend(self, budgets: Sequence[BudgetCharge], now: float) -> list[Spend]:
        """Settled and reserved spend in each budget's period at `now`."""
        ...

    async def outstanding(self, older_than: float) -> list[Outstanding]:
        """Reservations created before `older_than`, oldest first (for reconciliation)."""
        ...

    async def rate_use(self, rates: Sequence[RateLimit], now: float) -> list[int]:
        """How much of each rate limit is in use at `now` (`rate_used`), charging nothing:
        what metrics show."""
        ...

    async def seed(self, budget: BudgetCharge, now: float, settled_nano: NanoUSD) -> None:
        """Set the settled spend of the budget's period at `now`, unless the state already has
        one (after a restart, from the ledger). A seeded spend at or above the soft threshold
        counts as its warning already given."""
        ...

    async def close(self) -> None: ...


class QuotaUnavailable(LanewayError):
    """The shared quota state did not answer (unreachable or too slow). Its message never holds
    the store's address: URLs carry passwords."""

    status = 503
    code = "limits_unavailable"


class QuotaResyncing(QuotaUnavailable):
    """The shared quota state lost its data (or this replica has not caught up with the re-seed
    that followed): budgets are being restored from the ledger and nothing is admitted under a
    budget until they are. Never failed open: the store answers, and counting from nothing is
    the overspend this prevents."""

    code = "limits_resyncing"


class LedgerTruth(Protocol):
    """What the Redis state asks of the ledger (the truth about spend) to recover: after a loss
    of its data, and when reaping reservations whose owner stopped renewing its lease."""

    async def flush(self) -> None:
        """Until every record this process settled so far is written to the ledger."""
        ...

    async def spend(self, now: float) -> list[tuple[BudgetCharge, NanoUSD]]:
        """Every configured budget, with the spend settled in the ledger in its period at
        `now` (zero included)."""
        ...

    async def settled_cost(self, record_id: str) -> NanoUSD | None:
        """The record's cost when the ledger holds it settled; None when it does not."""
        ...


def check_settlement(actual_nano: NanoUSD, tokens: int | None) -> None:
    """Refuse figures no settlement can hold (negative, or beyond exact double range)."""
    if not 0 <= actual_nano < EXACT_LIMIT:
        raise ValueError(f"actual cost out of range: {actual_nano}")
    if tokens is not None and not 0 <= tokens * 60 < EXACT_LIMIT:
        raise ValueError(f"tokens out of range: {tokens}")


def debt_at(since: float, debt: float, now: float) -> float:
    """What a bucket that owed `debt` seconds of refill at `since` owes at `now`."""
    return max(debt - (now - since), 0.0) if now > since else debt


def rate_used(debt_s: float, per_minute: int) -> int:
    """How much of a rate limit is in use when its bucket owes `debt_s` seconds of refill: the
    limit less the whole units left (as OpenAI reports "Used")."""
    level = (MINUTE_S - debt_s) * per_minute / MINUTE_S
    remaining = min(int(level), per_minute) if level > 0 else 0
    return per_minute - remaining
