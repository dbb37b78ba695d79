"""A chart's frame: its size, its plot area (the legend goes right of it), its axes with grid
lines and tick labels, the `<svg class="chart">` around it all, and the colours cells are drawn
in (a cell keeps its colour across the report's charts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from laneway.replay.report.svg import Scale, element, group, line, text

WIDTH: Final = 960
HEIGHT: Final = 400
LEFT, RIGHT, TOP, BOTTOM = 70, 200, 16, 52
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


def colour(place: int) -> str:
    return PALETTE[place % len(PALETTE)]


def x_range() -> tuple[float, float]:
    return LEFT, WIDTH - RIGHT


def y_range() -> tuple[float, float]:
    return HEIGHT - BOTTOM, TOP


@dataclass(frozen=True, slots=True)
class Frame:
    x: Scale
    y: Scale

    def axes(
        self,
        titles: tuple[str, str],
        x_format: str = "{:g}",
        y_format: str = "{:g}",
        x_ticks: Sequence[tuple[float, str]] | None = None,
    ) -> Markup:
        """Grid lines, tick labels and the (x, y) axis titles; `x_ticks`: (value, label) pairs
        instead of round values."""
        parts = []
        ticks = x_ticks or [(tick, x_format.format(tick)) for tick in self.x.ticks()]
        for tick, label in ticks:
            at = self.x(tick)
            parts.append(line(at, TOP, at, HEIGHT - BOTTOM, "grid"))
            parts.append(text(at, HEIGHT - BOTTOM + 16, label, "tick", "middle"))
        for tick in self.y.ticks():
            at = self.y(tick)
            parts.append(line(LEFT, at, WIDTH - RIGHT, at, "grid"))
            parts.append(text(LEFT - 6, at + 4, y_format.format(tick), "tick", "end"))
        middle = (HEIGHT - BOTTOM + TOP) / 2
        parts.append(text((WIDTH + LEFT - RIGHT) / 2, HEIGHT - 10, titles[0], "axis", "middle"))
        parts.append(
            element(
                "text",
                {
                    "x": 14,
                    "y": middle,
                    "class": "axis",
                    "text-anchor": "middle",
                    "transform": f"rotate(-90 14 {middle})",
                },
                titles[1],
            )
        )
        return group(parts, **{"class": "axes"})


def chart(title: str, children: Sequence[Markup], height: int = HEIGHT) -> Markup:
    attrs = {
        "class": "chart",
        "role": "img",
        "viewBox": f"0 0 {WIDTH} {height}",
        "width": WIDTH,
        "height": height,
        "xmlns": "http://www.w3.org/2000/svg",
    }
    return element("svg", attrs, element("title", {}, title), *children)


def legend(entries: Sequence[tuple[str, str]]) -> Markup:
    """(colour, label) pairs, right of the plot."""
    parts = []
    for at, (paint, label) in enumerate(entries):
        y = TOP + 8 + at * 16
        parts.append(
            element(
                "rect",
                {"x": WIDTH - RIGHT + 16, "y": y - 8, "width": 10, "height": 10, "fill": paint},
            )
        )
        parts.append(text(WIDTH - RIGHT + 32, y + 1, label, "legend"))
    return group(parts, **{"class": "legend"})
