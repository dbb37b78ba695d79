"""A summary's figures as people read them, shared by summary.md and the terminal's table:
money rounded only here (a dollar or more to the cent, less to four significant figures, so
$0.2008 and $0.0001330 read alike), and an unknown figure said as such."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from laneway.pricing.money import usd_display
from laneway.replay.cell_summary import CellSummary

_SIGNIFICANT = 4
_CENT = Decimal("0.01")
UNKNOWN = "unknown"


def money(amount: Decimal | None) -> str:
    if amount is None:
        return UNKNOWN
    if not amount or abs(amount) >= 1:
        step = _CENT
    else:  # small sums: the digits that tell cells apart, not a fixed number of places
        step = Decimal(1).scaleb(amount.adjusted() - _SIGNIFICANT + 1)
    return usd_display(amount.quantize(step, rounding=ROUND_HALF_EVEN))


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def quality(cell: CellSummary, names_up_to: int = 99) -> str:
    """'0.83 (exact, regex)', '0.83 (5 graders)' past `names_up_to`, 'agreement 0.91', or '-'
    with nothing graded."""
    figures = cell.quality
    if figures.mean is None:
        return "-"
    if figures.kind == "agreement":
        return f"agreement {figures.mean:.2f}"
    graders = figures.graders
    named = figures.grader_names if len(graders) <= names_up_to else f"{len(graders)} graders"
    return f"{figures.mean:.2f} ({named})"


def passing(cell: CellSummary) -> str:
    figures = cell.quality
    graded = figures.graded + figures.grader_errors
    text = f"{figures.passing}/{graded}" if graded else "-"
    if figures.grader_errors:
        text += f" ({figures.grader_errors} grader error{'s' if figures.grader_errors > 1 else ''})"
    return text


def failures(cell: CellSummary) -> str:
    """'2 (rate_limit 1, timeout 1); 3 recovered' or 'none'."""
    failed = sum(cell.failures.values())
    kinds = ", ".join(f"{kind} {count}" for kind, count in cell.failures.items())
    text = f"{failed} ({kinds})" if failed else "none"
    if cell.recovered:
        text += f"; {cell.recovered} recovered"
    return text


def ceiling(cell: CellSummary) -> str:
    figures = cell.throughput
    if figures.ceiling_rpm is None:
        return UNKNOWN
    return f"{figures.ceiling_rpm:,} rpm ({figures.bound_by})"


def achieved(cell: CellSummary) -> str:
    rpm = cell.throughput.achieved_rpm
    return "-" if rpm is None else f"{rpm:,.1f} rpm"
