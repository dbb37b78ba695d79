"""Budget periods are UTC calendar days and months; the lifetime never ends."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from laneway.quota.budget import WINDOWS
from laneway.quota.windows import PeriodCache, current, period, period_end, window_start


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("moment", "day", "month"),
    [
        ("2026-11-22T00:00:00", "2026-11-22", "2026-11"),
        ("2026-11-22T23:59:59.999999", "2026-11-22", "2026-11"),
        ("2026-11-23T00:00:00", "2026-11-23", "2026-11"),
        ("2026-12-31T23:59:59", "2026-12-31", "2026-12"),
        ("2027-01-01T00:00:00", "2027-01-01", "2027-01"),
        ("2028-02-29T12:00:00", "2028-02-29", "2028-02"),
    ],
)
def test_labels(moment: str, day: str, month: str) -> None:
    now = ts(moment)
    assert period("day", now) == day
    assert period("month", now) == month
    assert period("lifetime", now) == "lifetime"


def test_bounds_are_utc_midnights_and_month_starts() -> None:
    now = ts("2026-12-31T18:30:00")
    assert window_start("day", now) == ts("2026-12-31T00:00:00")
    assert period_end("day", now) == ts("2027-01-01T00:00:00")
    assert window_start("month", now) == ts("2026-12-01T00:00:00")
    assert period_end("month", now) == ts("2027-01-01T00:00:00")
    assert period_end("month", ts("2028-02-10T00:00:00")) == ts("2028-03-01T00:00:00")
    assert window_start("lifetime", now) is None
    assert period_end("lifetime", now) is None


def test_a_period_ends_where_the_next_begins() -> None:
    now = ts("2026-11-22T05:00:00")
    for window in ("day", "month"):
        end = period_end(window, now)
        assert end is not None
        assert period(window, end) != period(window, now)
        assert period(window, end - 1e-6) == period(window, now)
        assert window_start(window, end) == end


def test_the_cache_agrees_with_the_calendar() -> None:
    cache = PeriodCache()
    rng = random.Random(7)
    now = ts("2026-01-30T00:00:00")
    for _ in range(3000):  # forward and back, across days, months and a year end
        now += rng.choice([-86_400.0, -1.0, 0.0, 1e-3, 3_599.0, 86_399.999, 86_400.0, 2e6])
        for window in WINDOWS:
            assert cache.get(window, now) == current(window, now)
