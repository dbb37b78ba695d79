"""A worker's `Counts` as bytes and back, and several workers' counts merged into one: what
`metrics_sharing` writes to a worker's snapshot file and what a scrape reads of the others'.

Plain data only, through orjson (never pickle: another process reads the file, and reading must
never run code). Each dict keyed by label tuples is a list of [labels, value] pairs; a histogram
row stays a list (bucket counts as ints, the sum a float: JSON keeps both types apart, and
orjson writes a float's shortest repr, which reads back as the same double); a cost (Decimal) is
its exact string. `load` checks every value's type and every row's length, so a file that is
not a snapshot raises `SnapshotError` rather than giving a Counts that would break the merge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import orjson

from laneway.errors import LanewayError
from laneway.telemetry.metrics_counts import Counts, Labels, Route

VERSION = 1
_SCALARS = ("ok", "input", "cache_read", "cache_write", "output", "reasoning", "unknown")
_ROWS = ("duration", "ttft", "input_usage", "output_usage")
_DURATION = len(Route().duration)  # the length of an attempts or calls row too
_DICTS = ("shadow_requests", "shadow_pico", "retries", "fallbacks")

T = TypeVar("T")


class SnapshotError(LanewayError):
    """Bytes that are not a metrics snapshot (a worker crashed while writing, or anything
    else): the scrape skips that worker's file and says so in the log."""


def dump(counts: Counts) -> bytes:
    """`counts` as a snapshot: plain data, no reference kept."""
    return orjson.dumps(
        {
            "version": VERSION,
            "routes": [(labels, _route(route)) for labels, route in counts.routes.items()],
            **{name: list(getattr(counts, name).items()) for name in _DICTS},
            "attempts": list(counts.attempts.items()),
        }
    )


def _route(route: Route) -> dict[str, Any]:
    plain: dict[str, Any] = {name: getattr(route, name) for name in (*_SCALARS, *_ROWS)}
    plain["outcomes"] = list(route.outcomes.items())
    plain["cost"] = str(route.cost)
    plain["calls"] = route.calls
    return plain


def load(data: bytes, top_keys: int = 0) -> Counts:
    """The counts a snapshot holds (their `keys` empty: a worker's key slots are its own)."""
    try:
        plain = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise SnapshotError(f"not JSON: {error}") from None
    if not isinstance(plain, dict) or plain.get("version") != VERSION:
        raise SnapshotError("not a version 1 snapshot")
    counts = Counts(top_keys)
    for labels, route in _pairs(plain, "routes", _dict):
        counts.routes[labels] = _load_route(route)
    for name in _DICTS:
        getattr(counts, name).update(_pairs(plain, name, _int))
    counts.attempts.update(_pairs(plain, "attempts", _row(_DURATION)))
    return counts


def _load_route(plain: dict[str, Any]) -> Route:
    route = Route()
    for name in _SCALARS:
        setattr(route, name, _int(plain.get(name)))
    for name in _ROWS:
        setattr(route, name, _row(len(getattr(route, name)))(plain.get(name)))
    route.outcomes.update(_pairs(plain, "outcomes", _int))
    route.cost = _decimal(plain.get("cost"))
    calls = _dict(plain.get("calls"))
    route.calls.update((str(provider), _row(_DURATION)(row)) for provider, row in calls.items())
    return route


def _pairs(
    plain: dict[str, Any], name: str, value: Callable[[object], T]
) -> Iterable[tuple[Labels, T]]:
    pairs = plain.get(name)
    if not isinstance(pairs, list):
        raise SnapshotError(f"{name}: not a list")
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise SnapshotError(f"{name}: not a [labels, value] pair")
        labels, held = pair
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise SnapshotError(f"{name}: labels that are not strings")
        yield tuple(labels), value(held)


def _decimal(value: object) -> Decimal:
    try:
        cost = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        cost = None
    if cost is None or not cost.is_finite():
        raise SnapshotError(f"a cost that is not a number: {value!r}")
    return cost


def _int(value: object) -> int:
    if type(value) is not int or value < 0:  # never a bool
        raise SnapshotError(f"a count that is not a whole number: {value!r}")
    return value


def _dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SnapshotError("a route that is not an object")
    return value


def _row(length: int) -> Callable[[object], list[float]]:
    def row(value: object) -> list[float]:
        if not isinstance(value, list) or len(value) != length:
            raise SnapshotError(f"a histogram row that is not {length} numbers")
        if not all(type(number) in (int, float) for number in value):
            raise SnapshotError("a histogram row that is not numbers")
        return value

    return row


def merge(parts: Iterable[Counts], top_keys: int = 0) -> Counts:
    """The sum of `parts`, added in their order (so float sums come out the same whoever
    merges the same parts); `parts` are left as they were."""
    merged = Counts(top_keys)
    for part in parts:
        for labels, route in part.routes.items():
            held = merged.routes.get(labels)
            if held is None:
                held = merged.routes[labels] = Route()
            _add_route(held, route)
        for name in _DICTS:
            _add_counts(getattr(merged, name), getattr(part, name))
        _add_rows(merged.attempts, part.attempts)
    return merged


def _add_route(into: Route, part: Route) -> None:
    for name in _SCALARS:
        setattr(into, name, getattr(into, name) + getattr(part, name))
    for name in _ROWS:
        _add_row(getattr(into, name), getattr(part, name))
    into.cost += part.cost
    _add_counts(into.outcomes, part.outcomes)
    _add_rows(into.calls, part.calls)


def _add_counts(into: dict[T, int], part: dict[T, int]) -> None:
    for labels, count in part.items():
        into[labels] = into.get(labels, 0) + count


def _add_rows(into: dict[T, list[float]], part: dict[T, list[float]]) -> None:
    for labels, row in part.items():
        held = into.get(labels)
        if held is None:
            into[labels] = list(row)
        else:
            _add_row(held, row)


def _add_row(into: list[float], part: list[float]) -> None:
    for i, value in enumerate(part):
        into[i] += value
