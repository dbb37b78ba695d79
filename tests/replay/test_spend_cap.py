"""The spend cap: a run whose worst case exceeds it refuses to start unless told; told, it runs
until the next call's worst case no longer fits and stops there, having spent no more than the
cap. Reservations wait for calls in flight before giving up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.pricing.catalog import Catalog
from laneway.replay.plan import plan_run
from laneway.replay.run_setup import read_workloads
from laneway.replay.runner import RunSettings, resume, run
from laneway.replay.spend_cap import RunCapError, SpendCap
from tests.replay.runs import experiment, gateway_config, many_lines, rows, upstream_of


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none")) as server:
        yield server


def test_the_cap_refuses_a_run_then_stops_one_told_to_start(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    workload = many_lines(tmp_path / "work.jsonl", 40)
    config = gateway_config(tmp_path)
    plan = plan_run(experiment(workload), read_workloads([str(workload)]), Catalog.load())
    assert plan.worst_usd is not None
    cap = (plan.worst_usd / 3).quantize(Decimal("0.000001"))
    capped = experiment(workload, spend_cap_usd=str(cap))
    settings = RunSettings(tmp_path / "run")
    with pytest.raises(RunCapError, match="exceeds its spend cap"):
        asyncio.run(run(capped, settings, config, upstream=upstream_of(emulator)))
    assert not settings.run_dir.exists()  # refused before anything was made

    told = RunSettings(settings.run_dir, over_cap=True)
    outcome = asyncio.run(run(capped, told, config, upstream=upstream_of(emulator)))
    assert outcome.stopped is not None
    assert outcome.stopped.startswith("spend cap reached")
    made = rows(settings.run_dir)
    spent = sum((row.cost_usd or Decimal(0) for row in made), Decimal(0))
    assert outcome.spent_usd == spent <= cap
    assert 0 < outcome.completed == len(made) < plan.calls
    # Worst cases are far above what calls cost (a 64-token cap, short answers): the cap stops
    # the run once what is left of it is below one call's worst case.
    again = asyncio.run(resume(settings.run_dir, config, upstream=upstream_of(emulator)))
    assert again.stopped is not None
    assert again.stopped.startswith("spend cap reached")
    assert again.spent_usd <= cap


def test_a_reservation_waits_for_calls_in_flight_and_gives_up_without_any() -> None:
    async def scenario() -> list[str]:
        cap = SpendCap(Decimal("1.00"))
        happened: list[str] = []
        first = await cap.reserve(Decimal("0.70"))
        assert first is not None

        async def second() -> None:
            held = await cap.reserve(Decimal("0.50"))  # fits only once the first settles
            happened.append("second reserved" if held else "second refused")
            if held is not None:
                cap.settle(held, Decimal("0.45"))

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0)
        happened.append("first settles")
        cap.settle(first, Decimal("0.20"))
        await waiting
        assert cap.charged_usd == Decimal("0.65")
        assert cap.reserved_usd == 0
        assert await cap.reserve(Decimal("0.36")) is None  # nothing in flight: never fits
        assert cap.refusal(Decimal("0.36")).startswith("spend cap reached: $0.65 charged of $1.00")
        return happened

    assert asyncio.run(scenario()) == ["first settles", "second reserved"]
