"""One-sided bounds at any level, whatever method made them: the verdicts, Holm's step-down and
sequential looks each ask an estimate for its bound at their own alpha, so an estimate keeps the
means to draw one (its replicates, its counts) rather than one fixed interval.

    BootstrapBounds  the replicates' alpha-quantile; below MIN_TAIL replicates in a tail (Holm
                     and early sequential looks ask for alphas of 1e-4 and less) the normal
                     bound estimate -/+ z * (the replicates' standard deviation), since the
                     extreme of 2,000 replicates is not their 0.01% quantile
    JeffreysBounds   a pass/fail share (laneway.replay.stats.binomial)
    TangoBounds      a paired difference of pass/fail shares
    ConstantBounds   every line showed `value`: the mean is bounded by the share of lines that
                     could differ (at most unseen_share) times how far they could differ
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import special

from laneway.replay.stats import binomial
from laneway.replay.stats.resample import FloatArray

MIN_TAIL = 10  # replicates beyond a percentile bound, at the least, for it to be read off them


class Bounds(Protocol):
    def lower(self, alpha: float) -> float: ...
    def upper(self, alpha: float) -> float: ...


@dataclass(frozen=True, slots=True)
class BootstrapBounds:
    estimate: float
    replicates: FloatArray  # sorted, no NaN

    @classmethod
    def of(cls, estimate: float, replicates: FloatArray) -> BootstrapBounds:
        kept = np.sort(replicates[~np.isnan(replicates)])
        return cls(estimate, kept)

    def lower(self, alpha: float) -> float:
        if alpha * len(self.replicates) < MIN_TAIL:
            return self.estimate - _z(alpha) * self._spread()
        return float(np.quantile(self.replicates, alpha))

    def upper(self, alpha: float) -> float:
        if alpha * len(self.replicates) < MIN_TAIL:
            return self.estimate + _z(alpha) * self._spread()
        return float(np.quantile(self.replicates, 1 - alpha))

    def _spread(self) -> float:
        return float(np.std(self.replicates, ddof=1))


@dataclass(frozen=True, slots=True)
class JeffreysBounds:
    passed: int
    trials: int

    def lower(self, alpha: float) -> float:
        return binomial.jeffreys_lower(self.passed, self.trials, alpha)

    def upper(self, alpha: float) -> float:
        return binomial.jeffreys_upper(self.passed, self.trials, alpha)


@dataclass(frozen=True, slots=True)
class TangoBounds:
    wins: int  # lines the candidate passed and the baseline failed
    losses: int  # the reverse
    lines: int

    def lower(self, alpha: float) -> float:
        return binomial.tango_lower(self.wins, self.losses, self.lines, alpha)

    def upper(self, alpha: float) -> float:
        return binomial.tango_upper(self.wins, self.losses, self.lines, alpha)


@dataclass(frozen=True, slots=True)
class ConstantBounds:
    value: float  # what every line showed
    lines: int
    floor: float  # the least a line could show (0 for a score, -1 for a difference of scores)
    ceiling: float

    def lower(self, alpha: float) -> float:
        return self.value - binomial.unseen_share(self.lines, alpha) * (self.value - self.floor)

    def upper(self, alpha: float) -> float:
        return self.value + binomial.unseen_share(self.lines, alpha) * (self.ceiling - self.value)


def _z(alpha: float) -> float:
    return float(special.ndtri(1 - alpha))


def p_value(bounds: Bounds, threshold: float) -> float:
    """The least alpha at which the lower bound clears `threshold` (one-sided p-value of
    "the truth is at or below threshold"), by bisection: a bound falls as alpha falls."""
    low, high = 1e-12, 1 - 1e-9
    if bounds.lower(low) > threshold:
        return low
    if bounds.lower(high) <= threshold:
        return 1.0
    for _ in range(60):
        middle = math.sqrt(low * high)  # alphas span decades: bisect their logarithm
        if bounds.lower(middle) > threshold:
            high = middle
        else:
            low = middle
    return high
