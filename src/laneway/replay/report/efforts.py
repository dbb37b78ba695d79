"""Tune-effort curves from one run: each model the run measured at two or more reasoning
efforts, its quality (with interval) and cost per 1,000 requests at each, lowest effort first.

A tune directory (`laneway tune-effort`) is reported by `laneway tune-effort` itself; the run
report draws only what its own cells measured.
"""

from __future__ import annotations

from collections.abc import Sequence

from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.replay.experiment import AS_WRITTEN
from laneway.replay.report.model import EffortCurve, EffortPoint, ReportCell

_ORDER: dict[str, int] = {effort: place for place, effort in enumerate(REASONING_EFFORTS)}


def effort_curves(cells: Sequence[ReportCell]) -> tuple[EffortCurve, ...]:
    by_model: dict[str, list[EffortPoint]] = {}
    for cell in cells:
        summary = cell.summary
        if summary.model == AS_WRITTEN or summary.effort is None:
            continue
        point = EffortPoint(
            summary.effort, summary.label, cell.stats.quality, summary.cost.per_1k_usd
        )
        by_model.setdefault(summary.model, []).append(point)
    return tuple(
        EffortCurve(model, tuple(sorted(points, key=lambda p: _ORDER.get(p.effort, 99))))
        for model, points in by_model.items()
        if len({point.effort for point in points}) >= 2
    )
