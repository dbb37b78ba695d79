"""A client that leaves while its admission awaits the state must not leave budget held."""

from __future__ import annotations

import asyncio
import inspect
from decimal import Decimal

from laneway.clock import ManualClock
from laneway.gateway.admission import Admission, BudgetRule
from laneway.gateway.client import Client
from laneway.quota.budget import BudgetLimit
from laneway.quota.memory import MemoryQuota
from laneway.quota.state import Ask, BudgetCharge, Refusal
from tests.routing.test_router import CATALOG, Setup

DAY = BudgetLimit("day", Decimal(10))


class AnswerNeverComes(MemoryQuota):
    """Reserves, as a Redis script would, but the answer is never read back (a slow network)."""

    @property
    def immediate(self) -> None:  # type: ignore[override]  # awaited, as Redis is
        return None

    async def admit(self, ask: Ask, now: float) -> Refusal | None:
        await super().admit(ask, now)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_a_cancelled_admission_releases_what_it_may_have_reserved() -> None:
    state = AnswerNeverComes()
    clock = ManualClock()
    admission = Admission(state, CATALOG, clock, budgets=BudgetRule(global_=(DAY,)))
    plan = Setup().plan({"model": "gpt-5.4-mini", "input": "hi", "max_output_tokens": 100})
    charge = BudgetCharge("global:day", "day", 10 * 10**9, None)

    async def scenario() -> tuple[int, int]:
        pending = admission.admit(Client("key_a"), plan, "req_1")
        assert inspect.isawaitable(pending)
        task = asyncio.ensure_future(pending)
        await asyncio.sleep(0)
        held = (await state.spend([charge], clock.time()))[0].reserved_nano
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await admission.close()  # waits for the background release
        return held, (await state.spend([charge], clock.time()))[0].reserved_nano

    held, after = asyncio.run(scenario())
    assert held > 0  # the reservation was made before the answer was lost
    assert after == 0
