"""Optional sequential stopping: look at a cell's comparison as its lines come in and stop once
its verdict is settled, with the error rate of a single look kept across all the looks made.

Alpha spending (Lan and DeMets) with the O'Brien-Fleming-like spending function

    spent(t) = 2 - 2 * Phi(z(1 - alpha / 2) / sqrt(t)),   t = lines so far / lines planned

spends almost nothing early and nearly all of alpha at the end. Look k may spend
spent(t_k) - spent(t_k-1); its boundary b_k is the z at which the chance of first crossing at
look k, under the null and given no earlier crossing, is exactly that. The joint law of the
looks' statistics is that of Brownian motion at times t_1 < t_2 < ...; the boundaries are found
by integrating its density forward on a grid, look by look.

A look decides with the comparison's own bounds (bootstrap, Tango or constant) drawn at the
look's nominal level 1 - Phi(b_k), each direction (non-inferior, worse) spending its own alpha.
Looks may fall anywhere (only their fractions matter, and past ones are never revised), but
when to look must not depend on the data seen. Lines beyond the plan spend nothing more.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import optimize, special

from laneway.replay.stats.paired import Difference
from laneway.replay.stats.resample import FloatArray
from laneway.replay.stats.results import Verdict
from laneway.replay.stats.verdicts import SETTLED, verdict

_GRID: Final = np.linspace(-10.0, 10.0, 2001)  # Brownian motion's value; time <= 1, sd <= 1
_STEP: Final = float(_GRID[1] - _GRID[0])
_NEGLIGIBLE: Final = 1e-15  # a spend this small is no spend: the boundary is infinite


def spent(fraction: float, alpha: float) -> float:
    """Alpha spent by information fraction `fraction` (capped at 1)."""
    if fraction <= 0:
        return 0.0
    t = min(fraction, 1.0)
    return float(2 - 2 * special.ndtr(special.ndtri(1 - alpha / 2) / math.sqrt(t)))


def boundaries(fractions: Sequence[float], alpha: float) -> tuple[float, ...]:
    """Each look's z boundary, for looks at these increasing fractions."""
    return _boundaries(tuple(fractions), alpha)


@functools.lru_cache(maxsize=256)  # a run's looks ask the same fractions again at every look
def _boundaries(fractions: tuple[float, ...], alpha: float) -> tuple[float, ...]:
    found: list[float] = []
    density: FloatArray | None = None  # of the motion at the last look, given no crossing
    previous_t = 0.0
    for fraction in fractions:
        t = min(fraction, 1.0)
        step = t - previous_t
        increment = spent(t, alpha) - spent(previous_t, alpha)
        if step <= 0 or increment < _NEGLIGIBLE:
            found.append(math.inf)
            density = _carry(density, step, math.inf)
            previous_t = max(previous_t, t)
            continue
        edge = _crossing_edge(density, step, increment)
        found.append(edge / math.sqrt(t))
        density = _carry(density, step, edge)
        previous_t = t
    return tuple(found)


def _crossing_edge(density: FloatArray | None, step: float, increment: float) -> float:
    """The motion's value whose crossing, after `step` more time, has chance `increment`."""
    if density is None:  # the first look: a plain normal tail
        return math.sqrt(step) * float(special.ndtri(1 - increment))

    def crossing(edge: float) -> float:
        tail = special.ndtr((_GRID - edge) / math.sqrt(step))  # P(rise beyond edge - u)
        return float(np.sum(density * tail) * _STEP) - increment

    return float(optimize.brentq(crossing, -10.0, 20.0, xtol=1e-10))


def _carry(density: FloatArray | None, step: float, edge: float) -> FloatArray:
    """The motion's density after `step` more time, zero from `edge` up (stopped there)."""
    if density is None:
        moved = np.exp(-0.5 * _GRID**2 / step) / math.sqrt(2 * math.pi * step)
    elif step <= 0:
        moved = density.copy()
    else:
        gap = _GRID[:, None] - _GRID[None, :]
        kernel = np.exp(-0.5 * gap**2 / step) / math.sqrt(2 * math.pi * step)
        moved = kernel @ density * _STEP
    moved[edge <= _GRID] = 0.0
    return moved


def nominal_alphas(fractions: Sequence[float], alpha: float) -> tuple[float, ...]:
    """Each look's one-sided nominal level: 1 - Phi(its boundary)."""
    return tuple(float(special.ndtr(-b)) for b in boundaries(fractions, alpha))


@dataclass(frozen=True, slots=True)
class Look:
    verdict: Verdict
    settled: bool  # stop the cell: its verdict will not be overturned by the plan's error rate
    alpha: float  # the nominal one-sided level this look's bounds were drawn at
    lower: float
    upper: float


def look(difference: Difference, fractions: Sequence[float], margin: float, alpha: float) -> Look:
    """The decision at the last of `fractions` (every look made so far, this one last)."""
    level = nominal_alphas(fractions, alpha)[-1]
    if level <= 0:  # nothing to spend at this look
        return Look("inconclusive", False, 0.0, -1.0, 1.0)
    lower, upper = difference.lower(level), difference.upper(level)
    found = verdict(lower, upper, margin)
    return Look(found, found in SETTLED, level, lower, upper)
