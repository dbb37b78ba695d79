"""Percentiles of a cell's latencies: numpy's default (linear interpolation between the two
nearest ranks, as `numpy.percentile` and most dashboards compute them); None for no values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(values: Sequence[float], points: Sequence[float]) -> tuple[float | None, ...]:
    """The `points` (0..100) percentiles of `values`, each None when there are no values."""
    if not values:
        return tuple(None for _ in points)
    found = np.percentile(np.asarray(values, dtype=float), list(points))
    return tuple(float(value) for value in found)
