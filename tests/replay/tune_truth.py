"""Synthetic per-line pass/fail data with a known truth, for proving the effort climb.

Each effort has an accuracy; a line passes at an effort when a uniform draw falls below it. A
line's draws are shared across efforts with chance `rho` (a hard line is hard at every effort,
as real answers are), else drawn afresh, so each effort keeps its accuracy exactly.

The shapes (efforts none, low, medium, high, xhigh) are like the emulator's: diminishing
returns, plateaus and late jumps. Every gap between efforts is 0 or at least 3x the default
margin (2 points): a gap near the margin is one no sample of this size can call, for the full
sweep as for the climb, and agreement between two coin flips proves nothing.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from laneway.replay.stats.resample import FloatArray

SHAPES: Final[dict[str, tuple[float, ...]]] = {
    "diminishing": (0.55, 0.70, 0.80, 0.80, 0.80),
    "plateau": (0.80, 0.80, 0.80, 0.80, 0.80),
    "climbing": (0.40, 0.52, 0.64, 0.76, 0.88),
    "late jump": (0.60, 0.60, 0.75, 0.75, 0.75),
    "later jump": (0.60, 0.60, 0.60, 0.75, 0.75),
    "jump at the top": (0.50, 0.62, 0.74, 0.74, 0.86),
}
LINES: Final = 2000
RHO: Final = 0.9


def pass_fail(
    accuracies: tuple[float, ...], lines: int, rho: float, rng: np.random.Generator
) -> FloatArray:
    """(efforts x lines) of 0.0 / 1.0."""
    shared = rng.random(lines)
    own = rng.random((len(accuracies), lines))
    draws = np.where(rng.random(own.shape) < rho, shared[None, :], own)
    return (draws < np.asarray(accuracies)[:, None]).astype(np.float64)
