"""The report's figures as people read them, once, for both the Markdown and the HTML report
(so the two show the same strings): money rounded only here (laneway.replay.summary_text.money),
quality on its 0..1 scale with its 95% interval, an unknown figure said as such."""

from __future__ import annotations

from decimal import Decimal
from math import isfinite
from typing import Final

from laneway.replay import summary_text as text
from laneway.replay.report.model import (
    EffortPoint,
    LatencySpread,
    LineSide,
    ModelPrices,
    Report,
    ReportCell,
)
from laneway.replay.stats.results import Interval
from laneway.replay.summary_text import UNKNOWN, money

CELL_HEADERS: Final = (
    "cell",
    "verdict",
    "quality [95%]",
    "passing",
    "cost / 1k requests",
    "cost / passing answer",
    "latency p50 / p95 / p99",
    "TTFT p50 / p95",
    "ceiling",
    "achieved",
    "failures",
    "retries",
)
GRADER_HEADERS: Final = ("cell", "grader", "mean", "graded", "errors")
JUDGE_HEADERS: Final = ("cell", "judge", "pairs asked in both orders", "flipped", "flip rate")
LATENCY_HEADERS: Final = ("cell", "answered", "min", "p5", "p25", "p50", "p75", "p95", "p99", "max")
EFFORT_HEADERS: Final = ("model", "effort", "quality [95%]", "cost / 1k requests")
PRICE_HEADERS: Final = ("model", "input / 1M", "cached input / 1M", "output / 1M")


def cell_row(cell: ReportCell) -> tuple[str, ...]:
    summary, latency = cell.summary, cell.summary.latency
    return (
        summary.label,
        verdict(cell),
        quality(cell.stats.quality, summary.quality.mean),
        text.passing(summary),
        money(summary.cost.per_1k_usd),
        money(summary.cost.per_pass_usd) if summary.quality.passing else "-",
        " / ".join(text.ms(v) for v in (latency.p50_ms, latency.p95_ms, latency.p99_ms)),
        " / ".join(text.ms(v) for v in (latency.ttft_p50_ms, latency.ttft_p95_ms)),
        text.ceiling(summary),
        text.achieved(summary),
        text.failures(summary),
        str(summary.retries),
    )


def verdict(cell: ReportCell) -> str:
    option = cell.option
    if option.verdict is None:
        return "baseline"
    shown: str = option.verdict
    if option.estimate is not None and option.lower is not None and isfinite(option.estimate):
        shown += f" ({option.estimate * 100:+.1f} points, lower {option.lower * 100:+.1f})"
    return shown + (", the pick" if cell.picked else "")


def quality(interval: Interval | None, mean: float | None) -> str:
    if interval is None:
        return "-" if mean is None else f"{mean:.2f}"
    return f"{interval.estimate:.2f} [{interval.lower:.2f}, {interval.upper:.2f}]"


def grader_rows(report: Report) -> list[tuple[str, ...]]:
    return [
        (
            cell.label,
            g.grader,
            "-" if g.mean is None else f"{g.mean:.2f}",
            str(g.graded),
            str(g.errors),
        )
        for cell in report.cells
        for g in cell.summary.quality.graders
    ]


def judge_rows(report: Report) -> list[tuple[str, ...]]:
    return [
        (
            cell.label,
            name,
            str(flips.pairs),
            str(flips.flips),
            "-" if flips.rate is None else f"{flips.rate:.0%}",
        )
        for cell in report.cells
        for name, flips in cell.summary.judge_flips.items()
    ]


def latency_row(spread: LatencySpread) -> tuple[str, ...]:
    names = LATENCY_HEADERS[2:]
    return (
        spread.label,
        str(spread.count),
        *(text.ms(spread.percentiles.get(name)) for name in names),
    )


def effort_row(model: str, point: EffortPoint) -> tuple[str, ...]:
    return (model, point.effort, quality(point.quality, None), money(point.cost_per_1k_usd))


def price_row(prices: ModelPrices) -> tuple[str, ...]:
    if not prices.known:
        return (prices.model, UNKNOWN, UNKNOWN, UNKNOWN)
    return (prices.model, *(_price(p) for p in (prices.input, prices.cached_input, prices.output)))


def spend_rows(report: Report) -> list[tuple[str, str]]:
    spend = report.spend
    spent = money(spend.spent_usd)
    if spend.unknown_costs:
        spent += f" (and {spend.unknown_costs} call(s) of unknown cost)"
    rows = [
        ("calls made", f"{report.run.completed - spend.reused:,} of {report.run.planned:,}"),
        ("spent on the calls", spent),
        ("spent on judging", money(spend.judge_usd)),
    ]
    if spend.reused:
        rows.append(
            (
                "served from the call cache",
                f"{spend.reused:,} row(s), {money(spend.reused_usd)} when first made, nothing now",
            )
        )
    return rows


def side(line: LineSide) -> str:
    """One cell's answer to a regressed line: the answer (or the failure), cut when long."""
    if line.answer is None:
        return f"failed ({line.failure or 'no answer'})"
    return line.answer + more(line.answer_more)


def side_score(line: LineSide) -> str:
    return f"score {line.score:.2f} over {line.counted} repeat(s)"


def more(characters: int) -> str:
    return f"\u2026 ({characters:,} more characters)" if characters else ""


def regressions_heading(label: str, found: int, compared: int, shown: int) -> str:
    return f"{label}: {found:,} of {compared:,} line(s) scored below the baseline" + (
        f"; the worst {shown}" if shown else ""
    )


def run_line(report: Report) -> str:
    run = report.run
    return (
        f"{run.completed:,} of {run.planned:,} calls ({run.lines:,} lines x "
        f"{len(report.cells)} cells x {run.repeats} repeat(s)) against {run.upstream}, "
        f"tier {run.tier or 'unknown'}; quality is "
        + (
            "agreement with the baseline, not correctness"
            if run.quality_kind == "agreement"
            else "graded by the workload's expectations"
        )
    )


def _price(value: Decimal | None) -> str:
    return UNKNOWN if value is None else f"${value}"
