"""Judges in a run: each answer graded by the experiment's model graders through the run's own
gateway, their calls charged to the run and kept apart from the cells' costs. With a judge that
never errs, the rubric agrees with the expectations' graders and pairwise with the difference
between the candidate's and the baseline's right answers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from laneway.assembly import Upstream
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.emulator.skills import JudgeSkill, SkillsConfig
from laneway.replay.demo import DEMO_WORKLOAD
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import CELL_ANNOTATION, JUDGE_CELL, RunOutcome, RunSettings, resume, run
from laneway.replay.summary import summarise
from tests.replay.runs import gateway_config, records, rows, upstream_of
from tests.replay.test_resume import StopAfter

LINES = 24


def test_judges_grade_every_answer_and_their_spend_is_kept_apart(tmp_path: Path) -> None:
    workload = tmp_path / "demo.jsonl"
    workload.write_bytes(b"".join(DEMO_WORKLOAD.read_bytes().splitlines(keepends=True)[:LINES]))
    chosen = ExperimentConfig.model_validate(
        {
            "workloads": [str(workload)],
            "candidates": {"cells": [{"model": "gpt-5.4-nano", "effort": "none"}]},
            "concurrency": 4,
            "judges": [
                {"kind": "rubric", "model": "gpt-5.4", "rubric": "Right or wrong.", "name": "r"},
                {"kind": "pairwise", "model": "gpt-5.4", "name": "p"},
            ],
        }
    )
    config = gateway_config(tmp_path)
    skills = SkillsConfig(judge=JudgeSkill(accuracy=1.0, position_bias=0.0))
    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none", skills=skills)) as emulator:
        outcome = asyncio.run(
            run(chosen, RunSettings(tmp_path / "run"), config, upstream=upstream_of(emulator))
        )
    assert outcome.stopped is None
    found = {row.key: row for row in rows(tmp_path / "run")}
    assert len(found) == 2 * LINES
    right = {}  # (cell, custom_id) -> the expectations' verdict
    for (cell, custom_id, _), row in found.items():
        grades = {grade.grader: grade for grade in row.grades}
        expected = [g.value for name, g in grades.items() if name not in ("r", "p")]
        assert expected
        right[(cell, custom_id)] = min(v or 0.0 for v in expected)
        assert grades["r"].value == right[(cell, custom_id)]  # a judge that never errs
        assert ("p" in grades) == (cell != "as-written")  # never the baseline against itself
    for (cell, custom_id, _), row in found.items():
        if cell == "as-written":
            continue
        pairwise = next(g for g in row.grades if g.grader == "p")
        difference = right[(cell, custom_id)] - right[("as-written", custom_id)]
        assert pairwise.value == 0.5 + difference / 2
        assert pairwise.flipped is False

    judged = {record.id: record for record in records(config)}
    for row in found.values():
        assert row.judge_records
        calls = [judged[record_id] for record_id in row.judge_records]
        assert all(r.annotations == {CELL_ANNOTATION: JUDGE_CELL} for r in calls)
        assert row.judge_cost_usd == sum((r.cost_usd or Decimal(0) for r in calls), Decimal(0))
        assert row.judge_cost_usd > 0
    judging = sum((row.judge_cost_usd or Decimal(0) for row in found.values()), Decimal(0))
    assert outcome.judge_spent_usd == judging
    called = sum((row.cost_usd or Decimal(0) for row in found.values()), Decimal(0))
    assert outcome.spent_usd == called  # the cells' own calls; judging apart

    summary = summarise(RunDir(tmp_path / "run"))
    assert summary.judge_usd == judging
    assert summary.quality_kind == "expectations"
    candidate = summary.cells[1]
    assert candidate.judge_flips["p"].pairs == LINES
    assert candidate.judge_flips["p"].flips == 0
    assert any(note.startswith("judging cost $") for note in summary.notes)
    for measured in summary.cells:  # the cost's parts by kind add up to it exactly
        parts = measured.cost.parts_usd
        if measured.cost.unknown:  # gpt-5.4-nano: its output price is unknown in the catalog
            assert parts is None
            continue
        assert parts is not None
        assert parts["uncached_input"] + parts["cached_input"] + parts["output"] == (
            measured.cost.total_usd
        )
        assert 0 <= parts["reasoning"] <= parts["output"]
    assert [each.cost.unknown > 0 for each in summary.cells] == [False, True]


def test_a_resumed_run_judges_its_remaining_answers_against_the_baseline_on_disk(
    tmp_path: Path,
) -> None:
    workload = tmp_path / "demo.jsonl"
    workload.write_bytes(b"".join(DEMO_WORKLOAD.read_bytes().splitlines(keepends=True)[:40]))
    chosen = ExperimentConfig.model_validate(
        {
            "workloads": [str(workload)],
            "candidates": {"cells": [{"model": "gpt-5.4-mini", "effort": "none"}]},
            "concurrency": 4,
            "judges": [{"kind": "pairwise", "model": "gpt-5.4", "name": "p"}],
        }
    )
    config = gateway_config(tmp_path)
    settings = RunSettings(tmp_path / "run")
    events = StopAfter(30)
    skills = SkillsConfig(judge=JudgeSkill(accuracy=1.0, position_bias=0.0))

    async def interrupted(upstream: Upstream) -> RunOutcome:
        task = asyncio.create_task(run(chosen, settings, config, events=events, upstream=upstream))
        events.task = task
        return await task

    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none", skills=skills)) as emulator:
        first = asyncio.run(interrupted(upstream_of(emulator)))
        assert first.stopped == "interrupted"
        # Bounded: a candidate left waiting for a baseline answer no one brings would hang.
        resumed = resume(settings.run_dir, config, upstream=upstream_of(emulator))
        second = asyncio.run(asyncio.wait_for(resumed, timeout=60))
    assert second.stopped is None
    found = {row.key: row for row in rows(settings.run_dir)}
    assert len(found) == 80
    for (cell, custom_id, repeat), row in found.items():
        if cell == "as-written" or row.status != "ok":
            continue
        baseline = found[("as-written", custom_id, repeat)]
        pairwise = [grade for grade in row.grades if grade.grader == "p"]
        if baseline.status != "ok":
            assert pairwise == []  # nothing to compare with
            continue
        assert len(pairwise) == 1  # judged, before the stop or after it, against the baseline
        mine = min(g.value or 0.0 for g in row.grades if g.grader != "p")
        theirs = min(g.value or 0.0 for g in baseline.grades)
        assert pairwise[0].value == 0.5 + (mine - theirs) / 2
