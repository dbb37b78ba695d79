"""Per-attempt timeout defaults grow with reasoning effort."""

from __future__ import annotations

import pytest

from laneway.upstream.timeouts import Timeouts, default_timeouts

ORDER = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]


def test_defaults_grow_with_effort() -> None:
    limits = [default_timeouts(effort) for effort in ORDER]
    firsts = [t.first_byte_s for t in limits]
    totals = [t.total_s for t in limits]
    assert firsts == sorted(firsts)
    assert totals == sorted(totals)
    assert {t.connect_s for t in limits} == {5.0}
    # xhigh "can take 40 s and more": far more room than that, and more than none gets.
    assert default_timeouts("xhigh").first_byte_s >= 10 * 40
    assert default_timeouts("xhigh").total_s > default_timeouts("none").total_s


def test_no_effort_means_the_default_none_and_unknown_means_patient() -> None:
    assert default_timeouts(None) == default_timeouts("none")
    assert default_timeouts("ludicrous") == default_timeouts("max")


def test_streams_may_be_quiet_as_long_as_a_first_byte_may_take() -> None:
    for effort in ORDER:
        limits = default_timeouts(effort)
        assert limits.idle_s == limits.first_byte_s


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connect_s": 0, "first_byte_s": 1, "idle_s": 1, "total_s": 1}, "connect_s"),
        ({"connect_s": 1, "first_byte_s": 5, "idle_s": 1, "total_s": 2}, "total_s"),
    ],
)
def test_validation(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Timeouts(**kwargs)
