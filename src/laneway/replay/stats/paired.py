"""A candidate against the baseline on the same workload lines: per line, the candidate's mean
score minus the baseline's (repeats averaged first, so a line counts once however many repeats
it had), over the lines both have scores for; its mean with bounds at any level.

    tango             both pure pass/fail with one graded row per line: Tango's score bound
                      on the difference of paired shares (it needs only the discordant lines,
                      and stays right when every pair agrees)
    constant-bound    every line's difference alike (all 0: every pair agrees): bounded by the
                      share of lines that could differ, each by at most -1 .. 1
    paired-bootstrap  otherwise: the lines' differences resampled, percentile bounds
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from laneway.replay.stats.bounds import BootstrapBounds, Bounds, ConstantBounds, TangoBounds
from laneway.replay.stats.intervals import RESAMPLES
from laneway.replay.stats.resample import FloatArray, resampled_means
from laneway.replay.stats.results import Method
from laneway.replay.stats.samples import Samples


@dataclass(frozen=True, slots=True)
class Difference:
    estimate: float  # the mean per-line difference, candidate - baseline
    spread: float  # the per-line differences' standard deviation (0 for one line)
    method: Method
    lines: int  # lines both cells have scores for
    rows: int  # graded rows of both cells on those lines
    bounds: Bounds

    def lower(self, alpha: float) -> float:
        """One-sided lower bound at level 1 - alpha."""
        return max(self.bounds.lower(alpha), -1.0)

    def upper(self, alpha: float) -> float:
        return min(self.bounds.upper(alpha), 1.0)


def line_differences(candidate: Samples, baseline: Samples) -> tuple[FloatArray, int]:
    """(per shared line, candidate mean - baseline mean; the rows on those lines)."""
    c_lines, c_means, c_counts = candidate.line_means()
    b_lines, b_means, b_counts = baseline.line_means()
    shared, c_at, b_at = np.intersect1d(c_lines, b_lines, return_indices=True)
    rows = int(c_counts[c_at].sum() + b_counts[b_at].sum())
    return c_means[c_at] - b_means[b_at], rows if shared.size else 0


def paired_difference(
    candidate: Samples,
    baseline: Samples,
    rng: np.random.Generator,
    *,
    resamples: int = RESAMPLES,
) -> Difference | None:
    """The paired difference; None when no line has scores in both cells."""
    diffs, rows = line_differences(candidate, baseline)
    if not diffs.size:
        return None
    estimate = float(diffs.mean())
    spread = float(diffs.std(ddof=1)) if diffs.size > 1 else 0.0
    method, bounds = _bounds(candidate, baseline, diffs, estimate, rng, resamples)
    return Difference(estimate, spread, method, int(diffs.size), rows, bounds)


def _bounds(
    candidate: Samples,
    baseline: Samples,
    diffs: FloatArray,
    estimate: float,
    rng: np.random.Generator,
    resamples: int,
) -> tuple[Method, Bounds]:
    if _pass_fail_once(candidate) and _pass_fail_once(baseline):
        wins = int(np.count_nonzero(diffs > 0))
        losses = int(np.count_nonzero(diffs < 0))
        return "tango", TangoBounds(wins, losses, int(diffs.size))
    if np.all(diffs == diffs[0]):
        return "constant-bound", ConstantBounds(float(diffs[0]), int(diffs.size), -1.0, 1.0)
    replicates = resampled_means(diffs, np.ones_like(diffs), resamples, rng)
    return "paired-bootstrap", BootstrapBounds.of(estimate, replicates)


def _pass_fail_once(samples: Samples) -> bool:
    return samples.pass_fail() and samples.one_per_line()
