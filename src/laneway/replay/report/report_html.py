"""report.html: the report as one self-contained page. Its charts are SVG written by laneway
(laneway.replay.report.charts), its text escaped by the templates (jinja2, autoescape on), its
Content-Security-Policy forbids every script and every request, so it opens offline and runs
nothing, whatever the workload's prompts and answers hold."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.replay.report import charts, display, effort_charts
from laneway.replay.report.model import CellRegressions, Report


@cache
def environment() -> Environment:
    """The templates (package data), escaping every value they show."""
    return Environment(
        loader=PackageLoader("laneway.replay.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
    )


def report_html(report: Report) -> str:
    return environment().get_template("report.html.j2").render(**_context(report))


def _context(report: Report) -> dict[str, Any]:
    efforts = _efforts(report)
    return {
        "report": report,
        "run_line": display.run_line(report),
        "charts": {
            "cost_quality": charts.cost_quality(report.cells, report.front),
            "latency": charts.latency_curves(report.latencies),
            "effort_quality": effort_charts.effort_quality(report.efforts, efforts),
            "effort_cost": effort_charts.effort_cost(report.efforts, efforts),
        },
        "off_chart": _off_chart(report),
        "cell_headers": display.CELL_HEADERS,
        "cell_rows": [display.cell_row(cell) for cell in report.cells],
        "latency_headers": display.LATENCY_HEADERS,
        "latency_rows": [display.latency_row(spread) for spread in report.latencies],
        "grader_headers": display.GRADER_HEADERS,
        "grader_rows": display.grader_rows(report),
        "judge_headers": display.JUDGE_HEADERS,
        "judge_rows": display.judge_rows(report),
        "regressions": [_regressions(found) for found in report.regressions],
        "efforts": report.efforts,
        "effort_headers": display.EFFORT_HEADERS,
        "effort_rows": [display.effort_row(c.model, p) for c in report.efforts for p in c.points],
        "spend_rows": display.spend_rows(report),
        "price_headers": display.PRICE_HEADERS,
        "price_rows": [display.price_row(prices) for prices in report.prices],
    }


def _efforts(report: Report) -> list[str]:
    """The efforts the curves measured, in the catalog's order (others after)."""
    measured = {point.effort for curve in report.efforts for point in curve.points}
    known = [effort for effort in REASONING_EFFORTS if effort in measured]
    return known + sorted(measured - set(known))


def _off_chart(report: Report) -> list[str]:
    off = []
    for cell in report.cells:
        summary = cell.summary
        if not summary.calls:
            off.append(f"{summary.label} (no calls made yet)")
        elif summary.cost.per_1k_usd is None:
            off.append(f"{summary.label} (cost unknown)")
        elif summary.quality.mean is None:
            off.append(f"{summary.label} (nothing graded)")
    return off


def _regressions(found: CellRegressions) -> dict[str, Any]:
    heading = display.regressions_heading(
        found.label, found.found, found.compared, len(found.shown)
    )
    items = [
        {
            "custom_id": item.custom_id,
            "drop": f"{item.drop * 100:.0f} points below the baseline",
            "input": item.input_text + display.more(item.input_more),
            "expected": item.expected,
            "baseline": display.side(item.baseline),
            "baseline_score": display.side_score(item.baseline),
            "candidate": display.side(item.candidate),
            "candidate_score": display.side_score(item.candidate),
        }
        for item in found.shown
    ]
    return {"label": found.label, "heading": heading, "lines": items}
