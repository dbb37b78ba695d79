"""The quota state of one process: plain dicts on one event loop.

Nothing awaits between checking and charging, so every operation is atomic on its loop without
locks. Not thread-safe: one instance belongs to one event loop. Everything is lost on restart;
`seed` restores each budget's settled spend from the ledger.

The interface's coroutines wrap plain methods, `admit_now` and `settle_now`, which the gateway
calls directly: on every request, a coroutine to create and step through would cost more than the
dict work it wraps.

As in Redis, a period's counters are kept until `COUNTER_GRACE_S` after the period ends (longer
while reservations hold them); they and full buckets are dropped at the first admission after
each midnight UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from laneway.quota.state import (
    MINUTE_S,
    REVOKED,
    ROOM_S,
    Ask,
    BudgetCharge,
    Outstanding,
    RateLimit,
    Refusal,
    SoftCrossing,
    Spend,
    check_settlement,
    rate_used,
)
from laneway.quota.windows import COUNTER_GRACE_S, Period, PeriodCache

_NO_CROSSINGS: tuple[SoftCrossing, ...] = ()


class _Counter:
    """One budget's spend in one period."""

    __slots__ = ("expires_at", "known", "reserved", "settled", "warned")

    def __init__(self, period: Period) -> None:
        self.expires_at = math.inf if period.end is None else period.end + COUNTER_GRACE_S
        self.settled = 0
        self.reserved = 0
        self.known = False  # a settlement or seed has set `settled` (seed fills only if not)
        self.warned = False  # the soft threshold has fired this period


# A held reservation: amount, created at, (budget, period label, counter) per budget, and the
# ask's rate limits (settlement corrects the tokens ones). A tuple: cheapest to make.
_Held = tuple[int, float, list[tuple[BudgetCharge, str, _Counter]], tuple[RateLimit, ...]]


