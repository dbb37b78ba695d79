"""What only the memory state does: forgetting past periods once their grace is over."""

from __future__ import annotations

import uvloop

from laneway.quota.memory import MemoryQuota
from laneway.quota.state import Ask, BudgetCharge, Spend
from laneway.quota.windows import COUNTER_GRACE_S
from tests.quota.conftest import START

DAY = BudgetCharge("key:vk_1:day", "day", 1_000, None)
DAY_S = 86_400.0


def test_a_past_period_is_kept_for_its_grace_then_forgotten() -> None:
    async def main() -> None:
        state = MemoryQuota()
        await state.admit(Ask("r1", None, (), (DAY,), 100), START)
        await state.settle("r1", 70, None, START)
        within = START + DAY_S + COUNTER_GRACE_S - 1  # the grace runs from the day's end
        await state.admit(Ask("r2", None, (), (DAY,), 1), within)
        assert await state.spend([DAY], START) == [Spend(70, 0)]
        await state.admit(Ask("r3", None, (), (DAY,), 1), within + DAY_S)
        assert await state.spend([DAY], START) == [Spend(0, 0)]

    uvloop.run(main())


def test_a_held_reservation_keeps_its_period_past_the_grace() -> None:
    async def main() -> None:
        state = MemoryQuota()
        await state.admit(Ask("held", None, (), (DAY,), 100), START)
        much_later = START + 3 * COUNTER_GRACE_S
        await state.admit(Ask("r2", None, (), (DAY,), 1), much_later)
        assert await state.spend([DAY], START) == [Spend(0, 100)]
        await state.settle("held", 40, None, much_later)
        assert await state.spend([DAY], START) == [Spend(40, 0)]

    uvloop.run(main())
