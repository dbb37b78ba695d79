"""SVG written by laneway for the report's charts: an element builder that escapes every
attribute value and text (markupsafe, as the templates escape), and axis scales with round
ticks. No script, no external reference: a chart is drawn the moment the page is parsed.

    element("circle", {"cx": 10, "cy": 20, "r": 4}, element("title", {}, label))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape


def element(tag: str, attrs: Mapping[str, object], *children: str) -> Markup:
    """`<tag attrs>children</tag>`; a str child is escaped, a Markup child kept; a None
    attribute is left out. Tags and attribute names are laneway's own, never a user's."""
    opened = f"<{tag}" + "".join(
        f' {name}="{escape(_text(value))}"' for name, value in attrs.items() if value is not None
    )
    if not children:
        return Markup(opened + "/>")  # noqa: S704 - every value above is escaped
    inner = "".join(str(escape(child)) for child in children)
    return Markup(f"{opened}>{inner}</{tag}>")  # noqa: S704 - every child is escaped


def group(children: list[Markup], **attrs: object) -> Markup:
    return element("g", attrs, *children)


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps [low, high] onto [start, end] (pixels), linearly or by log10 (low > 0 then)."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        low, high = self.low, self.high
        if self.log:
            low, high, value = math.log10(low), math.log10(high), math.log10(max(value, self.low))
        share = 0.5 if high == low else (value - low) / (high - low)
        return self.start + share * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        if self.log:
            return log_ticks(self.low, self.high)
        return nice_ticks(self.low, self.high, count)


def scale_for(
    values: list[float],
    start: float,
    end: float,
    *,
    floor: float | None = None,
    ceiling: float | None = None,
    log_when: float = 20.0,
) -> Scale:
    """A scale over `values` with a little room either side; by log10 when every value is
    positive and the largest is over `log_when` times the smallest."""
    low, high = min(values), max(values)
    if low > 0 and high / low > log_when:
        return Scale(low / 1.3, high * 1.3, start, end, log=True)
    room = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
    low, high = low - room, high + room
    if floor is not None:
        low = max(low, floor)
    if ceiling is not None:
        high = min(high, ceiling)
    return Scale(low, high, start, end)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) within [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks, at = [], first
    while at <= high + step * 1e-9:
        ticks.append(round(at, 12))
        at += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """1, 2 and 5 times each power of ten within [low, high] (only 1s over many decades)."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    steps = (1,) if len(decades) > 4 else (1, 2, 5)
    return [m * 10.0**d for d in decades for m in steps if low <= m * 10.0**d <= high]


def line(
    x1: float, y1: float, x2: float, y2: float, kind: str, stroke: str | None = None
) -> Markup:
    return element(
        "line", {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "class": kind, "stroke": stroke}
    )


def text(x: float, y: float, shown: str, kind: str, anchor: str | None = None) -> Markup:
    return element("text", {"x": x, "y": y, "class": kind, "text-anchor": anchor}, shown)


def dot(x: float, y: float, fill: str, title: str | None = None, radius: float = 5) -> Markup:
    tip = () if title is None else (element("title", {}, title),)
    return element("circle", {"cx": x, "cy": y, "r": radius, "fill": fill, "class": "mark"}, *tip)


def polyline(
    points: list[tuple[float, float]], kind: str, title: str, stroke: str | None = None
) -> Markup:
    drawn = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return element(
        "polyline", {"points": drawn, "class": kind, "stroke": stroke}, element("title", {}, title)
    )
