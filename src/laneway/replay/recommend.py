"""Per-lane recommendations from a run: the cheapest cell that is no worse than the baseline by
more than the margin (its verdict non-inferior or better, Holm-adjusted: laneway.replay.stats),
with what moving to it saves at the lane's live traffic, its throughput ceiling beside the
baseline's and its failure and recovery record.

    stats = analyse(run_samples(run), rng, margin=0.02)
    found = recommend(stats, summarise(run), run_lane(run, manifest), traffic)
    found.pick          # None: nothing qualifies (found.reason says why)

A cell qualifies only when its cost per request is known and below the baseline's: a cell of
unknown cost is shown but never picked, and a dearer cell, however good, is no saving (the
baseline then keeps its place). When nothing qualifies, the inconclusive candidate that would be
picked if it settled well says how many more lines would likely settle it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import numpy as np

from laneway.replay.cell_summary import CellSummary
from laneway.replay.experiment import AS_WRITTEN
from laneway.replay.lane_traffic import LaneTraffic
from laneway.replay.run_dir import RunDir
from laneway.replay.run_lane import RunLane, run_lane
from laneway.replay.stats.analysis import analyse
from laneway.replay.stats.results import Comparison, MoreLines, RunStats, Verdict
from laneway.replay.stats.run_samples import run_samples
from laneway.replay.stats.verdicts import MARGIN
from laneway.replay.summary import RunSummary, summarise

QUALIFYING: Final[frozenset[Verdict]] = frozenset({"better", "non-inferior"})
_HOPEFUL: Final[frozenset[Verdict | None]] = frozenset({"better", "non-inferior"})


@dataclass(frozen=True, slots=True)
class CellOption:
    """One cell as a choice for the lane, beside the baseline."""

    label: str
    model: str
    effort: str | None
    verdict: Verdict | None  # None: the baseline
    estimate: float | None  # mean per-line difference from the baseline (0..1 scale)
    lower: float | None  # its Holm-adjusted one-sided lower bound
    cost_per_request_usd: Decimal | None  # exact; None: a call's cost is unknown
    saving_per_request_usd: Decimal | None  # the baseline's cost per request minus this one's
    saving_share: Decimal | None  # of the baseline's cost per request (0.64: 64% cheaper)
    saving_per_day_usd: Decimal | None  # at the lane's live traffic; None: unknown
    ceiling_rpm: Decimal | None  # None: the tier's limits are unknown
    calls: int
    failures: dict[str, int]  # by kind
    recovered: int  # answered after a retry
    more_lines: MoreLines | None  # only when inconclusive


@dataclass(frozen=True, slots=True)
class Recommendation:
    run_id: str
    lane: RunLane
    baseline: CellOption
    options: tuple[CellOption, ...]  # the candidates, in the run's order
    pick: CellOption | None
    reason: str  # why the pick, or why nothing qualifies
    settle: CellOption | None  # an inconclusive cell more lines could make the pick
    traffic: LaneTraffic | None  # None: the lane or its ledger is unknown
    margin: float  # 0..1 scale
    confidence: float  # family-wise, one-sided (1 - alpha), Holm across candidates
    plan: str | None  # where the seeds' order applies
    notes: tuple[str, ...]

    @property
    def from_model(self) -> str:
        """The baseline's model, as the lane's traffic names it."""
        return _from_model(self.baseline.model, self.lane)


def recommend_run(
    run: RunDir,
    rng: np.random.Generator,
    *,
    margin: float = MARGIN,
    traffic: Callable[[str], LaneTraffic | None] = lambda lane: None,
) -> Recommendation:
    """A run directory's recommendation; `traffic` gives a lane's live traffic (None:
    unknown). RunDirError for a directory that is not a readable run."""
    lane = run_lane(run, run.manifest())
    stats = analyse(run_samples(run), rng, margin=margin)
    found = None if lane.lane is None else traffic(lane.lane)
    return recommend(stats, summarise(run), lane, found)


def recommend(
    stats: RunStats, summary: RunSummary, lane: RunLane, traffic: LaneTraffic | None
) -> Recommendation:
    """The run's recommendation; `traffic` the lane's (None: unknown, no saving per day)."""
    notes = list(summary.notes)
    idle = traffic is not None and traffic.requests == 0
    if traffic is not None and idle:  # nothing to scale a saving by
        notes.append(f"no ledger traffic for lane {traffic.lane} in the last {traffic.days} "
                     "days: the saving per day is unknown")  # fmt: skip
        traffic = None
    base = summary.baseline
    comparisons = {comparison.label: comparison for comparison in stats.comparisons}
    baseline = _option(base, None, None, traffic)
    options = tuple(
        _option(cell, comparisons.get(cell.label), base.cost.per_request_usd, traffic)
        for cell in summary.cells[1:]
    )
    pick, reason = _pick(baseline, options)
    margin = stats.comparisons[0].margin if stats.comparisons else 0.0
    if lane.note is not None:
        notes.append(lane.note)
    if traffic is None and lane.lane is not None and not idle:
        notes.append(f"no ledger traffic for lane {lane.lane}: the saving per day is unknown")
    return Recommendation(
        run_id=summary.run_id,
        lane=lane,
        baseline=baseline,
        options=options,
        pick=pick,
        reason=reason,
        settle=_settle(baseline, options, pick),
        traffic=traffic,
        margin=margin,
        confidence=1 - stats.alpha,
        plan=_plan(_from_model(baseline.model, lane), pick),
        notes=tuple(dict.fromkeys(notes)),
    )


def _option(
    cell: CellSummary,
    comparison: Comparison | None,
    baseline_cost: Decimal | None,
    traffic: LaneTraffic | None,
) -> CellOption:
    cost = cell.cost.per_request_usd
    saving = share = per_day = None
    if cost is not None and baseline_cost is not None and comparison is not None:
        saving = baseline_cost - cost
        share = saving / baseline_cost if baseline_cost else None
        if traffic is not None:
            per_day = traffic.per_day * saving
    return CellOption(
        label=cell.label,
        model=cell.model,
        effort=cell.effort,
        verdict=None if comparison is None else comparison.verdict,
        estimate=None if comparison is None else comparison.estimate,
        lower=None if comparison is None else comparison.lower,
        cost_per_request_usd=cost,
        saving_per_request_usd=saving,
        saving_share=share,
        saving_per_day_usd=per_day,
        ceiling_rpm=cell.throughput.ceiling_rpm,
        calls=cell.calls,
        failures=dict(cell.failures),
        recovered=cell.recovered,
        more_lines=None if comparison is None else comparison.more_lines,
    )


def _pick(baseline: CellOption, options: tuple[CellOption, ...]) -> tuple[CellOption | None, str]:
    if baseline.cost_per_request_usd is None:
        return None, "the baseline's cost per request is unknown: no saving can be shown"
    qualifying = [o for o in options if o.verdict in QUALIFYING]
    if not qualifying:
        verdicts = "; ".join(f"{o.label} {o.verdict}" for o in options) or "no candidates"
        return None, f"no candidate is non-inferior or better ({verdicts})"
    cheaper = [o for o in qualifying if (o.saving_per_request_usd or 0) > 0]
    if not cheaper:
        unknown = [o.label for o in qualifying if o.cost_per_request_usd is None]
        why = f" ({', '.join(unknown)}: cost unknown, never picked)" if unknown else ""
        return None, f"no candidate that qualifies is cheaper than the baseline{why}"
    pick = min(cheaper, key=lambda o: o.cost_per_request_usd or Decimal(0))
    return pick, f"the cheapest of {len(cheaper)} cell(s) no worse than the baseline"


def _settle(
    baseline: CellOption, options: tuple[CellOption, ...], pick: CellOption | None
) -> CellOption | None:
    """The cheapest inconclusive cell, cheaper than the pick (or the baseline), that more lines
    would likely settle as non-inferior or better."""
    bar = (pick or baseline).cost_per_request_usd
    if bar is None:
        return None
    open_ = [
        o
        for o in options
        if o.verdict == "inconclusive"
        and o.more_lines is not None
        and o.more_lines.lines is not None
        and o.more_lines.toward in _HOPEFUL
        and o.cost_per_request_usd is not None
        and o.cost_per_request_usd < bar
    ]
    return min(open_, key=lambda o: o.cost_per_request_usd or Decimal(0), default=None)


def _from_model(model: str, lane: RunLane) -> str:
    """The baseline's model; for an as-written baseline, the one model its lines name."""
    if model != AS_WRITTEN:
        return model
    return lane.line_model or "the baseline (as written)"


def _plan(baseline_model: str, pick: CellOption | None) -> str | None:
    """The seeds' order, where it applies: the high-volume lane to gpt-5.4-mini first, the
    frontier lane to gpt-5.4 separately, gpt-5.2 kept only while it earns its keep."""
    if baseline_model != "gpt-5.2":
        return None
    if pick is None:
        return (
            "gpt-5.2 earns its keep on this lane for now (the default plan keeps it only "
            "while it does)"
        )
    if pick.model == "gpt-5.4-mini":
        return (
            "the default plan's first step: the high-volume lane to gpt-5.4-mini; the frontier "
            "lane moves to gpt-5.4 separately"
        )
    return "the default plan: high-volume lanes to gpt-5.4-mini, the frontier lane to gpt-5.4"
