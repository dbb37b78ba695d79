"""Holm's step-down across the candidates' non-inferiority tests, so the chance that any
candidate truly worse by the margin or more is called non-inferior stays at alpha for the whole
recommendation, however many cells it weighed.

Each test is "H0: the candidate is worse by m or more". The cells are ranked by their p-values,
smallest first; the cell at rank i (from 0, of k) is tested at alpha / (k - i), and the first
that fails stops the procedure: it and every cell after it keep the level it failed at. A cell's
bounds are then drawn at its own level, so its bound confidence reads 1 - its alpha: with 4
candidates the first is bounded at 98.75%, the next at 98.33%, then 97.5%, then 95%.
"""

from __future__ import annotations

from collections.abc import Sequence

from laneway.replay.stats.bounds import Bounds, p_value


def holm_alphas(
    tests: Sequence[Bounds], margin: float, alpha: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(each test's alpha, each test's p-value), in the order given."""
    p_values = tuple(p_value(bounds, -margin) for bounds in tests)
    order = sorted(range(len(tests)), key=lambda at: p_values[at])
    alphas = [alpha] * len(tests)
    stopped: float | None = None
    for rank, at in enumerate(order):
        level = stopped if stopped is not None else alpha / (len(tests) - rank)
        alphas[at] = level
        if stopped is None and not tests[at].lower(level) > -margin:
            stopped = level
    return tuple(alphas), p_values
