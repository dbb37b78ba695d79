"""The report's model from a run with a known truth (tests.replay.report.reported_runs): the
worst regressions with their inputs and both answers, the Pareto front, the effort curves, the
latency spread, the run's own cost and what it used."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from laneway.replay.report.build import NO_LEDGER_NOTE, build_report
from laneway.replay.report.frontier import pareto_front
from laneway.replay.report.latency import SAMPLE_POINTS, latency_spread
from laneway.replay.report.model import Report
from laneway.replay.run_dir import RunDir, RunDirError
from tests.replay.report.reported_runs import (
    BASELINE,
    LONG,
    MINI,
    MINI_NONE,
    UNPRICED,
    WRONG,
    reported_run,
)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return build_report(reported_run(tmp_path / "run"))


def test_the_worst_regressions_show_the_input_and_both_answers(report: Report) -> None:
    assert report.recommendation.pick is None  # 40 lines settle nothing: every candidate shown
    by_cell = {found.label: found for found in report.regressions}
    assert list(by_cell) == [MINI.label, MINI_NONE.label, UNPRICED.label]
    mini = by_cell[MINI.label]
    assert (mini.compared, mini.found) == (40, 2)
    assert [r.custom_id for r in mini.shown] == ["q3", "q7"]  # equal drops: workload order
    timeout, wrong = mini.shown
    assert timeout.drop == wrong.drop == 1.0
    assert timeout.input_text == "user: question q3"
    assert timeout.expected == '{"exact":"4"}'
    assert (timeout.baseline.answer, timeout.baseline.score) == ("4", 1.0)
    assert (timeout.candidate.answer, timeout.candidate.failure) == (None, "timeout")
    assert (wrong.candidate.answer, wrong.candidate.score) == (WRONG, 0.0)
    assert by_cell[MINI_NONE.label].found == 10
    assert by_cell[UNPRICED.label].found == 0


def test_a_long_input_is_cut_with_what_was_left_out_counted(tmp_path: Path) -> None:
    report = build_report(reported_run(tmp_path / "run"), shown=40)
    mini_none = next(found for found in report.regressions if found.label == MINI_NONE.label)
    long = next(r for r in mini_none.shown if r.custom_id == "q5")
    assert len(long.input_text) == 2_000
    assert long.input_more == len("user: ") + LONG - 2_000


def test_the_front_leaves_out_a_cell_of_unknown_cost(report: Report) -> None:
    # MINI_NONE is cheapest (0.55); MINI dearer and better (31/39); the baseline dearest and
    # better still (0.8); UNPRICED has no cost to place, so it is on no front.
    assert report.front == (MINI_NONE.label, MINI.label, BASELINE.label)
    assert [cell.on_front for cell in report.cells] == [True, True, True, False]


def test_pareto_front_by_hand() -> None:
    points = [("a", Decimal(1), 0.5), ("b", Decimal(2), 0.5), ("c", Decimal(2), 0.7),
              ("d", Decimal(3), 0.6), ("e", None, 0.9), ("f", Decimal(4), None),
              ("g", Decimal(5), 0.8)]  # fmt: skip
    assert pareto_front(points) == ("a", "c", "g")
    assert pareto_front([]) == ()


def test_a_model_at_two_efforts_has_a_curve(report: Report) -> None:
    assert [curve.model for curve in report.efforts] == ["gpt-5.4-mini"]
    points = report.efforts[0].points
    assert [p.effort for p in points] == ["none", "low"]  # the catalog's order
    # MINI's q3 timed out before any output: a call that cost nothing, in the per-1k figure
    assert [p.cost_per_1k_usd for p in points] == [Decimal("0.8"), Decimal("0.975")]
    assert points[1].quality is not None
    assert points[1].quality.estimate == pytest.approx(31 / 39)


def test_latencies_sampled_evenly_with_every_percentile_over_all() -> None:
    values = [float(v) for v in range(10_000, 0, -1)]
    spread = latency_spread("c", values)
    assert spread.count == 10_000
    assert len(spread.sample) == SAMPLE_POINTS
    assert spread.sample[0] == 1.0
    assert spread.sample[-1] == 10_000.0
    assert list(spread.sample) == sorted(spread.sample)
    assert spread.percentiles["p50"] == pytest.approx(5_000.5)
    few = latency_spread("d", [3.0, 1.0, 2.0])
    assert few.sample == (1.0, 2.0, 3.0)
    assert latency_spread("e", []).percentiles == {}


def test_the_report_latency_is_over_answered_calls(report: Report) -> None:
    mini = report.latencies[1]
    assert mini.label == MINI.label
    assert mini.count == 39  # q3 timed out
    assert mini.percentiles["min"] == 100.0
    assert mini.percentiles["max"] == 139.0


def test_the_runs_own_cost_prices_and_notes(report: Report) -> None:
    assert (
        report.spend.spent_usd
        == Decimal("0.004") * 40 + Decimal("0.001") * 39 + Decimal("0.0008") * 40
    )
    assert report.spend.unknown_costs == 40
    assert [p.model for p in report.prices] == [BASELINE.model, MINI.model, UNPRICED.model]
    assert all(p.known and p.input is not None and p.input > 0 for p in report.prices)
    assert NO_LEDGER_NOTE in report.notes
    assert any(UNPRICED.label in note and "unknown cost" in note for note in report.notes)
    assert report.experiment_toml is None  # the hand-built run kept none


def test_the_paragraph_says_the_decision_and_its_confidence(report: Report) -> None:
    assert report.paragraph.startswith("Keep this workload on gpt-5.2: ")
    assert "one-sided 95% for the family of 3 candidate(s) together (Holm-adjusted)" in (
        report.paragraph
    )
    assert "margin of 2 points" in report.paragraph


def test_a_directory_that_is_no_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not a run directory"):
        build_report(RunDir(tmp_path))
