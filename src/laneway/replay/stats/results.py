"""The statistics' typed results: every figure a report or a recommendation needs, each with the
method that made it, how much data it rests on and what a reader should know.

Quality and differences are on the score's own 0..1 scale (0.02 is "2 points"). Money is Decimal:
a cost's estimate is the exact mean of the rows' exact costs; its bounds are a bootstrap's
figures, rounded to the nano-dollar.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Method = Literal[
    "cluster-bootstrap",  # lines resampled with their repeats (laneway.replay.stats.resample)
    "jeffreys",  # a pure pass/fail cell with one repeat: beta quantiles
    "constant-bound",  # every line alike: bounded by the share of lines that could differ
    "paired-bootstrap",  # per-line differences resampled
    "tango",  # paired pass/fail with one repeat: Tango's score bound
]
Verdict = Literal["better", "non-inferior", "inconclusive", "worse"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided interval at `confidence`; each bound alone is one-sided at
    (1 + confidence) / 2."""

    estimate: float
    lower: float
    upper: float
    confidence: float
    method: Method
    lines: int  # workload lines it rests on
    rows: int  # calls it rests on (a line's repeats are rows of one line)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CostInterval:
    """Cost per call in USD: the exact mean, and a cluster-bootstrap interval (as `Interval`)."""

    estimate: Decimal
    lower: Decimal
    upper: Decimal
    confidence: float
    method: Method
    lines: int
    rows: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CellStats:
    label: str
    quality: Interval | None  # None: no graded answer
    cost_per_call: CostInterval | None  # None: a call's cost is unknown (the note says so)
    latency_p50_ms: Interval | None  # None: no answered call
    latency_p95_ms: Interval | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MoreLines:
    """How many more workload lines would likely settle an inconclusive verdict."""

    lines: int | None  # None: the observed data cannot say (the note says why)
    toward: Verdict | None  # the verdict they would likely settle it as
    power: float  # the chance they settle it, if the observed difference and spread are true
    note: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """A candidate against the baseline on the lines both answered: the mean per-line
    difference (candidate - baseline) with bounds, each one-sided at `bound_confidence`."""

    label: str
    baseline: str
    estimate: float
    lower: float
    upper: float
    bound_confidence: float  # after Holm: the cell's own level (1 - its adjusted alpha)
    method: Method
    margin: float  # on the 0..1 scale: 0.02 is 2 points
    verdict: Verdict
    p_value: float  # one-sided, of "the candidate is worse by the margin or more"
    lines: int
    rows: int
    more_lines: MoreLines | None  # only when inconclusive
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunStats:
    cells: tuple[CellStats, ...]  # the baseline first
    comparisons: tuple[Comparison, ...]  # one per candidate, in the run's order
    alpha: float  # the family-wise error rate the verdicts keep together (Holm)
    resamples: int
    notes: tuple[str, ...] = ()
