"""Costs laneway cannot see are charged to budgets at the worst case reserved, never at nothing:
an answer without usage, and attempts given up after they were sent (the provider may have
billed them whole). The ledger keeps what is known and names the rest (`cost_basis`); the
budget assumes the worst of it, so it is never charged less than the provider billed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openai
import pytest

from laneway.clock import ManualClock
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.price_list import shipped_prices
from laneway.emulator.server import EmulatorServer
from laneway.gateway.admission import Admission, BudgetRule, Hold
from laneway.gateway.client import Client
from laneway.ledger.record import Attempt, CostBasis, LedgerRecord
from laneway.pricing.worst_case import nano_ceil
from laneway.quota.budget import BudgetLimit
from laneway.quota.memory import MemoryQuota
from laneway.server.run import GatewayServer
from tests.gateway.conftest import gateway_config
from tests.gateway.test_admission_worst_case import plan_of
from tests.gateway.test_virtual_keys import ENV, admin, create_key
from tests.routing.test_router import CATALOG
from tests.sdk import sdk

GIVEN_UP = Attempt("p0", "gpt-5.4-mini", None, 1000.0, "no answer: timed out")
ANSWERED = Attempt("p0", "gpt-5.4-mini", 200, 10.0)
KNOWN = Decimal("0.0001")


def charged(
    basis: CostBasis | None, attempts: tuple[Attempt, ...], cost: Decimal | None
) -> tuple[int, int]:
    """(nano-dollars the budget holds once the record settles, the worst case reserved)."""
    admission = Admission(
        MemoryQuota(),
        CATALOG,
        ManualClock(),
        budgets=BudgetRule(global_=(BudgetLimit("day", Decimal(1000)),)),
    )
    hold = admission.admit(Client("key_a"), plan_of({"model": "gpt-5.4-mini", "input": "hi"}), "r")
    assert isinstance(hold, Hold)
    assert hold.worst_nano > 0
    record = LedgerRecord(
        id="r", created_at=0.0, key_id="key_a", endpoint="responses",
        requested_model="gpt-5.4-mini", stream=True, status="ok", attempts=attempts,
        cost_usd=cost, cost_basis=basis,
    )  # fmt: skip
    admission.settle(hold, record)
    now = admission._clock.time()
    (spend,) = asyncio.run(admission.state.spend(admission.shared_charges(), now))
    assert spend.reserved_nano == 0
    return spend.settled_nano, hold.worst_nano


def test_an_exact_or_estimated_cost_is_charged_as_it_is() -> None:
    assert charged(None, (ANSWERED,), KNOWN)[0] == nano_ceil(KNOWN)
    assert charged("estimated", (ANSWERED,), KNOWN)[0] == nano_ceil(KNOWN)


def test_each_attempt_given_up_is_charged_the_worst_case_beside_the_known_cost() -> None:
    settled, worst = charged("abandoned", (GIVEN_UP, GIVEN_UP, ANSWERED), KNOWN)
    assert settled == nano_ceil(KNOWN) + 2 * worst


def test_an_answer_without_usage_is_charged_the_worst_case() -> None:
    assert charged("no_usage", (ANSWERED,), None) == (charged("no_usage", (), None)[1],) * 2
    settled, worst = charged("no_usage", (GIVEN_UP, ANSWERED), None)
    assert settled == 2 * worst


def test_an_attempt_out_when_the_client_left_is_charged_the_worst_case() -> None:
    settled, worst = charged("abandoned", (), None)  # cancelled: no attempt was recorded
    assert settled == worst


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EmulatorServer, GatewayServer]]:
    config = EmulatorConfig(seed=5, speed=0, tier="none", journal_requests=100)
    with EmulatorServer(config) as emulator:
        gateway = gateway_config(emulator, tmp_path / "ledger.db", keys={"refresh_s": 0.2})
        with GatewayServer(gateway, ENV) as server:
            yield emulator, server


def test_streams_cut_before_their_first_event_charge_the_budget_at_least_the_bill(
    served: tuple[EmulatorServer, GatewayServer],
) -> None:
    emulator, server = served
    key, view = create_key(server, name="unseen", budgets=["5/day"])
    with sdk(server.base_url, key) as client:
        for _ in range(2):  # a third would meet the breaker these cuts opened
            with (
                pytest.raises(openai.APIError),
                client.responses.stream(
                    model="gpt-5.4-mini",
                    input="Describe the tides.",
                    extra_headers={"x-emulator-fault": "cut=0"},
                ) as events,
            ):
                events.get_final_response()
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    records = [r for r in assembly.ledger.between(None, None) if r.key_id == view["id"]]
    assert [r.cost_basis for r in records] == ["abandoned"] * 2
    journal = emulator.engine.bill.journal()
    assert journal  # each call was billed its input, though none was answered
    prices = shipped_prices()
    billed = Decimal(0)
    for entry in journal.values():
        found = prices.find(entry.model)
        assert found is not None
        billed += found.charge(entry.usage).total
    (day,) = admin(server, "GET", f"keys/{view['id']}").json()["spend"]
    assert Decimal(day["reserved_usd"]) == 0
    assert sum((r.cost_usd or Decimal(0) for r in records), Decimal(0)) < billed
    assert Decimal(day["spent_usd"]) >= billed  # on main: 0, the budget charged nothing
