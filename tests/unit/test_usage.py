"""The Usage type's invariants: cached is part of input, reasoning part of output."""

from __future__ import annotations

import pytest

from laneway.errors import UsageError
from laneway.usage import ZERO_USAGE, Usage


def test_derived_counts() -> None:
    usage = Usage(
        input_tokens=1000, output_tokens=300, cached_input_tokens=256, reasoning_tokens=200
    )
    assert usage.uncached_input_tokens == 744
    assert usage.total_tokens == 1300


def test_addition_sums_every_part() -> None:
    a = Usage(10, 5, cached_input_tokens=2, cache_write_tokens=3, reasoning_tokens=1)
    b = Usage(20, 7, cached_input_tokens=4, cache_write_tokens=6, reasoning_tokens=2)
    assert a + b == Usage(30, 12, cached_input_tokens=6, cache_write_tokens=9, reasoning_tokens=3)
    assert a + ZERO_USAGE == a


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_tokens": -1, "output_tokens": 0}, "input_tokens must not be negative"),
        ({"input_tokens": 0, "output_tokens": -5}, "output_tokens must not be negative"),
        ({"input_tokens": 10, "output_tokens": 0, "cached_input_tokens": 11}, "exceed input"),
        ({"input_tokens": 0, "output_tokens": 10, "reasoning_tokens": 11}, "exceed output"),
        (
            {
                "input_tokens": 10,
                "output_tokens": 0,
                "cached_input_tokens": 8,
                "cache_write_tokens": 3,
            },
            "exceed the uncached input",
        ),
        ({"input_tokens": True, "output_tokens": 0}, "must be an integer"),
        ({"input_tokens": 1.0, "output_tokens": 0}, "must be an integer"),
    ],
)
def test_impossible_usage_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Usage(**kwargs)  # type: ignore[arg-type]
