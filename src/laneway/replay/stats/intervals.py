"""A cell's own figures with intervals: quality, cost per call, latency median and p95.

Quality's estimate is the summary's: the mean of graded rows' scores. Its interval is

    jeffreys           scores all 0 or 1 and one graded row per line (pure pass/fail, one
                       repeat): exact beta quantiles, right at 0% and 100% too
    constant-bound     every line's mean alike (a 100% cell with repeats, say): a bootstrap
                       would say [v, v]; the bound instead allows a share of unseen lines
                       (at most 1 - alpha^(1/n)) anywhere in 0..1
    cluster-bootstrap  otherwise: lines resampled with their repeats, percentile interval

Cost per call (every call, failures included, as the summary counts) and latency (answered
calls) are cluster-bootstrap intervals; a latency percentile's estimate is the summary's
(laneway.replay.percentiles), its bounds the resampled inverted-CDF quantiles.

One draw of resamples serves all of a cell's figures: the lines resampled are those the cell
has any row for, and a figure's rows come along with their lines (a line with no graded row adds
nothing to quality's sums, so the count of graded rows varies between resamples, as it would
between runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import numpy as np

from laneway.replay.percentiles import percentiles
from laneway.replay.stats.bounds import BootstrapBounds, Bounds, ConstantBounds, JeffreysBounds
from laneway.replay.stats.resample import (
    FloatArray,
    IntArray,
    Statistic,
    quantiles,
    ratio,
    replicate,
)
from laneway.replay.stats.results import CellStats, CostInterval, Interval, Method
from laneway.replay.stats.samples import CellSamples, Samples

RESAMPLES: Final = 2_000
CONFIDENCE: Final = 0.95
_NANO = Decimal("0.000000001")
CONSTANT_NOTE: Final = "every line scored alike: bounded by the share of lines that could differ"
_LATENCY_POINTS: Final = (0.5, 0.95)


def cell_stats(
    cell: CellSamples,
    rng: np.random.Generator,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> CellStats:
    """All of a cell's own figures, from one draw of `rng` (reproducible)."""
    lines = np.unique(
        np.concatenate(
            [
                cell.scores.line,
                cell.latencies_ms.line,
                *(() if cell.costs_usd is None else (cell.costs_usd.line,)),
            ]
        )
    )
    quality = _QualityPlan.of(cell.scores)
    wanted: dict[str, Statistic] = {}
    if quality is not None and quality.bounds is None:
        wanted["quality"] = _ratio_at(cell.scores, lines)
    if cell.costs_usd is not None and cell.calls:
        wanted["cost"] = _ratio_at(cell.costs_usd, lines)
    if cell.latencies_ms.rows:
        position = np.searchsorted(lines, cell.latencies_ms.line)
        wanted["latency"] = quantiles(cell.latencies_ms.value, position, _LATENCY_POINTS)
    drawn = dict(
        zip(wanted, replicate(len(lines), resamples, rng, list(wanted.values())), strict=True)
    )
    notes: list[str] = []
    if cell.costs_usd is None and cell.unknown_costs:
        notes.append(f"{cell.unknown_costs} call(s) of unknown cost: cost per call unknown")
    p50, p95 = _latency(cell.latencies_ms, drawn.get("latency"), confidence)
    return CellStats(
        cell.label,
        None if quality is None else quality.interval(drawn.get("quality"), confidence),
        None if "cost" not in drawn else _cost(cell, drawn["cost"], confidence),
        p50,
        p95,
        tuple(notes),
    )


def quality_interval(
    scores: Samples,
    rng: np.random.Generator,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Interval | None:
    """The cell's mean score with its interval; None when nothing was graded."""
    plan = _QualityPlan.of(scores)
    if plan is None:
        return None
    replicates = None
    if plan.bounds is None:
        lines = np.unique(scores.line)
        replicates = replicate(len(lines), resamples, rng, [_ratio_at(scores, lines)])[0]
    return plan.interval(replicates, confidence)


@dataclass(frozen=True, slots=True)
class _QualityPlan:
    scores: Samples
    method: Method
    bounds: Bounds | None  # None: a bootstrap's, once its replicates are drawn
    lines: int

    @classmethod
    def of(cls, scores: Samples) -> _QualityPlan | None:
        if not scores.rows:
            return None
        _, means, _ = scores.line_means()
        if scores.pass_fail() and scores.one_per_line():
            passed = int(scores.value.sum())
            return cls(scores, "jeffreys", JeffreysBounds(passed, scores.rows), means.size)
        if np.all(means == means[0]):
            bounds = ConstantBounds(float(means[0]), means.size, 0.0, 1.0)
            return cls(scores, "constant-bound", bounds, means.size)
        return cls(scores, "cluster-bootstrap", None, means.size)

    def interval(self, replicates: FloatArray | None, confidence: float) -> Interval:
        estimate = float(self.scores.value.mean())
        bounds = self.bounds
        if bounds is None:
            assert replicates is not None  # noqa: S101 - drawn for every bootstrap plan
            bounds = BootstrapBounds.of(estimate, replicates)
        alpha = (1 - confidence) / 2
        notes = (CONSTANT_NOTE,) if self.method == "constant-bound" else ()
        return Interval(
            estimate,
            bounds.lower(alpha),
            bounds.upper(alpha),
            confidence,
            self.method,
            self.lines,
            self.scores.rows,
            notes,
        )


def _ratio_at(samples: Samples, lines: IntArray) -> Statistic:
    """The ratio statistic of `samples` over the resampled `lines` (sorted line indices)."""
    position = np.searchsorted(lines, samples.line)
    sums = np.bincount(position, weights=samples.value, minlength=len(lines)).astype(np.float64)
    counts = np.bincount(position, minlength=len(lines)).astype(np.float64)
    return ratio(sums, counts)


def _cost(cell: CellSamples, replicates: FloatArray, confidence: float) -> CostInterval:
    costs = cell.costs_usd
    assert costs is not None  # noqa: S101 - drawn only when known
    estimate = cell.cost_total_usd / cell.calls
    bounds = BootstrapBounds.of(float(estimate), replicates)
    alpha = (1 - confidence) / 2
    low, high = bounds.lower(alpha), bounds.upper(alpha)
    return CostInterval(
        estimate,
        _usd(min(low, float(estimate))),
        _usd(max(high, float(estimate))),
        confidence,
        "cluster-bootstrap",
        int(np.unique(costs.line).size),
        costs.rows,
    )


def _usd(value: float) -> Decimal:
    return Decimal(repr(max(value, 0.0))).quantize(_NANO)


def _latency(
    latencies: Samples, replicates: FloatArray | None, confidence: float
) -> tuple[Interval | None, Interval | None]:
    """(median, p95) in ms; (None, None) with no answered call."""
    if replicates is None:
        return None, None
    estimates = percentiles(latencies.value.tolist(), (50, 95))
    alpha = (1 - confidence) / 2
    lines = int(np.unique(latencies.line).size)
    found: list[Interval | None] = [None, None]
    for at, estimate in enumerate(estimates):
        if estimate is None:
            continue
        bounds = BootstrapBounds.of(estimate, replicates[:, at])
        found[at] = Interval(
            estimate,
            min(bounds.lower(alpha), estimate),
            max(bounds.upper(alpha), estimate),
            confidence,
            "cluster-bootstrap",
            lines,
            latencies.rows,
        )
    return found[0], found[1]
