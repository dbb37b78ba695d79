"""Verdicts from bounds, against a margin m on the score's 0..1 scale (0.02 = 2 points):

    better         lower bound > 0        the candidate is ahead
    non-inferior   lower bound > -m       behind by less than the margin, if behind at all
    worse          upper bound < -m       behind by more than the margin
    inconclusive   otherwise              the data cannot yet tell

Both bounds are one-sided at the level the caller gives (95% alone; a cell's own level after
Holm). Better implies non-inferior, so the strongest is reported; worse excludes both, since a
lower bound never exceeds its upper bound.
"""

from __future__ import annotations

from typing import Final

from laneway.replay.stats.results import Verdict

MARGIN: Final = 0.02  # 2 points
SETTLED: Final[frozenset[Verdict]] = frozenset({"better", "non-inferior", "worse"})


def verdict(lower: float, upper: float, margin: float) -> Verdict:
    if lower > 0:
        return "better"
    if lower > -margin:
        return "non-inferior"
    if upper < -margin:
        return "worse"
    return "inconclusive"
