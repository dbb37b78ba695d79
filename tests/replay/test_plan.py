"""The plan, before any call: per cell its calls, its worst case (the input the emulator counts,
at the input price, plus each line's output cap at the output price) and its expected cost; an
unknown price is unknown (None, with a note), never zero."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.pricing.catalog import Catalog
from laneway.replay.plan import plan_run
from laneway.replay.run_setup import read_workloads
from laneway.replay.runner import RunSettings, run
from tests.replay.runs import experiment, gateway_config, line, rows, upstream_of

CAP = 64
MILLION = Decimal(1_000_000)
NANO = Decimal("0.000000001")


def test_the_worst_case_is_the_counted_input_and_the_output_cap_at_the_catalogs_prices(
    tmp_path: Path,
) -> None:
    workload = tmp_path / "work.jsonl"
    workload.write_bytes(
        line("a", max_output_tokens=CAP) + line("b", chat=True, max_completion_tokens=CAP)
    )
    chosen = experiment(workload)
    catalog = Catalog.load()
    plan = plan_run(chosen, read_workloads([str(workload)]), catalog)
    assert [(p.cell.label, p.calls) for p in plan.cells] == [
        ("as-written", 4),
        ("gpt-5.2@none", 4),
        ("gpt-5.4@low", 4),
    ]
    assert plan.calls == 12
    assert plan.notes == ()
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        asyncio.run(
            run(chosen, RunSettings(tmp_path / "run"), gateway_config(tmp_path),
                upstream=upstream_of(emulator))
        )  # fmt: skip
    for planned in plan.cells:
        made = [row for row in rows(tmp_path / "run") if row.cell == planned.cell.label]
        prices = catalog.get(made[0].model or "").prices
        assert prices.input is not None
        assert prices.output is not None
        # Input as the emulator counted it (its own count, in its usage).
        worst = sum(
            (row.usage.input_tokens * prices.input + CAP * prices.output) / MILLION
            for row in made
            if row.usage is not None
        )
        assert planned.worst_usd is not None
        assert worst <= planned.worst_usd <= worst + len(made) * NANO  # each rounded up
        assert planned.expected_usd is not None
        assert 0 < planned.expected_usd <= planned.worst_usd
    assert plan.worst_usd == sum(p.worst_usd or 0 for p in plan.cells)


def test_an_unknown_price_is_unknown_and_noted_and_over_any_cap(tmp_path: Path) -> None:
    workload = tmp_path / "work.jsonl"
    workload.write_bytes(line("a", max_output_tokens=CAP))
    chosen = experiment(
        workload, candidates={"models": ["gpt-5.4-nano"]}, spend_cap_usd="100", repeats=1
    )
    plan = plan_run(chosen, read_workloads([str(workload)]), Catalog.load())
    nano = plan.cells[1]
    assert nano.cell.label == "gpt-5.4-nano"
    assert (nano.worst_usd, nano.expected_usd, plan.worst_usd) == (None, None, None)
    assert plan.cells[0].worst_usd is not None  # the baseline's price is known
    assert any("gpt-5.4-nano: cost unknown" in note for note in plan.notes)
    assert plan.over_cap  # an unknown worst case cannot be held to a cap
