"""report.md: the report for a pull request, the same figures as the HTML page in the same
order (laneway.replay.report.display formats both), without the charts. Everything a user wrote
(prompts, answers, ids, the experiment) is escaped or fenced so it shows as written."""

from __future__ import annotations

import re
from collections.abc import Sequence

from laneway.replay.diff_text import escape_markdown
from laneway.replay.report import display
from laneway.replay.report.model import Regression, Report


def report_markdown(report: Report) -> str:
    run = report.run
    lines = [f"# Replay report {escape_markdown(run.run_id)}", ""]
    if run.emulated:
        lines += ["**Emulated skills, not real models' quality**: laneway's emulator answered.", ""]
    lines += [escape_markdown(display.run_line(report)), "", "## Recommendation", ""]
    lines += [escape_markdown(report.paragraph), "", "## Cells", ""]
    lines += _table(display.CELL_HEADERS, [display.cell_row(cell) for cell in report.cells])
    lines += [
        "",
        "Pareto front (cost against quality), cheapest first: "
        + escape_markdown(", ".join(report.front) or "none"),
        "",
    ]
    lines += ["## Latency", ""]
    lines += _table(display.LATENCY_HEADERS, [display.latency_row(s) for s in report.latencies])
    lines += ["", "## Graders", ""]
    lines += _table(display.GRADER_HEADERS, display.grader_rows(report))
    judges = display.judge_rows(report)
    if judges:
        lines += ["", "Judge bias (a verdict that flips with the order shown counts as a tie):", ""]
        lines += _table(display.JUDGE_HEADERS, judges)
    lines += ["", "## Worst regressions against the baseline", ""]
    for found in report.regressions:
        heading = display.regressions_heading(
            found.label, found.found, found.compared, len(found.shown)
        )
        lines += [f"### {escape_markdown(heading)}", ""]
        for regression in found.shown:
            lines += _regression(found.label, regression)
    lines += _efforts(report)
    lines += ["## The run's own cost", ""]
    lines += _table(("", ""), display.spend_rows(report))
    lines += ["", "## Prices used (the run's catalog)", ""]
    lines += _table(display.PRICE_HEADERS, [display.price_row(p) for p in report.prices])
    lines += ["", "## Experiment", "", *_fenced(report.experiment_toml or "(none kept)", "toml")]
    lines += ["", "## Notes", "", *(f"- {escape_markdown(note)}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def _regression(label: str, found: Regression) -> list[str]:
    lines = [
        f"**{escape_markdown(found.custom_id)}**: {found.drop * 100:.0f} points below the baseline",
        "",
        "Input:",
        "",
    ]
    lines += _fenced(found.input_text + display.more(found.input_more))
    if found.expected is not None:
        lines += ["", "Expected:", "", *_fenced(found.expected, "json")]
    for name, side in (("baseline", found.baseline), (label, found.candidate)):
        lines += ["", f"{escape_markdown(name)} ({display.side_score(side)}):", ""]
        lines += _fenced(display.side(side))
    return [*lines, ""]


def _efforts(report: Report) -> list[str]:
    if not report.efforts:
        return []
    rows = [display.effort_row(c.model, p) for c in report.efforts for p in c.points]
    return ["## Reasoning effort", "", *_table(display.EFFORT_HEADERS, rows), ""]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return ["(none)"]
    lines = [
        "| " + " | ".join(escape_markdown(h) for h in headers) + " |",
        "|" + "---|" * len(headers),
    ]
    lines += ["| " + " | ".join(escape_markdown(v) for v in row) + " |" for row in rows]
    return lines


def _fenced(text: str, language: str = "text") -> list[str]:
    """`text` in a code fence longer than any run of backticks in it: shown as written."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text, fence]