class MemoryQuota:
    """`QuotaState` for a single process (the default)."""

    __slots__ = (
        "_buckets",
        "_counters",
        "_current",
        "_periods",
        "_reservations",
        "_revoked",
        "_sweep_at",
    )

    def __init__(self) -> None:
        # rate limit id -> (reference time, seconds of refill owed then)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._counters: dict[tuple[str, str], _Counter] = {}  # (budget id, period label)
        # budget id -> (period start, period end, label, counter): the counter `_counters` holds
        # for the period in force, found with one lookup while `now` stays in that period.
        self._current: dict[str, tuple[float, float, str, _Counter]] = {}
        self._reservations: dict[str, _Held] = {}
        self._revoked: set[str] = set()
        self._periods = PeriodCache()
        self._sweep_at = -math.inf

    @property
    def immediate(self) -> MemoryQuota:
        """Itself: no method here ever waits."""
        return self

    async def admit(self, ask: Ask, now: float) -> Refusal | None:
        return self.admit_now(ask, now)

    def admit_now(self, ask: Ask, now: float) -> Refusal | None:
        """`admit`, answered at once."""
        reservations = self._reservations
        if ask.reservation_id in reservations:
            return None
        if ask.revocation is not None and ask.revocation in self._revoked:
            return REVOKED
        if now >= self._sweep_at:
            self._sweep(now)
        rates = ask.rates
        charged = self._charge_rates(rates, now) if rates else None
        if isinstance(charged, Refusal):
            return charged
        amount = ask.amount_nano
        current = self._current
        held_budgets: list[tuple[BudgetCharge, str, _Counter]] = []
        for budget in ask.budgets:
            held = current.get(budget.id)
            if held is None or not held[0] <= now < held[1]:
                held = self._in_force(budget, now)
            counter = held[3]
            used = counter.settled + counter.reserved
            if used + amount > budget.limit_nano:
                return Refusal("budget", budget.id, budget.limit_nano, used, amount, None)
            held_budgets.append((budget, held[2], counter))
        if charged:
            self._keep(rates, charged)
        for _, _, counter in held_budgets:
            counter.reserved += amount
        reservations[ask.reservation_id] = (amount, now, held_budgets, rates)
        return None

    def _in_force(self, budget: BudgetCharge, now: float) -> tuple[float, float, str, _Counter]:
        """The budget's period at `now` and its counter, made if new, remembered in `_current`."""
        period = self._periods.get(budget.window, now)
        label = period.label
        counter = self._counters.get((budget.id, label))
        if counter is None:
            counter = self._counters[budget.id, label] = _Counter(period)
        start = -math.inf if period.start is None else period.start
        end = math.inf if period.end is None else period.end
        held = self._current[budget.id] = (start, end, label, counter)
        return held

    async def take(self, rates: tuple[RateLimit, ...], now: float) -> Refusal | None:
        if now >= self._sweep_at:
            self._sweep(now)
        charged = self._charge_rates(rates, now)
        if isinstance(charged, Refusal):
            return charged
        self._keep(rates, charged)
        return None

    def _keep(self, rates: tuple[RateLimit, ...], charged: list[tuple[float, float]]) -> None:
        buckets = self._buckets
        for rate, bucket in zip(rates, charged, strict=True):
            if bucket[1] > 0:
                buckets[rate.id] = bucket
            else:  # owing nothing is a full bucket, as no bucket at all (as in Redis)
                buckets.pop(rate.id, None)

    def _charge_rates(
        self, rates: tuple[RateLimit, ...], now: float
    ) -> list[tuple[float, float]] | Refusal:
        """Each bucket's new state if the ask fits them all, else the refusal."""
        buckets = self._buckets
        charged: list[tuple[float, float]] = []
        refused: RateLimit | None = None  # the first rate limit the ask does not fit
        refused_used = 0
        wait = 0.0  # until the ask fits every rate limit that refused it
        never = False
        for rate in rates:
            # The same float operations as the Lua in redis_scripts, in the same order.
            at, debt = _debt(buckets.get(rate.id), now)
            per_minute = rate.per_minute
            if rate.cost > per_minute:
                never = True
            else:
                owed = debt + rate.cost * 60 / per_minute
                if owed <= ROOM_S:
                    charged.append((at, owed))
                    continue
                wait = max(wait, owed - MINUTE_S)
            if refused is None:
                refused = rate
                refused_used = rate_used(debt, per_minute)
        if refused is None:
            return charged
        retry = None if never else wait
        return Refusal("rate", refused.id, refused.per_minute, refused_used, refused.cost, retry)

    async def settle(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> tuple[SoftCrossing, ...]:
        return self.settle_now(reservation_id, actual_nano, tokens, now)

    def settle_now(
        self, reservation_id: str, actual_nano: int, tokens: int | None, now: float
    ) -> tuple[SoftCrossing, ...]:
        """`settle`, done at once."""
        check_settlement(actual_nano, tokens)
        reservation = self._reservations.pop(reservation_id, None)
        if reservation is None:
            return _NO_CROSSINGS
        crossings: list[SoftCrossing] | None = None
        amount, _, budgets, rates = reservation
        for budget, label, counter in budgets:
            counter.reserved -= amount
            counter.settled += actual_nano
            counter.known = True
            soft = budget.soft_nano
            if soft is not None and not counter.warned and counter.settled >= soft:
                counter.warned = True
                crossing = SoftCrossing(budget.id, label, budget.limit_nano, counter.settled)
                crossings = [crossing] if crossings is None else [*crossings, crossing]
        if tokens is not None:
            buckets = self._buckets
            for rate in rates:
                if not rate.tokens or tokens == rate.cost:
                    continue
                at, debt = _debt(buckets.get(rate.id), now)
                owed = debt + (tokens - rate.cost) * 60 / rate.per_minute
                if owed > 0:
                    buckets[rate.id] = (at, owed)
                else:  # a refund stops at a full bucket
                    buckets.pop(rate.id, None)
        return _NO_CROSSINGS if crossings is None else tuple(crossings)

    async def release(self, reservation_id: str) -> bool:
        reservation = self._reservations.pop(reservation_id, None)
        if reservation is None:
            return False
        amount, _, budgets, _ = reservation
        for _, _, counter in budgets:
            counter.reserved -= amount
        return True

    async def revoke(self, prefix: str) -> None:
        self._revoked.add(prefix)

    async def spend(self, budgets: Sequence[BudgetCharge], now: float) -> list[Spend]:
        spends = []
        for budget in budgets:
            label = self._periods.get(budget.window, now).label
            counter = self._counters.get((budget.id, label))
            if counter is None:
                spends.append(Spend(0, 0))
            else:
                spends.append(Spend(counter.settled, counter.reserved))
        return spends

    async def outstanding(self, older_than: float) -> list[Outstanding]:
        found = [
            Outstanding(
                reservation_id,
                amount,
                created_at,
                tuple(f"{budget.id}@{label}" for budget, label, _ in budgets),
            )
            for reservation_id, (amount, created_at, budgets, _) in self._reservations.items()
            if created_at < older_than
        ]
        found.sort(key=lambda item: item.created_at)
        return found

    async def rate_use(self, rates: Sequence[RateLimit], now: float) -> list[int]:
        buckets = self._buckets
        return [rate_used(_debt(buckets.get(rate.id), now)[1], rate.per_minute) for rate in rates]

    async def seed(self, budget: BudgetCharge, now: float, settled_nano: int) -> None:
        check_settlement(settled_nano, None)
        period = self._periods.get(budget.window, now)
        key = (budget.id, period.label)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = _Counter(period)
        if counter.known:
            return
        counter.settled = settled_nano
        counter.known = True
        if budget.soft_nano is not None and settled_nano >= budget.soft_nano:
            counter.warned = True

    async def close(self) -> None:
        return None

    def _sweep(self, now: float) -> None:
        """Forget counters past their grace that no reservation holds, and full buckets."""
        self._counters = {
            key: counter
            for key, counter in self._counters.items()
            if counter.reserved or counter.expires_at > now
        }
        self._buckets = {
            rate: (at, debt) for rate, (at, debt) in self._buckets.items() if at + debt > now
        }
        self._current.clear()  # may name counters just dropped
        end = self._periods.get("day", now).end
        self._sweep_at = math.inf if end is None else end


def _debt(bucket: tuple[float, float] | None, now: float) -> tuple[float, float]:
    """A bucket's reference time and debt at `now`: what it owed, less the time since."""
    if bucket is None:
        return now, 0.0
    at, debt = bucket
    if now > at:
        debt -= now - at
        at = now
        if debt < 0:
            debt = 0.0
    return at, debt
