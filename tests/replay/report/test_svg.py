"""The report's SVG pieces: escaping, scales and round ticks."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from laneway.replay.report.svg import Scale, element, log_ticks, nice_ticks, scale_for


def test_attributes_and_text_are_escaped_and_markup_children_kept() -> None:
    inner = element("title", {}, '<script>alert("x")</script>')
    drawn = element("g", {"data-label": '"><img onerror=1>', "skip": None}, inner)
    assert drawn == Markup(
        '<g data-label="&#34;&gt;&lt;img onerror=1&gt;"><title>&lt;script&gt;alert(&#34;x&#34;)'
        "&lt;/script&gt;</title></g>"
    )
    assert element("circle", {"r": 2.5, "cx": 10.0}) == Markup('<circle r="2.5" cx="10"/>')


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.53, 0.87, [0.6, 0.7, 0.8]),
        (0.0, 47.0, [0.0, 10.0, 20.0, 30.0, 40.0]),
        (3.0, 3.0, [3.0]),
    ],
)
def test_nice_ticks(low: float, high: float, expected: list[float]) -> None:
    assert nice_ticks(low, high) == pytest.approx(expected)


def test_log_ticks_and_scale() -> None:
    assert log_ticks(0.06, 3.0) == pytest.approx([0.1, 0.2, 0.5, 1.0, 2.0])
    assert log_ticks(0.5, 50_000.0) == pytest.approx([1.0, 10.0, 100.0, 1_000.0, 10_000.0])
    scale = Scale(1.0, 100.0, 0.0, 200.0, log=True)
    assert scale(10.0) == pytest.approx(100.0)
    assert Scale(0.0, 10.0, 100.0, 0.0)(2.5) == pytest.approx(75.0)  # y runs upward


def test_a_scale_goes_log_only_over_a_wide_positive_range() -> None:
    assert scale_for([0.07, 2.7], 0, 100).log is True
    assert scale_for([0.5, 0.9], 0, 100, floor=0.0, ceiling=1.0).log is False
    wide = scale_for([0.5, 0.9], 0, 100, floor=0.0, ceiling=1.0)
    assert 0.0 <= wide.low < 0.5
    assert 0.9 < wide.high <= 1.0
