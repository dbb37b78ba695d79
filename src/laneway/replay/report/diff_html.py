"""A run-vs-run diff (laneway.replay.diff) as one self-contained page, in the report's style and
from its pieces (the page template and its policy, the SVG builder): the quality change per cell
with its interval as a chart, the cells side by side (the same columns and strings as `laneway
replay diff`'s text), and the lines that flipped with both answers whole, up to `shown` per cell
and direction (report.json-like completeness is `--json`'s)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup

from laneway.replay.diff import CellDiff, Flip, RunDiff
from laneway.replay.diff_lines import LineAnswer
from laneway.replay.diff_text import FLIPS_SHOWN, MORE, points
from laneway.replay.report.frame import WIDTH, chart, colour
from laneway.replay.report.report_html import environment
from laneway.replay.report.svg import element, group, nice_ticks
from laneway.replay.summary_text import money, ms

HEADERS = (
    "cell",
    "quality A",
    "quality B",
    "B - A [95%] (points)",
    "method",
    "$/request A",
    "$/request B",
    "p50 A",
    "p50 B",
    "regressions",
    "recoveries",
)
_SECTIONS = (
    ("regressions", "Regressions: passed in A, failed in B"),
    ("recoveries", "Recoveries: failed in A, passed in B"),
)


def diff_html(found: RunDiff, shown: int = FLIPS_SHOWN) -> str:
    return environment().get_template("diff.html.j2").render(**_context(found, shown))


def _context(found: RunDiff, shown: int) -> dict[str, Any]:
    only = [
        f"only in {which} (not compared): {', '.join(labels)}"
        for labels, which in ((found.only_in_a, "A"), (found.only_in_b, "B"))
        if labels
    ]
    return {
        "a_id": found.a.run_id,
        "b_id": found.b.run_id,
        "emulated": found.a.emulated or found.b.emulated,
        "heading": (
            f"{found.lines:,} workload line(s), workload sha256 "
            f"{found.workload_sha256[:12]}; A: {found.a.path}, B: {found.b.path}"
        ),
        "chart": change_chart(found.cells),
        "headers": HEADERS,
        "rows": [row(cell) for cell in found.cells],
        "only": only,
        "sections": [_section(found, attribute, title, shown) for attribute, title in _SECTIONS],
        "notes": found.notes,
    }


def row(cell: CellDiff) -> tuple[str, ...]:
    change = cell.cost_change_usd
    moved = "" if not change else f" ({'+' if change > 0 else '-'}{money(abs(change))})"
    return (
        cell.label,
        _quality(cell, "a"),
        _quality(cell, "b"),
        points(cell.change),
        "-" if cell.change is None else cell.change.method,
        money(cell.a.cost.per_request_usd),
        money(cell.b.cost.per_request_usd) + moved,
        ms(cell.a.latency.p50_ms),
        ms(cell.b.latency.p50_ms),
        str(len(cell.regressions)),
        str(len(cell.recoveries)),
    )


def _quality(cell: CellDiff, side: str) -> str:
    figures = (cell.a if side == "a" else cell.b).quality
    if figures.mean is None:
        return "-"
    return f"{figures.mean:.2f} ({figures.passing}/{figures.graded + figures.grader_errors})"


def _section(found: RunDiff, attribute: str, title: str, shown: int) -> dict[str, Any]:
    flips, more = [], []
    for cell in found.cells:
        listed: tuple[Flip, ...] = getattr(cell, attribute)
        flips += [_flip(cell.label, flip) for flip in listed[:shown]]
        if len(listed) > shown:
            more.append(f"{cell.label}: {len(listed) - shown} more {MORE}")
    return {"id": attribute, "title": title, "flips": flips, "more": more}


def _flip(label: str, flip: Flip) -> dict[str, str]:
    return {"label": label, "custom_id": flip.custom_id, "a": answer(flip.a), "b": answer(flip.b)}


def answer(line: LineAnswer) -> str:
    text = f"failed ({line.failure})" if line.failure else (line.text or "")
    if line.counted > 1:
        text += f"\n[{line.passed}/{line.counted} repeats passed]"
    return text


def change_chart(cells: Sequence[CellDiff]) -> Markup | None:
    """Each cell's change in points with its interval, a row per cell, zero marked."""
    known = [(place, cell) for place, cell in enumerate(cells) if cell.change is not None]
    if not known:
        return None
    spans = [v * 100 for _, c in known if c.change for v in (c.change.lower, c.change.upper)]
    low, high = min(*spans, 0.0), max(*spans, 0.0)
    room = (high - low) * 0.08 or 1.0
    low, high = low - room, high + room
    left, right, top, step = 200.0, WIDTH - 200.0, 20.0, 30.0
    height = int(top + step * len(known) + 44)

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    parts = [_change_axis(x, low, high, top, height)]
    for at, (place, cell) in enumerate(known):
        change = cell.change
        assert change is not None  # noqa: S101 - filtered above
        y = top + step * at + step / 2
        tip = f"{cell.label}: {points(change)} points ({change.method})"
        parts.append(
            group(
                [
                    element("title", {}, tip),
                    element(
                        "text",
                        {"x": left - 10, "y": y + 4, "class": "label", "text-anchor": "end"},
                        cell.label,
                    ),
                    element(
                        "line",
                        {
                            "x1": x(change.lower * 100),
                            "x2": x(change.upper * 100),
                            "y1": y,
                            "y2": y,
                            "stroke": colour(place),
                            "class": "bar",
                        },
                    ),
                    element(
                        "circle",
                        {
                            "cx": x(change.estimate * 100),
                            "cy": y,
                            "r": 5,
                            "fill": colour(place),
                            "class": "mark",
                        },
                    ),
                ],
                **{"class": "point"},
            )
        )
    return chart("Quality change B - A per cell, in points", parts, height=height)


def _change_axis(
    x: Callable[[float], float], low: float, high: float, top: float, height: int
) -> Markup:
    bottom = height - 36
    parts = []
    for tick in nice_ticks(low, high):
        at = x(tick)
        parts.append(
            element(
                "line",
                {
                    "x1": at,
                    "x2": at,
                    "y1": top,
                    "y2": bottom,
                    "class": "front" if tick == 0 else "grid",
                },
            )
        )
        parts.append(
            element(
                "text",
                {"x": at, "y": bottom + 16, "class": "tick", "text-anchor": "middle"},
                f"{tick:+g}" if tick else "0",
            )
        )
    parts.append(
        element(
            "text",
            {
                "x": (x(low) + x(high)) / 2,
                "y": height - 6,
                "class": "axis",
                "text-anchor": "middle",
            },
            "B - A, points (95%)",
        )
    )
    return group(parts, **{"class": "axes"})
