"""Admission's worst case under request shapes: what multiplies output, laneway's output cap, and
numbers past anything the quota state can count (a refusal, never a 500)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from laneway.clock import ManualClock
from laneway.gateway.admission import Admission, BudgetRule, Hold
from laneway.gateway.client import Client
from laneway.keys.model import VirtualKey
from laneway.pricing.catalog import Catalog
from laneway.pricing.worst_case import WorstCase
from laneway.quota.budget import BudgetLimit
from laneway.quota.memory import MemoryQuota
from laneway.routing.router import Plan
from laneway.wire.errors import ApiError
from laneway.wire.request import Endpoint
from tests.routing.test_router import CATALOG, Setup

DAY = BudgetLimit("day", Decimal(1000))


def plan_of(body: dict[str, Any], endpoint: Endpoint = "responses") -> Plan:
    return Setup().plan(body, endpoint)


def admission(catalog: Catalog = CATALOG, **rule: Any) -> Admission:
    budgets = BudgetRule(global_=(DAY,), **rule)
    return Admission(MemoryQuota(), catalog, ManualClock(), budgets=budgets)


def reserved(admission: Admission, plan: Plan) -> int:
    charge = admission.shared_charges()[0]
    hold = admission.admit(Client("key_a"), plan, "req_1")
    assert isinstance(hold, Hold)
    now = admission._clock.time()
    return asyncio.run(admission.state.spend([charge], now))[0].reserved_nano


def test_every_chat_choice_is_reserved() -> None:
    body = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}]}
    one = plan_of({**body, "max_completion_tokens": 200}, "chat")
    eight = plan_of({**body, "max_completion_tokens": 200, "n": 8}, "chat")
    worst = WorstCase(CATALOG)
    size = len(orjson.dumps({**body, "max_completion_tokens": 200, "n": 8}))
    assert reserved(admission(), eight) == worst.nano("gpt-5.4-mini", size, 200 * 8)
    assert reserved(admission(), eight) > 7 * reserved(admission(), one)


def test_laneways_cap_is_what_is_reserved_and_it_grows_with_effort() -> None:
    body = {"model": "gpt-5.4", "input": "hi", "reasoning": {"effort": "low"}}
    low = plan_of(body)
    size = len(orjson.dumps(body))
    worst = WorstCase(CATALOG)
    assert reserved(admission(), low) == worst.nano("gpt-5.4", size, 2048)
    assert low.output_cap == 2048
    xhigh = plan_of({"model": "gpt-5.4", "input": "hi", "reasoning": {"effort": "xhigh"}})
    reserved(admission(output_allowance=100), xhigh)
    assert xhigh.output_cap == 1600


def test_no_cap_without_a_budget() -> None:
    plan = plan_of({"model": "gpt-5.4", "input": "hi"})
    quiet = Admission(MemoryQuota(), CATALOG, ManualClock())
    assert quiet.admit(Client("key_a"), plan, "req_1") is None
    assert plan.output_cap is None


@pytest.fixture
def unbounded(tmp_path: Path) -> Catalog:
    """A priced model whose max output is unknown: nothing but the request bounds its output."""
    override = tmp_path / "open.toml"
    override.write_text('[models."gpt-5.4-nano".prices]\noutput = "0.40"\n')
    return Catalog.load(override)


def test_a_worst_case_past_what_the_state_counts_is_refused_not_a_500(
    unbounded: Catalog,
) -> None:
    # gpt-5.4-nano's max output is unknown, so no 400 can say the cap is too large.
    plan = plan_of({"model": "gpt-5.4-nano", "input": "hi", "max_output_tokens": 10**18})
    with pytest.raises(ApiError) as refused:
        admission(unbounded).admit(Client("key_a"), plan, "req_1")
    assert (refused.value.status, refused.value.code) == (429, "insufficient_quota")
    assert "beyond any budget" in refused.value.message


def test_a_tpm_estimate_past_what_the_state_counts_is_the_limits_refusal() -> None:
    key = VirtualKey(
        id="vk_1", name="k", prefix="lw-k", digest="", created_at=0, updated_at=0, tpm=1000
    )
    plan = plan_of({"model": "gpt-5.4-nano", "input": "hi", "max_output_tokens": 10**18})
    quiet = Admission(MemoryQuota(), CATALOG, ManualClock())
    with pytest.raises(ApiError) as refused:
        quiet.admit(Client("vk_1", key=key), plan, "req_1")
    assert (refused.value.status, refused.value.code) == (429, "rate_limit_exceeded")
    assert "can never fit" in refused.value.message
