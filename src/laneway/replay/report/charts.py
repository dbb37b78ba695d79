"""The report's charts as server-side SVG (laneway.replay.report.svg, .frame): cost against
quality with interval bars and the Pareto front, and the latency distributions. Each returns one
`<svg class="chart">`; each point and curve carries a `<title>`, the browser's own tooltip, so
the page needs no script."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from laneway.replay.report.frame import (
    LEFT,
    RIGHT,
    WIDTH,
    Frame,
    chart,
    colour,
    legend,
    x_range,
    y_range,
)
from laneway.replay.report.model import LatencySpread, ReportCell
from laneway.replay.report.svg import Scale, element, group, line, polyline, scale_for, text
from laneway.replay.summary_text import money


def cost_quality(cells: Sequence[ReportCell], front: Sequence[str]) -> Markup | None:
    """Quality against cost per 1,000 requests, each cell with its interval bars (quality's and
    cost's, 95%), the baseline a square, the pick ringed, the Pareto front a step line. None
    when no cell has both figures known (such a cell is never drawn: the page names it)."""
    shown = [(place, cell) for place, cell in enumerate(cells) if _placed(cell)]
    if not shown:
        return None
    xs = [v * 1000 for _, cell in shown for v in _cost_span(cell)]
    ys = [v for _, cell in shown for v in _quality_span(cell)]
    frame = Frame(scale_for(xs, *x_range()), scale_for(ys, *y_range(), floor=0.0, ceiling=1.0))
    parts = [frame.axes(("cost per 1,000 requests (USD)", "quality (0..1)"), "${:g}")]
    parts.append(_front_line(frame, [cell for _, cell in shown if cell.label in front], front))
    parts += [_point(frame, place, cell) for place, cell in shown]
    return chart("Cost against quality, per cell", parts)


def _placed(cell: ReportCell) -> bool:
    return cell.summary.cost.per_1k_usd is not None and cell.summary.quality.mean is not None


def _cost_span(cell: ReportCell) -> tuple[float, float, float]:
    """Cost per request: (estimate, lower, upper); the estimate thrice without an interval."""
    per = cell.summary.cost.per_request_usd
    assert per is not None  # noqa: S101 - only placed cells are drawn
    found = cell.stats.cost_per_call
    if found is None:
        return float(per), float(per), float(per)
    return float(per), float(found.lower), float(found.upper)


def _quality_span(cell: ReportCell) -> tuple[float, float, float]:
    mean = cell.summary.quality.mean
    assert mean is not None  # noqa: S101 - only placed cells are drawn
    found = cell.stats.quality
    return (mean, mean, mean) if found is None else (mean, found.lower, found.upper)


def _tip(cell: ReportCell) -> str:
    summary, (mean, low, high) = cell.summary, _quality_span(cell)
    marks = (" (baseline)" if summary.baseline else "") + (" (the pick)" if cell.picked else "")
    front = ", on the Pareto front" if cell.on_front else ""
    return (
        f"{summary.label}{marks}: quality {mean:.3f} [{low:.3f}, {high:.3f}], "
        f"{money(summary.cost.per_1k_usd)} per 1,000 requests{front}"
    )


def _point(frame: Frame, place: int, cell: ReportCell) -> Markup:
    cost, cost_low, cost_high = (frame.x(v * 1000) for v in _cost_span(cell))
    quality, low, high = (frame.y(v) for v in _quality_span(cell))
    paint = colour(place)
    parts = [
        element("title", {}, _tip(cell)),
        line(cost, low, cost, high, "bar", paint),
        line(cost_low, quality, cost_high, quality, "bar", paint),
    ]
    if cell.summary.baseline:
        parts.append(
            element(
                "rect",
                {
                    "x": cost - 6,
                    "y": quality - 6,
                    "width": 12,
                    "height": 12,
                    "fill": paint,
                    "class": "mark baseline",
                },
            )
        )
    else:
        parts.append(
            element("circle", {"cx": cost, "cy": quality, "r": 6, "fill": paint, "class": "mark"})
        )
    if cell.picked:
        parts.append(
            element(
                "circle",
                {
                    "cx": cost,
                    "cy": quality,
                    "r": 11,
                    "fill": "none",
                    "stroke": "#111",
                    "class": "pick",
                },
            )
        )
    # A label near the plot's right edge goes on the point's left.
    left = cost > LEFT + (WIDTH - LEFT - RIGHT) * 0.7
    parts.append(
        text(
            cost - 9 if left else cost + 9,
            quality - 9,
            cell.label,
            "label",
            "end" if left else None,
        )
    )
    return group(parts, **{"class": "point"})


def _front_line(frame: Frame, cells: list[ReportCell], front: Sequence[str]) -> Markup:
    """A step through the front, cheapest first: the best quality known at each cost."""
    points: list[tuple[float, float]] = []
    for cell in sorted(cells, key=lambda cell: front.index(cell.label)):
        x, y = frame.x(_cost_span(cell)[0] * 1000), frame.y(_quality_span(cell)[0])
        if points:
            points.append((x, points[-1][1]))
        points.append((x, y))
    return polyline(points, "front", "Pareto front: " + ", ".join(front))


def latency_curves(spreads: Sequence[LatencySpread]) -> Markup | None:
    """Each cell's latency ECDF: the share of answered calls done within x ms."""
    drawn = [(place, s) for place, s in enumerate(spreads) if s.sample]
    if not drawn:
        return None
    values = [v for _, s in drawn for v in (s.sample[0], s.sample[-1])]
    frame = Frame(scale_for(values, *x_range(), log_when=10.0), Scale(0.0, 1.0, *y_range()))
    parts = [frame.axes(("latency (ms)", "share of answered calls"), "{:g}", "{:.0%}")]
    for place, spread in drawn:
        count = len(spread.sample)
        points = [(frame.x(v), frame.y((at + 1) / count)) for at, v in enumerate(spread.sample)]
        tip = (
            f"{spread.label}: {spread.count:,} answered calls, p50 "
            f"{spread.percentiles['p50']:,.0f} ms, p95 {spread.percentiles['p95']:,.0f} ms"
        )
        parts.append(polyline(points, "curve", tip, colour(place)))
    parts.append(legend([(colour(place), s.label) for place, s in drawn]))
    return chart("Latency distribution per cell (ECDF)", parts)
