"""The report's charts as server-side SVG (laneway.replay.report.svg): cost vs quality with
interval bars and the Pareto front, the latency distributions, the tune-effort curves. Each
returns one `<svg class="chart">`; each point and curve carries a `<title>`, the browser's own
tooltip, so the page needs no script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from laneway.replay.report.model import EffortCurve, LatencySpread, ReportCell
from laneway.replay.report.svg import Scale, element, group, scale_for
from laneway.replay.summary_text import money

WIDTH: Final = 960
HEIGHT: Final = 400
PALETTE: Final = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 200, 16, 52  # the legend goes right of the plot


@dataclass(frozen=True, slots=True)
class Frame:
    x: Scale
    y: Scale

    def axes(
        self,
        x_title: str,
        y_title: str,
        x_format: str = "{:g}",
        y_format: str = "{:g}",
        x_ticks: Sequence[tuple[float, str]] | None = None,
    ) -> Markup:
        """Grid lines, tick labels and the two axis titles; `x_ticks`: (value, label) pairs
        instead of round values."""
        parts = []
        ticks = x_ticks or [(tick, x_format.format(tick)) for tick in self.x.ticks()]
        for tick, label in ticks:
            at = self.x(tick)
            parts.append(
                element(
                    "line",
                    {"x1": at, "x2": at, "y1": _TOP, "y2": HEIGHT - _BOTTOM, "class": "grid"},
                )
            )
            parts.append(
                element(
                    "text",
                    {"x": at, "y": HEIGHT - _BOTTOM + 16, "class": "tick", "text-anchor": "middle"},
                    label,
                )
            )
        for tick in self.y.ticks():
            at = self.y(tick)
            parts.append(
                element(
                    "line", {"x1": _LEFT, "x2": WIDTH - _RIGHT, "y1": at, "y2": at, "class": "grid"}
                )
            )
            parts.append(
                element(
                    "text",
                    {"x": _LEFT - 6, "y": at + 4, "class": "tick", "text-anchor": "end"},
                    y_format.format(tick),
                )
            )
        parts.append(
            element(
                "text",
                {
                    "x": (WIDTH + _LEFT - _RIGHT) / 2,
                    "y": HEIGHT - 10,
                    "class": "axis",
                    "text-anchor": "middle",
                },
                x_title,
            )
        )
        parts.append(
            element(
                "text",
                {
                    "x": 14,
                    "y": (HEIGHT - _BOTTOM + _TOP) / 2,
                    "class": "axis",
                    "text-anchor": "middle",
                    "transform": f"rotate(-90 14 {(HEIGHT - _BOTTOM + _TOP) / 2})",
                },
                y_title,
            )
        )
        return group(parts, **{"class": "axes"})


def chart(title: str, children: Sequence[Markup], height: int = HEIGHT) -> Markup:
    return element(
        "svg",
        {
            "class": "chart",
            "role": "img",
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": WIDTH,
            "height": height,
            "xmlns": "http://www.w3.org/2000/svg",
        },
        element("title", {}, title),
        *children,
    )


def x_range() -> tuple[float, float]:
    return _LEFT, WIDTH - _RIGHT


def y_range() -> tuple[float, float]:
    return HEIGHT - _BOTTOM, _TOP


def colour(place: int) -> str:
    return PALETTE[place % len(PALETTE)]


def cost_quality(cells: Sequence[ReportCell], front: Sequence[str]) -> Markup | None:
    """Quality against cost per 1,000 requests, each cell with its interval bars (quality's and
    cost's, 95%), the baseline a square, the pick a ring, the Pareto front a step line. None
    when no cell has both figures known."""
    shown = [(place, cell) for place, cell in enumerate(cells) if _placed(cell)]
    if not shown:
        return None
    xs, ys = [], []
    for _, cell in shown:
        xs += [float(x) * 1000 for x in _cost_span(cell)]
        ys += list(_quality_span(cell))
    frame = Frame(scale_for(xs, *x_range()), scale_for(ys, *y_range(), floor=0.0, ceiling=1.0))
    parts = [frame.axes("cost per 1,000 requests (USD)", "quality (0..1)", "${:g}")]
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


def _point(frame: Frame, place: int, cell: ReportCell) -> Markup:
    cost, cost_low, cost_high = (frame.x(v * 1000) for v in _cost_span(cell))
    quality, low, high = (frame.y(v) for v in _quality_span(cell))
    paint = colour(place)
    summary = cell.summary
    tip = (
        f"{summary.label}{' (baseline)' if summary.baseline else ''}"
        f"{' (the pick)' if cell.picked else ''}: quality {summary.quality.mean:.3f} "
        f"[{_quality_span(cell)[1]:.3f}, {_quality_span(cell)[2]:.3f}], "
        f"{money(summary.cost.per_1k_usd)} per 1,000 requests"
        f"{', on the Pareto front' if cell.on_front else ''}"
    )
    parts = [
        element("title", {}, tip),
        element(
            "line", {"x1": cost, "x2": cost, "y1": low, "y2": high, "stroke": paint, "class": "bar"}
        ),
        element(
            "line",
            {
                "x1": cost_low,
                "x2": cost_high,
                "y1": quality,
                "y2": quality,
                "stroke": paint,
                "class": "bar",
            },
        ),
    ]
    if summary.baseline:
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
    # A label near the right edge goes on the point's left, so it is never cut off.
    left = cost > _LEFT + (WIDTH - _LEFT - _RIGHT) * 0.7
    where: dict[str, object] = {"x": cost - 9, "text-anchor": "end"} if left else {"x": cost + 9}
    parts.append(element("text", {**where, "y": quality - 9, "class": "label"}, summary.label))
    return group(parts, **{"class": "point"})


def _front_line(frame: Frame, cells: list[ReportCell], front: Sequence[str]) -> Markup:
    """A step through the front, cheapest first: the best quality known at each cost."""
    ordered = sorted(cells, key=lambda cell: front.index(cell.label))
    points: list[tuple[float, float]] = []
    for cell in ordered:
        x, y = frame.x(_cost_span(cell)[0] * 1000), frame.y(_quality_span(cell)[0])
        if points:
            points.append((x, points[-1][1]))
        points.append((x, y))
    drawn = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return element(
        "polyline",
        {"points": drawn, "class": "front"},
        element("title", {}, "Pareto front: " + ", ".join(front)),
    )


def latency_curves(spreads: Sequence[LatencySpread]) -> Markup | None:
    """Each cell's latency ECDF: the share of answered calls done within x ms."""
    drawn = [(place, s) for place, s in enumerate(spreads) if s.sample]
    if not drawn:
        return None
    values = [v for _, s in drawn for v in (s.sample[0], s.sample[-1])]
    frame = Frame(scale_for(values, *x_range(), log_when=10.0), Scale(0.0, 1.0, *y_range()))
    parts = [frame.axes("latency (ms)", "share of answered calls", "{:g}", "{:.0%}")]
    for place, spread in drawn:
        count = len(spread.sample)
        points = " ".join(
            f"{frame.x(value):.1f},{frame.y((at + 1) / count):.1f}"
            for at, value in enumerate(spread.sample)
        )
        tip = (
            f"{spread.label}: {spread.count:,} answered calls, p50 "
            f"{spread.percentiles['p50']:,.0f} ms, p95 {spread.percentiles['p95']:,.0f} ms"
        )
        parts.append(
            element(
                "polyline",
                {"points": points, "stroke": colour(place), "class": "curve"},
                element("title", {}, tip),
            )
        )
    parts.append(_legend([(colour(place), s.label) for place, s in drawn]))
    return chart("Latency distribution per cell (ECDF)", parts)


def _legend(entries: Sequence[tuple[str, str]]) -> Markup:
    parts = []
    for at, (paint, label) in enumerate(entries):
        y = _TOP + 8 + at * 16
        parts.append(
            element(
                "rect",
                {"x": WIDTH - _RIGHT + 16, "y": y - 8, "width": 10, "height": 10, "fill": paint},
            )
        )
        parts.append(
            element("text", {"x": WIDTH - _RIGHT + 32, "y": y + 1, "class": "legend"}, label)
        )
    return group(parts, **{"class": "legend"})


def effort_quality(curves: Sequence[EffortCurve], efforts: Sequence[str]) -> Markup | None:
    """Quality (with its interval) against effort, a line per model."""
    ys = [
        v
        for c in curves
        for p in c.points
        if p.quality is not None
        for v in (p.quality.lower, p.quality.upper)
    ]
    if not ys:
        return None
    frame = Frame(_effort_scale(efforts), scale_for(ys, *y_range(), floor=0.0, ceiling=1.0))
    parts = [_effort_axes(frame, efforts, "quality (0..1)", "{:g}")]
    for place, curve in enumerate(curves):
        known = [(efforts.index(p.effort), p) for p in curve.points if p.quality is not None]
        line = " ".join(
            f"{frame.x(at):.1f},{frame.y(p.quality.estimate):.1f}"
            for at, p in known
            if p.quality is not None
        )
        parts.append(
            element(
                "polyline",
                {"points": line, "stroke": colour(place), "class": "curve"},
                element("title", {}, curve.model),
            )
        )
        for at, p in known:
            assert p.quality is not None  # noqa: S101 - filtered above
            tip = (
                f"{p.label}: quality {p.quality.estimate:.3f} [{p.quality.lower:.3f}, "
                f"{p.quality.upper:.3f}]"
            )
            x = frame.x(at)
            parts.append(
                group(
                    [
                        element("title", {}, tip),
                        element(
                            "line",
                            {
                                "x1": x,
                                "x2": x,
                                "y1": frame.y(p.quality.lower),
                                "y2": frame.y(p.quality.upper),
                                "stroke": colour(place),
                                "class": "bar",
                            },
                        ),
                        element(
                            "circle",
                            {
                                "cx": x,
                                "cy": frame.y(p.quality.estimate),
                                "r": 5,
                                "fill": colour(place),
                                "class": "mark",
                            },
                        ),
                    ],
                    **{"class": "point"},
                )
            )
    parts.append(_legend([(colour(place), c.model) for place, c in enumerate(curves)]))
    return chart("Quality by reasoning effort", parts)


def effort_cost(curves: Sequence[EffortCurve], efforts: Sequence[str]) -> Markup | None:
    """Cost per 1,000 requests against effort, a line per model (unknown costs left out)."""
    ys = [
        float(p.cost_per_1k_usd) for c in curves for p in c.points if p.cost_per_1k_usd is not None
    ]
    if not ys:
        return None
    frame = Frame(_effort_scale(efforts), scale_for(ys, *y_range(), floor=0.0))
    parts = [_effort_axes(frame, efforts, "cost per 1,000 requests (USD)", "${:g}")]
    for place, curve in enumerate(curves):
        known = [
            (efforts.index(p.effort), p) for p in curve.points if p.cost_per_1k_usd is not None
        ]
        line = " ".join(
            f"{frame.x(at):.1f},{frame.y(float(p.cost_per_1k_usd or 0)):.1f}" for at, p in known
        )
        parts.append(
            element(
                "polyline",
                {"points": line, "stroke": colour(place), "class": "curve"},
                element("title", {}, curve.model),
            )
        )
        for at, p in known:
            tip = f"{p.label}: {money(p.cost_per_1k_usd)} per 1,000 requests"
            parts.append(
                element(
                    "circle",
                    {
                        "cx": frame.x(at),
                        "cy": frame.y(float(p.cost_per_1k_usd or 0)),
                        "r": 5,
                        "fill": colour(place),
                        "class": "mark",
                    },
                    element("title", {}, tip),
                )
            )
    parts.append(_legend([(colour(place), c.model) for place, c in enumerate(curves)]))
    return chart("Cost by reasoning effort", parts)


def _effort_scale(efforts: Sequence[str]) -> Scale:
    return Scale(-0.5, len(efforts) - 0.5, *x_range())


def _effort_axes(frame: Frame, efforts: Sequence[str], y_title: str, y_format: str) -> Markup:
    ticks = [(float(at), effort) for at, effort in enumerate(efforts)]
    return frame.axes("reasoning effort", y_title, y_format=y_format, x_ticks=ticks)
