"""What `laneway tune-effort` reports: per effort its measured quality, cost and tokens per call
(from the rows of every run it was measured in), the climb's pick with its savings against the
best effort and against the lowest one (`none`), and the climb's own record.

Money is exact Decimal; a cost per call is None when any of the effort's calls has an unknown
cost (a figure with a hole in it is not a figure), and so is any saving built on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from laneway.replay.costs import cost_unknown
from laneway.replay.row_quality import judge
from laneway.replay.rows import ResultRow

_TOKENS = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class EffortFigures:
    effort: str
    calls: int  # rows over every run of this effort
    lines: int  # workload lines with a graded answer
    quality: float | None  # mean per-line score over those lines; None: none graded
    cost_usd: Decimal  # exact, over calls of known cost
    cost_per_call_usd: Decimal | None  # None: a call's cost is unknown, or no call
    tokens_per_call: Decimal | None  # input + output (reasoning included), per answered call
    reasoning_per_call: Decimal | None
    # "pick"; "best" (the highest quality, when not the pick); "contender" (not worse than
    # the best on the first slice); "measured"; "refused"; "not measured"
    status: str


@dataclass(frozen=True, slots=True)
class Saving:
    """The pick against another effort: per call, what the other costs more (negative: less)."""

    against: str
    cost_per_call_usd: Decimal | None
    cost_share: Decimal | None  # of the other's cost per call
    tokens_per_call: Decimal | None


@dataclass(frozen=True, slots=True)
class TuneReport:
    model: str
    tune_dir: Path
    efforts: tuple[EffortFigures, ...]  # cheapest first
    pick: str | None  # None: nothing to pick (every effort refused)
    best: str | None
    margin: float
    alpha: float
    calls: int  # calls the climb made
    sweep_calls: int  # calls a full sweep of the same efforts would make
    savings: tuple[Saving, ...]  # against the best, the highest measured, the lowest
    steps: tuple[str, ...]
    notes: tuple[str, ...]


def effort_figures(effort: str, rows: Iterable[ResultRow], status: str) -> EffortFigures:
    """One effort's figures from its rows, scored as the summary scores a graded run (the
    workload's expectations); a line's repeats are averaged before the mean."""
    calls, unknown, answered = 0, 0, 0
    total, tokens, reasoning = Decimal(0), 0, 0
    per_line: dict[str, list[float]] = {}
    for row in rows:
        calls += 1
        if cost_unknown(row):
            unknown += 1
        else:
            total += row.cost_usd or Decimal(0)
        if row.usage is not None:
            answered += 1
            tokens += row.usage.input_tokens + row.usage.output_tokens
            reasoning += row.usage.reasoning_tokens
        score = judge(row, "expectations", {}).score
        if score is not None:
            per_line.setdefault(row.custom_id, []).append(score)
    means = [sum(v) / len(v) for v in per_line.values()]
    return EffortFigures(
        effort,
        calls,
        len(means),
        sum(means) / len(means) if means else None,
        total,
        total / calls if calls and not unknown else None,
        _per(tokens, answered),
        _per(reasoning, answered),
        status,
    )


def saving(pick: EffortFigures, other: EffortFigures) -> Saving:
    cost = share = None
    if pick.cost_per_call_usd is not None and other.cost_per_call_usd is not None:
        cost = other.cost_per_call_usd - pick.cost_per_call_usd
        share = cost / other.cost_per_call_usd if other.cost_per_call_usd else None
    tokens = None
    if pick.tokens_per_call is not None and other.tokens_per_call is not None:
        tokens = other.tokens_per_call - pick.tokens_per_call
    return Saving(other.effort, cost, share, tokens)


def _per(total: int, count: int) -> Decimal | None:
    return (Decimal(total) / count).quantize(_TOKENS) if count else None
