"""A whole run's statistics: each cell's own figures, then every candidate against the baseline
with Holm-adjusted bounds, its verdict and, when inconclusive, how many more lines would likely
settle it.

    stats = analyse(run_samples(RunDir(path)), np.random.default_rng(7))
    for comparison in stats.comparisons: comparison.verdict, comparison.lower, ...

The generator is the only randomness: the same samples and seed give the same figures.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from laneway.replay.stats.intervals import CONFIDENCE, RESAMPLES, cell_stats
from laneway.replay.stats.multiplicity import holm_alphas
from laneway.replay.stats.paired import Difference, paired_difference
from laneway.replay.stats.power import more_lines
from laneway.replay.stats.results import Comparison, RunStats
from laneway.replay.stats.samples import RunSamples
from laneway.replay.stats.verdicts import MARGIN, verdict

ALPHA: Final = 0.05  # one-sided, for the whole family of candidates


def analyse(
    samples: RunSamples,
    rng: np.random.Generator,
    *,
    margin: float = MARGIN,
    alpha: float = ALPHA,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> RunStats:
    cells = tuple(
        cell_stats(cell, rng, resamples=resamples, confidence=confidence) for cell in samples.cells
    )
    baseline = samples.baseline
    candidates = samples.cells[1:]
    found = [
        paired_difference(cell.scores, baseline.scores, rng, resamples=resamples)
        for cell in candidates
    ]
    tested = [difference for difference in found if difference is not None]
    alphas, p_values = holm_alphas([d.bounds for d in tested], margin, alpha)
    levels = iter(zip(alphas, p_values, strict=True))
    comparisons = []
    for cell, difference in zip(candidates, found, strict=True):
        if difference is None:
            comparisons.append(_untested(cell.label, baseline.label, margin, alpha))
            continue
        level, p = next(levels)
        comparisons.append(compare(cell.label, baseline.label, difference, margin, level, p))
    return RunStats(cells, tuple(comparisons), alpha, resamples, samples.notes)


def compare(
    label: str,
    baseline: str,
    difference: Difference,
    margin: float,
    alpha: float,
    p_value: float,
) -> Comparison:
    """The comparison with both bounds at one-sided level 1 - alpha."""
    lower, upper = difference.lower(alpha), difference.upper(alpha)
    found = verdict(lower, upper, margin)
    more = None
    if found == "inconclusive":
        more = more_lines(difference.estimate, difference.spread, difference.lines, margin, alpha)
    notes: tuple[str, ...] = ()
    if difference.method == "constant-bound":
        notes = ("every line's difference alike: bounded by the share of lines that could differ",)
    return Comparison(
        label,
        baseline,
        difference.estimate,
        lower,
        upper,
        1 - alpha,
        difference.method,
        margin,
        found,
        p_value,
        difference.lines,
        difference.rows,
        more,
        notes,
    )


def _untested(label: str, baseline: str, margin: float, alpha: float) -> Comparison:
    return Comparison(
        label,
        baseline,
        float("nan"),
        -1.0,
        1.0,
        1 - alpha,
        "paired-bootstrap",
        margin,
        "inconclusive",
        1.0,
        0,
        0,
        None,
        ("no line has a graded answer from both this cell and the baseline",),
    )
