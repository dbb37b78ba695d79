"""The cost-vs-quality Pareto front: the cells no other cell beats on both counts (as cheap or
cheaper per 1,000 requests and as good or better, one of them strictly). A cell whose cost or
quality is unknown is on no front: it is shown apart, never placed at $0."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


def pareto_front(points: Iterable[tuple[str, Decimal | None, float | None]]) -> tuple[str, ...]:
    """The labels on the front, cheapest first, from (label, cost per 1k, quality)."""
    known = [
        (cost, -quality, label)
        for label, cost, quality in points
        if cost is not None and quality is not None
    ]
    front, best = [], float("-inf")
    for _, negated, label in sorted(known):
        if -negated > best:
            front.append(label)
            best = -negated
    return tuple(front)
