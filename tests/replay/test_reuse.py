"""`--reuse`: a re-run after changing only the graders makes no call it made before, grades
the reused answers with its own graders, spends nothing on them and says which rows they are;
failures are never reused."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from laneway.emulator.config import EmulatorConfig, FaultRule
from laneway.emulator.server import EmulatorServer
from laneway.replay.call_cache import CallCache
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunSettings, run
from laneway.replay.summary import summarise
from tests.replay.runs import (
    emulator_bill,
    experiment,
    gateway_config,
    records,
    rows,
    small_workload,
    upstream_of,
)


def test_a_rerun_with_other_graders_reuses_every_answer_and_remakes_every_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "length_check.py").write_text(
        "def short(request, answer, expected):\n"
        "    return (1.0 if len(answer.text) < 10_000 else 0.0, 'short')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    faults = (FaultRule(kind="status", status=500, models=("gpt-5.2",)),)
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(
        tmp_path, breaker={"consecutive_failures": 1_000_000, "min_requests": 1_000_000}
    )
    cache = tmp_path / "cache"
    first = RunSettings(tmp_path / "first", reuse=cache)
    second = RunSettings(tmp_path / "second", reuse=cache)
    with EmulatorServer(EmulatorConfig(seed=2, speed=0, tier="none", faults=faults)) as emulator:
        upstream = upstream_of(emulator)
        before = asyncio.run(run(experiment(workload), first, config, upstream=upstream))
        billed = emulator_bill(emulator)
        regraded = experiment(workload, graders=["length_check:short"])
        after = asyncio.run(run(regraded, second, config, upstream=upstream))
        assert emulator_bill(emulator) == billed  # the answered calls were not made again

    made = rows(first.run_dir)
    answered = {row.key for row in made if row.status == "ok"}
    failed = {row.key for row in made if row.status != "ok"}
    assert len(answered) == 16  # 4 lines x 2 repeats x (as written, gpt-5.4@low)
    assert len(failed) == 8  # gpt-5.2@none: the emulator's 500s
    assert len(list(cache.rglob("*.json"))) == 16  # answers kept; failures never
    assert before.reused == 0

    again = {row.key: row for row in rows(second.run_dir)}
    assert {key for key, row in again.items() if row.reused} == answered
    assert {key for key, row in again.items() if not row.reused} == failed
    by_key = {row.key: row for row in made}
    for key in answered:
        row, earlier = again[key], by_key[key]
        assert row.output == earlier.output
        assert row.cost_usd == earlier.cost_usd
        assert row.record_id == earlier.record_id  # the call that was made, in the ledger
        assert row.grades[-1].grader == "length_check:short"  # graded by this run's graders
    assert after.reused == 16
    assert after.spent_usd == Decimal(0)  # only the 500s were made, and they cost nothing

    second_run = after.manifest.run_id
    made_now = [record for record in records(config) if record.run_id == second_run]
    assert Counter(record.requested_model for record in made_now) == Counter({"gpt-5.2": 8})

    summary = summarise(RunDir(second.run_dir))
    assert {cell.label: cell.reused for cell in summary.cells} == {
        "as-written": 8,
        "gpt-5.2@none": 0,
        "gpt-5.4@low": 8,
    }
    assert summary.spent_usd == Decimal(0)
    assert any("served from the call cache" in note for note in summary.notes)


def test_another_upstream_or_repeat_is_another_call(tmp_path: Path) -> None:
    workload = small_workload(tmp_path / "work.jsonl")
    config = gateway_config(tmp_path)
    cache = tmp_path / "cache"
    chosen = experiment(workload, repeats=1)
    with EmulatorServer(EmulatorConfig(seed=2, speed=0, tier="none")) as one:
        asyncio.run(
            run(chosen, RunSettings(tmp_path / "a", reuse=cache), config, upstream=upstream_of(one))
        )
    with EmulatorServer(EmulatorConfig(seed=2, speed=0, tier="none")) as other:
        outcome = asyncio.run(
            run(
                experiment(workload, repeats=2),
                RunSettings(tmp_path / "b", reuse=cache),
                config,
                upstream=upstream_of(other),  # another address: another upstream
            )
        )
    assert outcome.reused == 0
    assert len(list(CallCache(cache).root.rglob("*.json"))) == 12 + 24
