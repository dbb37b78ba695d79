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


def test_the_plan_counts_and_bounds_the_judges_calls(tmp_path: Path) -> None:
    workload = tmp_path / "work.jsonl"
    workload.write_bytes(
        b"".join(line(f"q{n}", max_output_tokens=CAP) for n in range(5))
        + line("c", chat=True, max_completion_tokens=CAP)
    )
    judges = [
        {"kind": "rubric", "model": "gpt-5.4", "rubric": "Right or wrong.", "name": "r"},
        {"kind": "pairwise", "model": "gpt-5.4-mini", "name": "p", "effort": "low"},
    ]
    chosen = experiment(workload, judges=judges, repeats=1)  # 3 cells x 6 lines
    catalog = Catalog.load()
    plan = plan_run(chosen, read_workloads([str(workload)]), catalog)
    judged = plan.judges
    assert judged is not None
    # The rubric reads every answer (3 per line); pairwise the 2 candidates', in both orders.
    assert judged.calls == 6 * (3 + 2 * 2)
    assert plan.calls == 3 * 6 + judged.calls
    cells_worst = sum((p.worst_usd or Decimal(0) for p in plan.cells), Decimal(0))
    assert judged.worst_usd is not None
    assert plan.worst_usd == cells_worst + judged.worst_usd
    assert judged.expected_usd is not None
    assert 0 < judged.expected_usd < judged.worst_usd

    config = gateway_config(tmp_path)
    with EmulatorServer(EmulatorConfig(speed=0, tier="none")) as emulator:
        outcome = asyncio.run(
            run(chosen, RunSettings(tmp_path / "run"), config, upstream=upstream_of(emulator))
        )
    made = [r for row in rows(tmp_path / "run") for r in row.judge_records]
    assert len(made) == judged.calls  # every answer came back, so every planned call was made
    assert 0 < outcome.judge_spent_usd <= judged.worst_usd
    # The run keeps the catalog entries its judges were priced with, beside its cells'.
    kept = Catalog.load(tmp_path / "run" / "catalog.toml", include_shipped=False)
    assert {"gpt-5.4", "gpt-5.4-mini", "gpt-5.2"} <= {spec.id for spec in kept}


def test_a_judge_model_without_a_price_makes_the_judges_cost_unknown(tmp_path: Path) -> None:
    workload = tmp_path / "work.jsonl"
    workload.write_bytes(line("a", max_output_tokens=CAP))
    judges = [{"kind": "rubric", "model": "gpt-5.4-nano", "rubric": "Right or wrong."}]
    plan = plan_run(
        experiment(workload, judges=judges), read_workloads([str(workload)]), Catalog.load()
    )
    assert plan.judges is not None
    assert (plan.judges.worst_usd, plan.judges.expected_usd) == (None, None)
    assert (plan.worst_usd, plan.expected_usd) == (None, None)
    assert any(note.startswith("judges: cost unknown") for note in plan.notes)
