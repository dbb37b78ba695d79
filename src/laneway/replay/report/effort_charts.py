"""The tune-effort curves as SVG (laneway.replay.report.frame): quality with its interval, and
cost per 1,000 requests, against reasoning effort, a line per model."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup

from laneway.replay.report.frame import Frame, chart, colour, legend, x_range, y_range
from laneway.replay.report.model import EffortCurve, EffortPoint
from laneway.replay.report.svg import Scale, dot, group, line, polyline, scale_for
from laneway.replay.summary_text import money

Value = Callable[[EffortPoint], float | None]


def effort_quality(curves: Sequence[EffortCurve], efforts: Sequence[str]) -> Markup | None:
    """Quality (with its interval) against effort."""
    return _effort_chart(
        curves,
        efforts,
        "Quality by reasoning effort",
        "quality (0..1)",
        "{:g}",
        lambda p: None if p.quality is None else p.quality.estimate,
    )


def effort_cost(curves: Sequence[EffortCurve], efforts: Sequence[str]) -> Markup | None:
    """Cost per 1,000 requests against effort (unknown costs left out)."""
    return _effort_chart(
        curves,
        efforts,
        "Cost by reasoning effort",
        "cost per 1,000 requests (USD)",
        "${:g}",
        lambda p: None if p.cost_per_1k_usd is None else float(p.cost_per_1k_usd),
    )


def _effort_chart(
    curves: Sequence[EffortCurve],
    efforts: Sequence[str],
    title: str,
    y_title: str,
    y_format: str,
    value: Value,
) -> Markup | None:
    ys = [v for c in curves for p in c.points for v in _span(p, value)]
    if not ys:
        return None
    top = 1.0 if y_title.startswith("quality") else None  # quality's scale ends at 1
    y = scale_for(ys, *y_range(), floor=0.0, ceiling=top)
    frame = Frame(Scale(-0.5, len(efforts) - 0.5, *x_range()), y)
    ticks = [(float(at), effort) for at, effort in enumerate(efforts)]
    parts = [frame.axes(("reasoning effort", y_title), y_format=y_format, x_ticks=ticks)]
    for place, curve in enumerate(curves):
        parts.append(_curve(frame, curve, efforts, value, colour(place)))
    parts.append(legend([(colour(place), c.model) for place, c in enumerate(curves)]))
    return chart(title, parts)


def _span(point: EffortPoint, value: Value) -> list[float]:
    """The values the axis must hold: the point's, and its interval's when it is quality."""
    found = value(point)
    if found is None:
        return []
    if point.quality is not None and found == point.quality.estimate:
        return [found, point.quality.lower, point.quality.upper]
    return [found]


def _curve(
    frame: Frame, curve: EffortCurve, efforts: Sequence[str], value: Value, paint: str
) -> Markup:
    known = [(efforts.index(p.effort), p, v) for p in curve.points if (v := value(p)) is not None]
    parts = [
        polyline([(frame.x(at), frame.y(v)) for at, _, v in known], "curve", curve.model, paint)
    ]
    for at, point, v in known:
        x, spans = frame.x(at), _span(point, value)
        if len(spans) == 3:
            parts.append(line(x, frame.y(spans[1]), x, frame.y(spans[2]), "bar", paint))
        parts.append(dot(x, frame.y(v), paint, _tip(point, len(spans) == 3)))
    return group(parts, **{"class": "point"})


def _tip(point: EffortPoint, quality: bool) -> str:
    if quality and point.quality is not None:
        found = point.quality
        return f"{point.label}: quality {found.estimate:.3f} [{found.lower:.3f}, {found.upper:.3f}]"
    return f"{point.label}: {money(point.cost_per_1k_usd)} per 1,000 requests"
