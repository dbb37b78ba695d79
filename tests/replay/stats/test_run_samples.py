"""A run directory's rows as samples: scored as the summary scores them, lines by index."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from laneway.replay.experiment import Cell
from laneway.replay.graders import Grade
from laneway.replay.run_dir import RunDir, RunDirError
from laneway.replay.stats.analysis import analyse
from laneway.replay.stats.run_samples import run_samples
from laneway.replay.summary import AGREEMENT_NOTE, EMULATED_NOTE, summarise
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, line, row

EXACT = {"exact": "4"}
PASS = Grade("exact", 1.0, "4", "exactly '4'?")
MISS = Grade("exact", 0.0, "5", "exactly '4'?")
HALF = Grade("json_fields", 0.5, "{}", "half the fields")
BROKEN = Grade("regex", None, "", "could not grade", "bad regex")


def _run(path: Path) -> RunDir:
    lines = [line(f"q{n}", EXACT) for n in range(3)]
    rows = [
        row(BASELINE, "q0", cost="0.01", grades=[PASS]),
        row(BASELINE, "q1", cost="0.01", grades=[MISS]),
        row(BASELINE, "q2", cost="0.01", grades=[PASS]),
        row(CANDIDATE, "q2", cost="0.002", latency_ms=300, grades=[PASS, HALF]),
        row(CANDIDATE, "q0", cost="0.001", latency_ms=100, grades=[PASS, BROKEN]),
        row(CANDIDATE, "q1", "error", cost=None, latency_ms=50, error_kind="timeout"),
    ]
    return build_run(path, lines, rows)


def test_rows_become_samples_scored_as_the_summary_scores_them(tmp_path: Path) -> None:
    run = _run(tmp_path)
    samples = run_samples(run)
    assert samples.line_ids == ("q0", "q1", "q2")
    base, cand = samples.cells
    assert (base.label, cand.label) == (BASELINE.label, CANDIDATE.label)
    assert base.scores.line.tolist() == [0, 1, 2]
    assert base.scores.value.tolist() == [1.0, 0.0, 1.0]
    # q2: mean of its grades; q0: a grader error, no score; q1: failed, no score.
    assert (cand.scores.line.tolist(), cand.scores.value.tolist()) == ([2], [0.75])
    assert cand.latencies_ms.value.tolist() == [300.0, 100.0]  # answered calls only
    assert cand.costs_usd is not None
    assert cand.costs_usd.value.tolist() == [0.002, 0.001, 0.0]  # the failure was free
    assert (cand.cost_total_usd, cand.calls) == (Decimal("0.003"), 3)
    summary = summarise(run)
    assert float(cand.scores.value.mean()) == summary.cells[1].quality.mean
    assert samples.notes == (EMULATED_NOTE,)


def test_without_expectations_quality_is_agreement_with_the_baseline(tmp_path: Path) -> None:
    lines = [line("a"), line("b")]
    rows = [
        row(BASELINE, "a", text="the answer is four"),
        row(BASELINE, "b", text="paris is the capital"),
        row(CANDIDATE, "a", text="the answer is four"),
        row(CANDIDATE, "b", text="no idea at all"),
    ]
    samples = run_samples(build_run(tmp_path, lines, rows, upstream="openai"))
    base, cand = samples.cells
    assert base.scores.value.tolist() == [1.0, 1.0]  # the reference agrees with itself
    assert cand.scores.value.tolist() == [1.0, 0.0]
    assert samples.notes == (AGREEMENT_NOTE,)


def test_a_run_analyses_end_to_end(tmp_path: Path) -> None:
    found = analyse(run_samples(_run(tmp_path)), np.random.default_rng(1), resamples=200)
    assert [cell.label for cell in found.cells] == [BASELINE.label, CANDIDATE.label]
    (comparison,) = found.comparisons
    assert comparison.lines == 1  # only q2 has scores on both sides
    assert comparison.estimate == pytest.approx(-0.25)
    assert comparison.verdict == "inconclusive"
    assert comparison.more_lines is not None


def test_a_row_of_a_cell_the_manifest_lacks_is_an_error(tmp_path: Path) -> None:
    stray = Cell("gpt-5.4-nano", "low")
    run = build_run(tmp_path, [line("q0", EXACT)], [row(stray, "q0", grades=[PASS])])
    with pytest.raises(RunDirError, match=r"which run\.json lacks"):
        run_samples(run)
