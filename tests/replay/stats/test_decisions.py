"""Verdicts from bounds, Holm's step-down and the lines an open verdict needs, by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from scipy import special

from laneway.replay.stats.bounds import p_value
from laneway.replay.stats.multiplicity import holm_alphas
from laneway.replay.stats.power import more_lines
from laneway.replay.stats.verdicts import verdict


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [
        (0.001, 0.05, "better"),  # better implies non-inferior: the strongest is reported
        (-0.019, 0.05, "non-inferior"),
        (-0.02, 0.05, "inconclusive"),  # on the margin is not above it
        (-0.08, -0.021, "worse"),
        (-0.08, -0.02, "inconclusive"),
    ],
)
def test_verdicts(lower: float, upper: float, expected: str) -> None:
    assert verdict(lower, upper, 0.02) == expected


@dataclass(frozen=True)
class _Normal:
    """Bounds of a normal estimate with standard error 0.01."""

    estimate: float

    def lower(self, alpha: float) -> float:
        return self.estimate - float(special.ndtri(1 - alpha)) * 0.01

    def upper(self, alpha: float) -> float:
        return 2 * self.estimate - self.lower(alpha)


def test_p_value_is_the_level_at_which_the_bound_clears_the_margin() -> None:
    # estimate 0, se 0.01, margin 0.02: z = 2, one-sided p = 1 - Phi(2) = 0.02275.
    assert p_value(_Normal(0.0), -0.02) == pytest.approx(0.02275, rel=1e-3)


def test_holm_steps_down_and_stops_at_the_first_failure() -> None:
    # p-values: 0.0000 (z=5), 0.0228 (z=2), 0.0062 (z=2.5), 0.1587 (z=1).
    tests = [_Normal(0.03), _Normal(0.0), _Normal(0.005), _Normal(-0.01)]
    alphas, p_values = holm_alphas(tests, 0.02, 0.05)
    assert alphas[0] == pytest.approx(0.05 / 4)  # ranked first
    assert alphas[2] == pytest.approx(0.05 / 3)  # second: 0.0062 < 0.0167, rejected
    assert alphas[1] == pytest.approx(0.05 / 2)  # third: 0.0228 < 0.025, rejected
    assert alphas[3] == pytest.approx(0.05)  # last: 0.159 > 0.05, fails
    assert p_values[1] == pytest.approx(0.02275, rel=1e-3)


def test_after_holm_stops_every_later_cell_keeps_the_failed_level() -> None:
    # The first-ranked p (0.0228) is not below 0.05 / 3: it fails, and the two after it are
    # not tested at the looser 0.025 and 0.05; all three keep 0.0167.
    tests = [_Normal(0.0), _Normal(0.0), _Normal(-0.01)]
    alphas, _ = holm_alphas(tests, 0.02, 0.05)
    assert alphas == pytest.approx([0.05 / 3] * 3)
    failed = [at for at in range(3) if not tests[at].lower(alphas[at]) > -0.02]
    assert len(failed) == 3


def test_more_lines_by_the_normal_approximation() -> None:
    # d = 0, s = 0.3, m = 0.02: n = ((1.645 + 0.842) * 0.3 / 0.02)^2 = 1391.
    found = more_lines(0.0, 0.3, 500, 0.02, 0.05)
    needed = math.ceil(((1.6448536 + 0.8416212) * 0.3 / 0.02) ** 2)
    assert (found.lines, found.toward) == (needed - 500, "non-inferior")
    assert more_lines(-0.05, 0.3, 500, 0.02, 0.05).toward == "worse"
    assert more_lines(-0.02, 0.3, 500, 0.02, 0.05).lines is None
    assert more_lines(0.0, 0.0, 500, 0.02, 0.05).lines is None
