"""Budgets in both quota states: reserve the worst case, settle the real cost, refuse what does
not fit, warn once per period, roll over at UTC midnight and month start."""

from __future__ import annotations

from dataclasses import replace

import pytest

from laneway.quota.state import (
    Ask,
    BudgetCharge,
    Outstanding,
    QuotaState,
    RateLimit,
    Refusal,
    SoftCrossing,
    Spend,
)
from tests.quota.conftest import START, Backend

DAY = BudgetCharge("key:vk_1:day", "day", 1_000, None)
MONTH = BudgetCharge("lane:coding:month", "month", 10_000, None)
LIFETIME = BudgetCharge("global:lifetime", "lifetime", 100_000, None)


def ask(rid: str, amount: int, *budgets: BudgetCharge, rates: tuple[RateLimit, ...] = ()) -> Ask:
    return Ask(rid, None, rates, budgets, amount)


def test_admit_reserves_and_settle_replaces_the_reservation(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("r1", 300, DAY, MONTH, LIFETIME), START) is None
        assert await state.spend([DAY, MONTH, LIFETIME], START) == [Spend(0, 300)] * 3
        assert await state.settle("r1", 120, None, START + 5) == ()
        assert await state.spend([DAY, MONTH, LIFETIME], START) == [Spend(120, 0)] * 3

    backend.run(body)


def test_the_budget_that_would_be_exceeded_refuses_and_nothing_is_charged(
    backend: Backend,
) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("r1", 800, MONTH, DAY), START) is None
        assert await state.settle("r1", 700, None, START) == ()
        rpm = RateLimit("key:vk_1:rpm", 10, 1)
        refusal = await state.admit(ask("r2", 301, MONTH, DAY, LIFETIME, rates=(rpm,)), START)
        assert refusal == Refusal("budget", "key:vk_1:day", 1_000, 700, 301, None)
        # Neither the budgets that passed nor the rate limit were charged: ten more requests
        # of 300 fit the rate limit, and exactly 300 still fits the day.
        assert await state.spend([MONTH, DAY, LIFETIME], START) == [
            Spend(700, 0),
            Spend(700, 0),
            Spend(0, 0),
        ]
        assert await state.admit(ask("r3", 300, MONTH, DAY, rates=(rpm,)), START) is None
        for i in range(9):
            assert await state.admit(ask(f"s{i}", 0, rates=(rpm,)), START) is None
        assert await state.admit(ask("s9", 0, rates=(rpm,)), START) is not None

    backend.run(body)


def test_the_first_failing_budget_is_named(backend: Backend) -> None:
    small = BudgetCharge("lane:tiny:day", "day", 10, None)
    tiny = BudgetCharge("global:day", "day", 5, None)

    async def body(state: QuotaState) -> None:
        refusal = await state.admit(ask("r1", 20, DAY, small, tiny), START)
        assert refusal is not None
        assert (refusal.kind, refusal.limit_id, refusal.used, refusal.requested) == (
            "budget",
            "lane:tiny:day",
            0,
            20,
        )
        assert refusal.retry_after_s is None

    backend.run(body)


def test_the_limit_itself_is_reachable_exactly(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        for i in range(4):
            assert await state.admit(ask(f"r{i}", 250, DAY), START) is None
        refusal = await state.admit(ask("r4", 1, DAY), START)
        assert refusal == Refusal("budget", DAY.id, 1_000, 1_000, 1, None)
        assert await state.admit(ask("r5", 0, DAY), START) is None

    backend.run(body)


def test_money_is_exact_up_to_nine_million_dollars(backend: Backend) -> None:
    limit = 9_000_000_000_000_001  # nano-USD: 9,000,000.000000001 USD, below 2**53
    big = BudgetCharge("global:lifetime", "lifetime", limit, None)

    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("a", 4_500_000_000_000_000, big), START) is None
        assert await state.admit(ask("b", 4_500_000_000_000_000, big), START) is None
        assert await state.admit(ask("c", 1, big), START) is None
        assert await state.admit(ask("d", 1, big), START) == Refusal(
            "budget", big.id, limit, limit, 1, None
        )
        await state.settle("a", 4_499_999_999_999_999, None, START)
        await state.settle("b", 4_500_000_000_000_001, None, START)
        assert await state.spend([big], START) == [Spend(9_000_000_000_000_000, 1)]

    backend.run(body)


