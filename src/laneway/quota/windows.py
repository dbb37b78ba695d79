"""Budget periods: UTC calendar days and months, and the lifetime that never resets.

A period is named by a label (`"2026-11-22"`, `"2026-11"`, `"lifetime"`) that keys its counters,
and bounded by its start and end in Unix seconds (`None` for the lifetime, which has neither).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from laneway.quota.budget import Window

LIFETIME = "lifetime"

COUNTER_GRACE_S = 7 * 86_400
"""How long a period's counters outlive the period, for settlements that arrive late."""


@dataclass(frozen=True, slots=True)
class Period:
    """One window's period: `start <= now < end`, both None for the lifetime."""

    window: Window
    label: str
    start: float | None
    end: float | None


def current(window: Window, now: float) -> Period:
    """The period of `window` that contains the Unix time `now`."""
    if window == "lifetime":
        return Period(window, LIFETIME, None, None)
    moment = datetime.fromtimestamp(now, UTC)
    if window == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        label = start.strftime("%Y-%m-%d")
        end = start + timedelta(days=1)
    elif window == "month":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        label = start.strftime("%Y-%m")
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        end = start.replace(year=year, month=month)
    else:
        raise ValueError(f"not a budget window: {window!r}")
    return Period(window, label, start.timestamp(), end.timestamp())


def period(window: Window, now: float) -> str:
    """The label of the period of `window` at `now`: "2026-11-22", "2026-11" or "lifetime"."""
    return current(window, now).label


def window_start(window: Window, now: float) -> float | None:
    """When the period of `window` at `now` began (Unix seconds); None for the lifetime."""
    return current(window, now).start


def period_end(window: Window, now: float) -> float | None:
    """When the period of `window` at `now` ends, the next one starting; None for the lifetime."""
    return current(window, now).end


class PeriodCache:
    """The current period of each window, recomputed only when `now` leaves it: admission asks
    for periods on every request, and a calendar computation costs more than the rest of it."""

    __slots__ = ("_current",)

    def __init__(self) -> None:
        # window -> (start, end, period); the lifetime spans all time.
        self._current: dict[str, tuple[float, float, Period]] = {
            "lifetime": (-math.inf, math.inf, Period("lifetime", LIFETIME, None, None))
        }

    def get(self, window: Window, now: float) -> Period:
        held = self._current.get(window)
        if held is not None and held[0] <= now < held[1]:
            return held[2]
        found = current(window, now)
        start = -math.inf if found.start is None else found.start
        end = math.inf if found.end is None else found.end
        self._current[window] = (start, end, found)
        return found
