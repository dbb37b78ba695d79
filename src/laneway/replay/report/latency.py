"""A cell's latency distribution for the report: percentiles over every answered call, and a
deterministic sample for the chart, at most SAMPLE_POINTS evenly spaced order statistics (the
sorted values at evenly spaced ranks, the first and last included), so a 10,000-call cell draws
the same curve from 2,000 points and two builds draw the same page."""

from __future__ import annotations

from typing import Final

import numpy as np

from laneway.replay.percentiles import percentiles
from laneway.replay.report.model import LatencySpread

SAMPLE_POINTS: Final = 2_000
POINTS: Final = (
    ("min", 0),
    ("p5", 5),
    ("p25", 25),
    ("p50", 50),
    ("p75", 75),
    ("p95", 95),
    ("p99", 99),
    ("max", 100),
)


def latency_spread(label: str, values: list[float], points: int = SAMPLE_POINTS) -> LatencySpread:
    if not values:
        return LatencySpread(label, 0, {}, ())
    # The summary's own percentiles (laneway.replay.percentiles), so the figures agree.
    found = percentiles(values, [at for _, at in POINTS])
    shown = {
        name: value for (name, _), value in zip(POINTS, found, strict=True) if value is not None
    }
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    if ordered.size > points:
        ranks = np.rint(np.linspace(0, ordered.size - 1, points)).astype(np.intp)
        ordered = ordered[ranks]
    return LatencySpread(label, len(values), shown, tuple(float(v) for v in ordered))
