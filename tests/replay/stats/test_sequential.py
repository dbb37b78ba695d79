"""Alpha-spending boundaries against published values, and the decision at a look."""

from __future__ import annotations

import numpy as np
import pytest

from laneway.replay.stats.paired import paired_difference
from laneway.replay.stats.samples import Samples
from laneway.replay.stats.sequential import boundaries, look, nominal_alphas, spent


def test_spending_spends_alpha_by_the_end_and_little_early() -> None:
    assert spent(1.0, 0.05) == pytest.approx(0.05)
    assert spent(2.0, 0.05) == pytest.approx(0.05)  # beyond the plan: nothing more
    assert spent(0.2, 0.05) < 1e-4
    assert spent(0.0, 0.05) == 0.0


def test_boundaries_match_the_published_obrien_fleming_type_values() -> None:
    # Lan-DeMets O'Brien-Fleming spending, 5 equal looks, one-sided 0.025 (as gsDesign's
    # sfLDOF gives them): 4.877, 3.357, 2.680, 2.290, 2.031.
    found = boundaries([0.2, 0.4, 0.6, 0.8, 1.0], 0.025)
    assert found == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=3e-3)
    assert boundaries([1.0], 0.05) == pytest.approx([1.6449], abs=1e-4)  # one look: plain


def test_a_look_decides_at_its_nominal_level() -> None:
    candidate = Samples.of([(line, 1.0) for line in range(400)], 400)
    baseline = Samples.of([(line, float(line % 20 != 0)) for line in range(400)], 400)
    difference = paired_difference(candidate, baseline, np.random.default_rng(1))
    assert difference is not None
    early = look(difference, [0.2], 0.02, 0.05)
    assert early.alpha == pytest.approx(nominal_alphas([0.2], 0.05)[0])
    assert early.alpha < 1e-4
    assert (early.verdict, early.settled) == ("better", True)  # 20 wins, no loss
    assert early.lower == pytest.approx(difference.lower(early.alpha))
