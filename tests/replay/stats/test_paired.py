"""Paired differences: lines paired by index, repeats averaged first, and the method taken."""

from __future__ import annotations

import numpy as np
import pytest

from laneway.replay.stats.binomial import tango_lower
from laneway.replay.stats.paired import line_differences, paired_difference
from laneway.replay.stats.samples import Samples


def _rng() -> np.random.Generator:
    return np.random.default_rng(9)


def test_repeats_are_averaged_per_line_and_only_shared_lines_count() -> None:
    candidate = Samples.of([(0, 1.0), (0, 0.0), (1, 1.0), (2, 1.0)], 4)
    baseline = Samples.of([(0, 1.0), (1, 0.5), (1, 0.5), (3, 1.0)], 4)
    diffs, rows = line_differences(candidate, baseline)
    assert diffs.tolist() == [-0.5, 0.5]  # lines 0 and 1; line 2 and 3 have one side only
    assert rows == 6


def test_pass_fail_with_one_repeat_takes_tango() -> None:
    candidate = Samples.of([(line, float(line % 10 != 0)) for line in range(100)], 100)
    baseline = Samples.of([(line, float(line % 10 != 1)) for line in range(100)], 100)
    found = paired_difference(candidate, baseline, _rng())
    assert found is not None
    assert (found.method, found.lines, found.estimate) == ("tango", 100, 0.0)
    assert found.lower(0.05) == pytest.approx(tango_lower(10, 10, 100, 0.05))


def test_every_pair_agreeing_with_repeats_takes_the_constant_bound() -> None:
    same = Samples.of([(line, 0.5) for line in range(200) for _ in range(2)], 200)
    found = paired_difference(same, same, _rng())
    assert found is not None
    assert found.method == "constant-bound"
    bound = 1 - 0.05 ** (1 / 200)  # the share of lines that could differ, each by 1 at most
    assert found.lower(0.05) == pytest.approx(-bound)
    assert found.upper(0.05) == pytest.approx(bound)


def test_partial_credit_takes_the_paired_bootstrap_reproducibly() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(300)
    baseline = Samples(np.arange(300), base, 300)
    candidate = Samples(np.arange(300), np.clip(base + rng.normal(0.05, 0.1, 300), 0, 1), 300)
    found = paired_difference(candidate, baseline, _rng())
    again = paired_difference(candidate, baseline, _rng())
    assert found is not None
    assert again is not None
    assert found.method == "paired-bootstrap"
    assert found.lower(0.05) == again.lower(0.05)
    assert found.lower(0.05) < found.estimate < found.upper(0.05)
    normal = 1.645 * found.spread / np.sqrt(300)
    assert found.estimate - found.lower(0.05) == pytest.approx(normal, rel=0.15)
    # Beyond the replicates' reach, the bound is the normal one with their spread.
    assert found.lower(1e-6) < found.lower(0.001) < found.lower(0.05)


def test_no_shared_line_gives_no_difference() -> None:
    assert paired_difference(Samples.of([(0, 1.0)], 2), Samples.of([(1, 1.0)], 2), _rng()) is None
