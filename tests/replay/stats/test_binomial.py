"""Exact and score bounds against figures worked by hand or published."""

from __future__ import annotations

import math

import pytest
from scipy import special

from laneway.replay.stats import binomial
from laneway.replay.stats.bounds import TangoBounds, p_value

Z95 = 1.6448536269514722  # one-sided 95%
Z90 = 1.2815515655446004  # one-sided 90%


def test_jeffreys_matches_its_beta_quantiles_and_keeps_the_ends() -> None:
    # beta(5.5, 5.5) is symmetric: its 2.5% and 97.5% quantiles are 0.2235 and 0.7765.
    assert binomial.jeffreys_lower(5, 10, 0.025) == pytest.approx(0.2235, abs=1e-4)
    assert binomial.jeffreys_upper(5, 10, 0.025) == pytest.approx(0.7765, abs=1e-4)
    assert binomial.jeffreys_lower(0, 10, 0.025) == 0.0
    assert binomial.jeffreys_upper(10, 10, 0.025) == 1.0
    assert 0.7 < binomial.jeffreys_lower(10, 10, 0.025) < 1.0


def test_unseen_share_is_clopper_pearsons_bound_for_zero_of_n() -> None:
    assert binomial.unseen_share(50, 0.05) == pytest.approx(1 - 0.05**0.02)
    assert binomial.unseen_share(300, 0.05) == pytest.approx(0.00994, abs=1e-5)  # "rule of 3"


def test_tango_when_every_pair_agrees_is_wilsons_bound_at_zero() -> None:
    # No discordant line: the score bound solves d / (1 - d) = z^2 / n, so d = z^2 / (n + z^2).
    expected = Z95**2 / (100 + Z95**2)
    assert binomial.tango_lower(0, 0, 100, 0.05) == pytest.approx(-expected, abs=1e-9)
    assert binomial.tango_upper(0, 0, 100, 0.05) == pytest.approx(expected, abs=1e-9)


def test_tango_statistic_by_hand() -> None:
    # 10 wins, 4 losses of 100, H0 delta = 0: q = (14 + 14) / 400 = 0.07, var = 100 * 0.14.
    assert binomial.tango_z(10, 4, 100, 0.0) == pytest.approx(6 / math.sqrt(14))
    lower = binomial.tango_lower(10, 4, 100, 0.05)
    assert binomial.tango_z(10, 4, 100, lower) == pytest.approx(Z95, abs=1e-6)
    assert lower < 0.06 < binomial.tango_upper(10, 4, 100, 0.05)


def test_tango_bounds_stay_within_minus_one_and_one() -> None:
    assert binomial.tango_lower(0, 20, 20, 0.05) == -1.0
    assert binomial.tango_upper(20, 0, 20, 0.05) == 1.0


def test_tango_bounds_at_any_level_cross_the_estimate_for_levels_past_a_half() -> None:
    # A p-value's search asks for bounds at alphas near 1: the lower bound then lies above the
    # estimate (62 wins, 90 losses of 300: the demo run that found this).
    estimate = (62 - 90) / 300
    for alpha in (0.05, 0.5, 0.9, 0.999999999):
        lower = binomial.tango_lower(62, 90, 300, alpha)
        crossing = float(special.ndtri(1 - alpha))
        assert binomial.tango_z(62, 90, 300, lower) == pytest.approx(crossing, abs=1e-6)
        assert (lower < estimate) == (alpha < 0.5)
    assert binomial.tango_lower(62, 90, 300, 0.5) == pytest.approx(estimate, abs=1e-9)
    assert binomial.tango_upper(62, 90, 300, 0.999999999) < estimate


def test_tango_bound_above_one_half_lies_above_the_estimate() -> None:
    # A p-value's search asks for bounds at alpha near 1, where z < 0: the root is above the
    # estimate (this raised from brentq before), and the statistic equals z there.
    lower = binomial.tango_lower(10, 40, 300, 0.9)
    assert lower > -30 / 300
    assert binomial.tango_z(10, 40, 300, lower) == pytest.approx(-Z90, abs=1e-6)
    assert 0 < p_value(TangoBounds(10, 40, 300), -0.02) < 1
    # No discordant pair: the score is undefined at the estimate itself.
    assert binomial.tango_lower(0, 0, 300, 0.9) == pytest.approx(
        -binomial.tango_lower(0, 0, 300, 0.1)
    )
    assert 0 < p_value(TangoBounds(0, 0, 300), -0.02) < 0.05
