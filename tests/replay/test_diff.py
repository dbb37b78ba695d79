"""Two runs compared (laneway.replay.diff): cells matched by label and the rest named, quality
A and B with the paired difference by the decide statistics, cost and latency side by side,
flips with both answers, and runs of different workloads refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from laneway.replay.diff import DiffError, RunDiff, diff_runs
from laneway.replay.diff_text import ANSWER_CHARS, diff_markdown, diff_text, escape_markdown
from laneway.replay.stats import binomial
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, row
from tests.replay.built_runs import line as workload_line
from tests.replay.decided_runs import MISS, PASS
from tests.replay.diffed_runs import (
    LONG_ANSWER,
    MARKUP_ANSWER,
    ONLY_A,
    ONLY_B,
    lines,
    run_a,
    run_b,
)


def _diff(tmp_path: Path) -> RunDiff:
    return diff_runs(run_a(tmp_path / "a"), run_b(tmp_path / "b"), np.random.default_rng(0))


def test_cells_in_both_are_compared_and_the_others_named(tmp_path: Path) -> None:
    found = _diff(tmp_path)
    assert [cell.label for cell in found.cells] == [BASELINE.label, CANDIDATE.label]
    assert found.only_in_a == (ONLY_A.label,)
    assert found.only_in_b == (ONLY_B.label,)
    assert found.lines == 10


def test_the_quality_change_is_the_paired_difference_over_lines_graded_in_both(
    tmp_path: Path,
) -> None:
    cell = _diff(tmp_path).cells[1]
    assert cell.a.quality.mean == pytest.approx(0.6)
    assert cell.b.quality.mean == pytest.approx(7 / 9)  # the timed-out call is not graded
    change = cell.change
    assert change is not None
    # q5 has no score in B: 9 lines, B ahead on q6..q8 and behind on q4.
    assert (change.method, change.lines, change.rows) == ("tango", 9, 18)
    assert change.estimate == pytest.approx(2 / 9)
    assert change.lower == pytest.approx(binomial.tango_lower(3, 1, 9, 0.025))
    assert change.upper == pytest.approx(binomial.tango_upper(3, 1, 9, 0.025))
    assert change.lower < 0 < change.upper
    assert change.confidence == 0.95


def test_the_unchanged_baseline_differs_by_nothing(tmp_path: Path) -> None:
    cell = _diff(tmp_path).cells[0]
    assert cell.change is not None
    assert (cell.change.estimate, cell.change.method) == (0.0, "tango")
    assert cell.regressions == cell.recoveries == ()
    assert cell.cost_change_usd == 0


def test_cost_and_latency_side_by_side_exactly(tmp_path: Path) -> None:
    cell = _diff(tmp_path).cells[1]
    assert cell.a.cost.per_request_usd == Decimal("0.001")
    assert cell.b.cost.per_request_usd == Decimal("0.00072")  # 9 x 0.0008 and a $0 timeout
    assert cell.cost_change_usd == Decimal("-0.00028")
    assert cell.latency_change_ms == pytest.approx(-20.0)


def test_flips_both_ways_with_both_answers_in_workload_order(tmp_path: Path) -> None:
    cell = _diff(tmp_path).cells[1]
    assert [(f.custom_id, f.direction) for f in cell.regressions] == [
        ("q4", "regression"),
        ("q5", "regression"),
    ]
    assert [f.custom_id for f in cell.recoveries] == ["q6", "q7", "q8"]
    q4, q5 = cell.regressions
    assert (q4.a.text, q4.b.text) == ("4", MARKUP_ANSWER)
    assert (q4.a.score, q4.b.score) == (1.0, 0.0)
    assert (q5.b.text, q5.b.failure) == (None, "timeout")
    assert cell.recoveries[2].a.text == LONG_ANSWER  # whole in the result


def test_a_line_whose_repeats_disagree_is_no_flip(tmp_path: Path) -> None:
    both = [row(c, "q0", grades=[PASS], repeat=r) for c in (BASELINE, CANDIDATE) for r in (0, 1)]
    mixed = [row(BASELINE, "q0", grades=[PASS], repeat=r) for r in (0, 1)]
    mixed += [
        row(CANDIDATE, "q0", grades=[grade], repeat=r) for r, grade in enumerate((PASS, MISS))
    ]
    one = lines()[:1]
    a = build_run(tmp_path / "a", one, both, repeats=2)
    b = build_run(tmp_path / "b", one, mixed, repeats=2)
    cell = diff_runs(a, b, np.random.default_rng(0)).cells[1]
    assert cell.regressions == ()
    assert cell.change is not None
    assert cell.change.estimate == pytest.approx(-0.5)  # repeats averaged per line
    failed = [*mixed[:3], row(CANDIDATE, "q0", grades=[MISS], repeat=1)]
    failed[2] = row(CANDIDATE, "q0", grades=[MISS], repeat=0)
    c = build_run(tmp_path / "c", one, failed, repeats=2)
    (flip,) = diff_runs(a, c, np.random.default_rng(0)).cells[1].regressions
    assert (flip.a.passed, flip.a.counted, flip.b.passed, flip.b.counted) == (2, 2, 0, 2)


def test_runs_of_different_workloads_are_refused(tmp_path: Path) -> None:
    a = run_a(tmp_path / "a")
    b = run_b(tmp_path / "b", lines(expect="5"))
    with pytest.raises(DiffError, match="different workloads"):
        diff_runs(a, b, np.random.default_rng(0))


def test_runs_with_no_cell_in_common_are_refused(tmp_path: Path) -> None:
    a = build_run(tmp_path / "a", lines(), [], cells=(BASELINE,))
    b = build_run(tmp_path / "b", lines(), [], cells=(ONLY_B,))
    with pytest.raises(DiffError, match="no cell in common"):
        diff_runs(a, b, np.random.default_rng(0))


def test_the_text_shows_the_figures_and_cuts_long_answers(tmp_path: Path) -> None:
    text = diff_text(_diff(tmp_path))
    row_line = next(x for x in text.splitlines() if x.startswith(CANDIDATE.label))
    assert "0.60 (6/10)" in row_line
    assert "0.78 (7/9)" in row_line
    assert "+22.2 [" in row_line
    assert "tango" in row_line
    assert "$0.00072 (-$0.00028)" in row_line
    assert f"only in A (not compared): {ONLY_A.label}" in text
    assert "B: failed (timeout)" in text
    assert f"A: {'x' * ANSWER_CHARS}\u2026 (+{500 - ANSWER_CHARS} chars)" in text
    assert "5 | <script>alert(1)</script> \u21b5 *second* line" in text  # one line per answer


def test_markdown_escapes_answers_in_their_table(tmp_path: Path) -> None:
    markdown = diff_markdown(_diff(tmp_path))
    shown = escape_markdown(MARKUP_ANSWER)
    assert f"| {CANDIDATE.label} | q4 | 4 | {shown} |" in markdown
    assert "<script>" not in markdown
    assert "\n*second*" not in markdown
    assert shown == r"5 \| \<script\>alert(1)\</script\><br>\*second\* line"
    assert "## Regressions: passed in A, failed in B" in markdown
    assert "failed (timeout)" in markdown


def test_text_and_markdown_list_the_first_flips_and_count_the_rest(tmp_path: Path) -> None:
    found = _diff(tmp_path)
    text = diff_text(found, shown=1)
    assert "q4" in text
    assert "q5" not in text
    assert f"  {CANDIDATE.label}: 1 more (--json lists every one)" in text
    assert f"  {CANDIDATE.label}: 2 more (--json lists every one)" in text
    markdown = diff_markdown(found, shown=0)
    assert "## Regressions" in markdown
    assert f"- {CANDIDATE.label}: 2 more (--json lists every one)" in markdown
    assert "| q4 |" not in markdown


def test_without_expectations_lines_flip_by_agreement_with_each_runs_baseline(
    tmp_path: Path,
) -> None:
    plain = [workload_line("q0"), workload_line("q1")]
    same = [row(c, f"q{n}") for c in (BASELINE, CANDIDATE) for n in (0, 1)]
    drifted = [*same[:3], row(CANDIDATE, "q1", text="something else entirely")]
    a = build_run(tmp_path / "a", plain, same)
    found = diff_runs(a, build_run(tmp_path / "b", plain, drifted), np.random.default_rng(0))
    (flip,) = found.cells[1].regressions
    assert (flip.custom_id, flip.a.score, flip.b.text) == ("q1", 1.0, "something else entirely")
    assert any("agreement with each run's own baseline" in note for note in found.notes)
    graded = build_run(tmp_path / "c", plain, same, graders=["my_graders:check"])
    found = diff_runs(a, graded, np.random.default_rng(0))
    assert found.cells[1].change is None  # nothing graded in run C: no difference to draw
    assert found.cells[1].regressions == ()  # an ungraded answer is neither pass nor fail
    assert any("run B's expectations" in note for note in found.notes)
    assert any("different graders" in note for note in found.notes)