def test_amounts_beyond_exact_range_are_refused_before_reaching_the_state() -> None:
    with pytest.raises(ValueError, match="amount out of range"):
        Ask("r", None, (), (DAY,), 2**53)
    with pytest.raises(ValueError, match="limit out of range"):
        BudgetCharge("x", "day", 2**53, None)
    with pytest.raises(ValueError, match="out of range"):
        Ask("r", None, (), (DAY,), -1)


def test_settle_is_idempotent_and_ignores_unknown_reservations(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.settle("never-admitted", 50, None, START) == ()
        assert await state.admit(ask("r1", 300, DAY), START) is None
        await state.settle("r1", 200, None, START)
        await state.settle("r1", 200, None, START)
        await state.settle("r1", 999, 10, START)
        assert await state.spend([DAY], START) == [Spend(200, 0)]

    backend.run(body)


def test_a_retried_admit_reserves_once(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("r1", 300, DAY), START) is None
        assert await state.admit(ask("r1", 300, DAY), START) is None
        assert await state.spend([DAY], START) == [Spend(0, 300)]

    backend.run(body)


def test_release_drops_a_reservation_without_spend(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("r1", 600, DAY, MONTH), START) is None
        assert await state.admit(ask("r2", 300, DAY), START) is None
        assert await state.release("r1") is True
        assert await state.release("r1") is False
        assert await state.release("unknown") is False
        assert await state.spend([DAY, MONTH], START) == [Spend(0, 300), Spend(0, 0)]
        # Settling a released reservation changes nothing.
        assert await state.settle("r1", 600, None, START) == ()
        assert await state.spend([DAY, MONTH], START) == [Spend(0, 300), Spend(0, 0)]
        assert await state.admit(ask("r3", 700, DAY), START) is None

    backend.run(body)


def test_outstanding_lists_unsettled_reservations_older_than_a_time(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        await state.admit(ask("old", 10, DAY, LIFETIME), START + 0.25)
        await state.admit(ask("settled", 10, DAY), START + 1)
        await state.admit(ask("young", 10, MONTH), START + 100)
        await state.settle("settled", 5, None, START + 2)
        found = await state.outstanding(START + 50)
        budgets = ("key:vk_1:day@2026-11-22", "global:lifetime@lifetime")
        # Redis names each reservation's owner (its replica); memory, one process, names none.
        assert [replace(item, owner=None) for item in found] == [
            Outstanding("old", 10, START + 0.25, budgets)
        ]
        assert [item.reservation_id for item in await state.outstanding(START + 1e6)] == [
            "old",
            "young",
        ]
        assert await state.outstanding(START + 0.25) == []  # strictly older

    backend.run(body)


def test_reservations_never_lapse_by_themselves(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        await state.admit(ask("held", 400, MONTH), START - 20 * 86_400.0)
        later = START + 7 * 86_400.0  # the same month, four weeks on
        assert await state.spend([MONTH], later) == [Spend(0, 400)]
        assert [item.reservation_id for item in await state.outstanding(later)] == ["held"]

    backend.run(body)


def test_soft_threshold_fires_once_per_period(backend: Backend) -> None:
    soft = BudgetCharge("key:vk_1:day", "day", 1_000, 500)

    async def body(state: QuotaState) -> None:
        crossings: list[SoftCrossing] = []
        for i, (at, actual) in enumerate([(0, 200), (1, 299), (2, 1), (3, 100), (4, 300)]):
            await state.admit(ask(f"r{i}", 300, soft), START + at)
            crossings += await state.settle(f"r{i}", actual, None, START + at)
        assert crossings == [SoftCrossing("key:vk_1:day", "2026-11-22", 1_000, 500)]
        # The next day is a new period: the warning may fire again, once.
        tomorrow = START + 86_400
        await state.admit(ask("t1", 900, soft), tomorrow)
        assert await state.settle("t1", 900, None, tomorrow) == (
            SoftCrossing("key:vk_1:day", "2026-11-23", 1_000, 900),
        )
        await state.admit(ask("t2", 50, soft), tomorrow)
        assert await state.settle("t2", 50, None, tomorrow) == ()

    backend.run(body)


def test_soft_crossings_name_every_budget_crossed(backend: Backend) -> None:
    day = BudgetCharge("key:vk_1:day", "day", 1_000, 100)
    month = BudgetCharge("lane:coding:month", "month", 10_000, 150)
    quiet = BudgetCharge("global:lifetime", "lifetime", 100_000, None)

    async def body(state: QuotaState) -> None:
        await state.admit(ask("r1", 200, day, quiet, month), START)
        assert await state.settle("r1", 160, None, START) == (
            SoftCrossing("key:vk_1:day", "2026-11-22", 1_000, 160),
            SoftCrossing("lane:coding:month", "2026-11", 10_000, 160),
        )

    backend.run(body)


def test_day_budgets_roll_over_at_utc_midnight_and_months_at_month_start(
    backend: Backend,
) -> None:
    last_second = START + 8 * 86_400 + 86_399.5  # 2026-11-30T23:59:59.5Z

    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("r1", 900, DAY, MONTH, LIFETIME), last_second) is None
        assert await state.settle("r1", 900, None, last_second) == ()
        refusal = await state.admit(ask("r2", 200, DAY), last_second + 0.4)
        assert refusal is not None
        assert refusal.limit_id == DAY.id
        midnight = last_second + 0.5  # 2026-12-01T00:00:00Z
        assert await state.spend([DAY, MONTH, LIFETIME], midnight) == [
            Spend(0, 0),
            Spend(0, 0),
            Spend(900, 0),
        ]
        assert await state.admit(ask("r2", 1_000, DAY), midnight) is None
        # The previous periods keep their spend.
        assert await state.spend([DAY, MONTH], last_second) == [Spend(900, 0), Spend(900, 0)]

    backend.run(body)


def test_a_reservation_settles_in_the_period_it_was_admitted_in(backend: Backend) -> None:
    late = START + 86_399.0  # 2026-11-22T23:59:59Z

    async def body(state: QuotaState) -> None:
        await state.admit(ask("r1", 500, DAY), late)
        after_midnight = late + 30
        await state.admit(ask("r2", 1_000, DAY), after_midnight)  # a new day, a full budget
        await state.settle("r1", 400, None, after_midnight)
        assert await state.spend([DAY], late) == [Spend(400, 0)]
        assert await state.spend([DAY], after_midnight) == [Spend(0, 1_000)]
        found = await state.outstanding(after_midnight + 1)
        assert [replace(item, owner=None) for item in found] == [
            Outstanding("r2", 1_000, after_midnight, ("key:vk_1:day@2026-11-23",))
        ]

    backend.run(body)


def test_seed_sets_spend_only_where_there_is_none(backend: Backend) -> None:
    soft = BudgetCharge("key:vk_1:month", "month", 10_000, 5_000)

    async def body(state: QuotaState) -> None:
        await state.admit(ask("r1", 100, MONTH), START)  # a reservation is no settled spend
        await state.seed(MONTH, START, 4_000)
        await state.seed(MONTH, START + 10, 9_999)  # already set: ignored
        assert await state.spend([MONTH], START) == [Spend(4_000, 100)]
        assert await state.admit(ask("r2", 5_901, MONTH), START) is not None
        assert await state.admit(ask("r2", 5_900, MONTH), START) is None

        await state.admit(ask("d1", 10, DAY), START)
        await state.settle("d1", 10, None, START)
        await state.seed(DAY, START, 999)  # a settlement was there first
        assert await state.spend([DAY], START) == [Spend(10, 0)]

        # A seeded spend past the soft threshold was warned about before the restart.
        await state.seed(soft, START, 6_000)
        await state.admit(ask("s1", 10, soft), START)
        assert await state.settle("s1", 10, None, START) == ()

    backend.run(body)


def test_zero_cost_settlements_and_empty_asks(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        assert await state.admit(ask("free", 0), START) is None
        assert await state.settle("free", 0, None, START) == ()
        assert await state.admit(ask("r1", 0, DAY), START) is None
        assert await state.settle("r1", 0, None, START) == ()
        assert await state.spend([DAY], START) == [Spend(0, 0)]
        assert await state.spend([], START) == []

    backend.run(body)


def test_settlement_figures_are_checked(backend: Backend) -> None:
    async def body(state: QuotaState) -> None:
        with pytest.raises(ValueError, match="actual cost"):
            await state.settle("r", -1, None, START)
        with pytest.raises(ValueError, match="tokens"):
            await state.settle("r", 1, -5, START)

    backend.run(body)
