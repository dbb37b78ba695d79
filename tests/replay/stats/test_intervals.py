"""A cell's intervals: which method each case takes, and what each figure is."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from scipy import stats

from laneway.replay.stats.intervals import cell_stats, quality_interval
from laneway.replay.stats.samples import CellSamples, Samples


def _rng() -> np.random.Generator:
    return np.random.default_rng(5)


def _scores(by_line: list[list[float]]) -> Samples:
    pairs = [(line, value) for line, values in enumerate(by_line) for value in values]
    return Samples.of(pairs, len(by_line))


def test_pure_pass_fail_with_one_repeat_takes_jeffreys() -> None:
    interval = quality_interval(_scores([[1.0]] * 40 + [[0.0]] * 10), _rng())
    assert interval is not None
    assert (interval.method, interval.lines, interval.rows) == ("jeffreys", 50, 50)
    assert interval.estimate == 0.8
    assert interval.lower == pytest.approx(stats.beta.ppf(0.025, 40.5, 10.5))
    assert interval.upper == pytest.approx(stats.beta.ppf(0.975, 40.5, 10.5))


def test_a_cell_where_every_line_scored_alike_takes_the_constant_bound() -> None:
    interval = quality_interval(_scores([[1.0, 1.0, 1.0]] * 60), _rng())
    assert interval is not None
    assert interval.method == "constant-bound"
    assert interval.upper == 1.0
    assert interval.lower == pytest.approx(0.025 ** (1 / 60), abs=1e-9)  # 1 - unseen share
    assert interval.notes


def test_repeats_are_resampled_with_their_line() -> None:
    # Each line's three repeats agree: 30 lines of information, not 90. A row-by-row bootstrap
    # would be sqrt(3) narrower; resampling lines whole matches one repeat's spread.
    rng = np.random.default_rng(1)
    values = [float(value) for value in rng.random(30) < 0.7]
    tripled = quality_interval(_scores([[v, v, v] for v in values]), _rng(), resamples=4000)
    assert tripled is not None
    assert tripled.method == "cluster-bootstrap"
    assert tripled.rows == 90
    single_width = 2 * 1.96 * np.std(values) / np.sqrt(30)
    assert tripled.upper - tripled.lower == pytest.approx(single_width, rel=0.15)


def test_the_same_seed_gives_the_same_interval() -> None:
    scores = _scores([[0.5, 1.0], [0.0, 0.25], [1.0, 1.0], [0.75, 0.5]] * 10)
    first, again = quality_interval(scores, _rng()), quality_interval(scores, _rng())
    assert first == again
    assert quality_interval(_scores([]), _rng()) is None


def _cell(costs: Samples | None, unknown: int = 0) -> CellSamples:
    scores = _scores([[1.0], [0.0], [0.5], [1.0]] * 5)
    latencies = Samples.of([(line, 100.0 + 10 * line) for line in range(20)], 20)
    return CellSamples("c", scores, latencies, costs, Decimal("0.0019"), 20, unknown)


def test_cost_per_call_is_the_exact_mean_with_a_bootstrap_interval() -> None:
    costs = Samples.of([(line, 0.0001 if line % 2 else 0.00009) for line in range(20)], 20)
    found = cell_stats(_cell(costs), _rng())
    cost = found.cost_per_call
    assert cost is not None
    assert cost.estimate == Decimal("0.000095")  # 0.0019 / 20 calls, exact
    assert Decimal("0.00009") <= cost.lower <= cost.estimate <= cost.upper <= Decimal("0.0001")
    assert found.quality is not None
    assert found.quality.method == "cluster-bootstrap"


def test_an_unknown_cost_gives_no_cost_interval_and_says_so() -> None:
    found = cell_stats(_cell(None, unknown=2), _rng())
    assert found.cost_per_call is None
    assert found.notes == ("2 call(s) of unknown cost: cost per call unknown",)


def test_latency_median_and_p95_are_the_summarys_with_intervals_around_them() -> None:
    found = cell_stats(_cell(None), _rng())
    p50, p95 = found.latency_p50_ms, found.latency_p95_ms
    assert p50 is not None
    assert p95 is not None
    assert p50.estimate == 195.0  # numpy's linear percentile of 100..290, as the summary
    assert p95.estimate == pytest.approx(280.5)
    assert p50.lower <= 195.0 <= p50.upper
    assert 200.0 <= p95.upper <= 290.0
