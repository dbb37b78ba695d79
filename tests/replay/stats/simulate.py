"""Seeded simulations with known truth, for the statistics' proofs: each function runs `runs`
simulated workloads and returns how often the method under test did what it promises."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from laneway.replay.stats.intervals import quality_interval
from laneway.replay.stats.paired import Difference, paired_difference
from laneway.replay.stats.samples import Samples
from laneway.replay.stats.sequential import look

KAPPA = 10.0  # lines' pass rates ~ beta(kappa p, kappa (1 - p)): some lines harder than others


def _rows(rates: np.ndarray, repeats: int, rng: np.random.Generator) -> Samples:
    """Pass/fail rows: line i passes each repeat with chance rates[i]."""
    lines = len(rates)
    passed = rng.random((lines, repeats)) < rates[:, None]
    return Samples(np.repeat(np.arange(lines), repeats), passed.ravel().astype(float), lines)


def _line_rates(n: int, p: float, repeats: int, rng: np.random.Generator) -> np.ndarray:
    """One repeat: every line at p (plain Bernoulli); more: lines of varying difficulty."""
    if repeats == 1:
        return np.full(n, p)
    return rng.beta(KAPPA * p, KAPPA * (1 - p), n)


def quality_coverage(
    n: int, p: float, repeats: int, runs: int, resamples: int, seed: int
) -> tuple[float, dict[str, int]]:
    """(share of 95% quality intervals holding p; how often each method was used)."""
    rng = np.random.default_rng(seed)
    held, methods = 0, dict[str, int]()
    for _ in range(runs):
        rows = _rows(_line_rates(n, p, repeats, rng), repeats, rng)
        interval = quality_interval(rows, rng, resamples=resamples)
        assert interval is not None
        held += interval.lower <= p <= interval.upper
        methods[interval.method] = methods.get(interval.method, 0) + 1
    return held / runs, methods


def _pair(
    n: int, p: float, gap: float, repeats: int, rng: np.random.Generator
) -> tuple[Samples, Samples]:
    """(candidate, baseline): the candidate's true mean is exactly p - gap; the two share each
    line's difficulty (one repeat: the same uniform draw, so their answers agree mostly)."""
    if repeats == 1:
        shared = rng.random(n)
        fresh = rng.random(n)
        mixed = np.where(rng.random(n) < 0.7, shared, fresh)
        baseline = Samples(np.arange(n), (shared < p).astype(float), n)
        candidate = Samples(np.arange(n), (mixed < p - gap).astype(float), n)
        return candidate, baseline
    rates = rng.beta(KAPPA * p, KAPPA * (1 - p), n)
    return _rows(rates * (p - gap) / p, repeats, rng), _rows(rates, repeats, rng)


def false_acceptance(
    n: int, p: float, margin: float, repeats: int, runs: int, resamples: int, seed: int
) -> tuple[float, dict[str, int]]:
    """Share of runs calling a candidate worse by exactly the margin non-inferior (one-sided
    95% lower bound above -margin), and the methods used."""
    rng = np.random.default_rng(seed)
    accepted, methods = 0, dict[str, int]()
    for _ in range(runs):
        candidate, baseline = _pair(n, p, margin, repeats, rng)
        difference = paired_difference(candidate, baseline, rng, resamples=resamples)
        assert difference is not None
        accepted += difference.lower(0.05) > -margin
        methods[difference.method] = methods.get(difference.method, 0) + 1
    return accepted / runs, methods


def _at(samples: Samples, lines: int) -> Samples:
    keep = samples.line < lines
    return Samples(samples.line[keep], samples.value[keep], lines)


def sequential_false_acceptance(
    n: int,
    p: float,
    margin: float,
    fractions: Sequence[float],
    runs: int,
    resamples: int,
    seed: int,
    *,
    naive: bool = False,
) -> float:
    """Share of runs that, looking at each fraction of n lines in turn and stopping at the
    first settled verdict, call a candidate worse by exactly the margin non-inferior or
    better. `naive`: every look at the single-look level (what spending corrects)."""
    rng = np.random.default_rng(seed)
    accepted = 0
    for _ in range(runs):
        candidate, baseline = _pair(n, p, margin, 1, rng)
        for at in range(len(fractions)):
            lines = round(fractions[at] * n)
            difference = paired_difference(
                _at(candidate, lines), _at(baseline, lines), rng, resamples=resamples
            )
            assert difference is not None
            decision = (
                _naive(difference, margin)
                if naive
                else look(difference, fractions[: at + 1], margin, 0.05).verdict
            )
            if decision in ("better", "non-inferior", "worse"):
                accepted += decision != "worse"
                break
    return accepted / runs


def _naive(difference: Difference, margin: float) -> str:
    if difference.lower(0.05) > -margin:
        return "non-inferior"
    return "worse" if difference.upper(0.05) < -margin else "inconclusive"
