"""A run judged pairwise: the report's graders table and judge bias (each judge's flip rate, from
the grades on disk) and judging's cost kept apart from the calls'."""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path

from laneway.replay.graders import Grade
from laneway.replay.report import display
from laneway.replay.report.build import build_report
from laneway.replay.report.report_html import report_html
from laneway.replay.report.report_markdown import report_markdown
from tests.replay.built_runs import BASELINE, CANDIDATE, build_run, row
from tests.replay.built_runs import line as workload_line

JUDGE = "pairwise:gpt-5.4@low"


def _judged(n: int) -> Grade:
    # 10 candidate answers judged in both orders; 3 verdicts followed the order (ties at 0.5)
    flipped = n < 3
    return Grade(JUDGE, 0.5 if flipped else 1.0, "", "preferred", flipped=flipped)


def test_judge_bias_and_judging_cost_are_shown(tmp_path: Path) -> None:
    lines = [workload_line(f"q{n}", {"exact": "4"}) for n in range(10)]
    exact = Grade("exact", 1.0, "4", "exactly '4'?")
    rows = [row(BASELINE, f"q{n}", text="4", grades=[exact], cost="0.004") for n in range(10)]
    rows += [
        row(
            CANDIDATE,
            f"q{n}",
            text="4",
            grades=[exact, _judged(n)],
            cost="0.001",
            judge_cost_usd=Decimal("0.0002"),
            judge_records=("rec",),
        )
        for n in range(10)
    ]
    report = build_report(build_run(tmp_path / "run", lines, rows, graders=()))
    assert display.judge_rows(report) == [(CANDIDATE.label, JUDGE, "10", "3", "30%")]
    graders = display.grader_rows(report)
    assert (CANDIDATE.label, JUDGE, "0.85", "10", "0") in graders
    assert (CANDIDATE.label, "exact", "1.00", "10", "0") in graders
    assert display.spend_rows(report)[2] == ("spent on judging", "$0.002")
    page = html.unescape(report_html(report))
    assert "Judge bias" in page
    assert JUDGE in page
    assert "| pairwise:gpt-5.4@low | 10 | 3 | 30% |" in report_markdown(report)
