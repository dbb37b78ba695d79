"""The bootstrap's resamples, vectorised: each resample draws n workload lines with replacement,
and a line drawn twice counts twice with all its repeats (a cluster bootstrap: a line's repeats
share its difficulty, so resampling rows one by one would pretend they are independent and make
intervals too narrow).

A resample is a row of a weight matrix: how many times each line was drawn. Rows come in
chunks so 2,000 resamples of 10,000 lines never hold more than CHUNK x n numbers at once;
weighted sums are then matrix products, and weighted quantiles one cumulative sum per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
CHUNK = 250  # resamples per weight matrix
Statistic = Callable[[FloatArray], FloatArray]  # a chunk of weights -> its replicates


def line_weights(lines: int, resamples: int, rng: np.random.Generator) -> Iterator[FloatArray]:
    """Chunks of the (resamples x lines) matrix of draw counts, in order; each row sums to
    `lines`. Drawn as index matrices (int32: half the time of int64) and counted with one
    bincount per chunk."""
    done = 0
    while done < resamples:
        size = min(CHUNK, resamples - done)
        drawn = rng.integers(0, lines, size=(size, lines), dtype=np.int32)
        drawn += (np.arange(size, dtype=np.int32) * lines)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=size * lines)
        yield counts.reshape(size, lines).astype(np.float64)
        done += size


def replicate(
    lines: int, resamples: int, rng: np.random.Generator, statistics: Sequence[Statistic]
) -> list[FloatArray]:
    """Each statistic's replicates (one row per resample), all from the same resamples of
    `lines` lines, so one draw serves every figure of a cell."""
    found: list[list[FloatArray]] = [[] for _ in statistics]
    for weights in line_weights(lines, resamples, rng):
        for out, statistic in zip(found, statistics, strict=True):
            out.append(statistic(weights))
    return [np.concatenate(parts) for parts in found]


def ratio(sums: FloatArray, counts: FloatArray) -> Statistic:
    """sum(drawn lines' sums) / sum(drawn lines' counts): the mean over rows with lines drawn
    whole. A resample that drew no rows at all gives NaN."""

    def statistic(weights: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            # einsum: faster than BLAS matvec here, and never oversubscribes the cores
            top = np.einsum("ij,j->i", weights, sums)
            return np.asarray(top / np.einsum("ij,j->i", weights, counts))

    return statistic


def quantiles(values: FloatArray, line_of: IntArray, points: Sequence[float]) -> Statistic:
    """The `points` quantiles (inverted empirical CDF) of `values` (one per row, row i in line
    `line_of[i]`) with lines drawn whole: a (resamples x points) block per chunk."""
    order = np.argsort(values, kind="stable")
    ranked, ranked_line = values[order], line_of[order]
    wanted = np.asarray(points)

    def statistic(weights: FloatArray) -> FloatArray:
        cumulative = np.cumsum(weights[:, ranked_line], axis=1)
        found = np.empty((len(weights), len(wanted)))
        for at, q in enumerate(wanted):
            target = q * cumulative[:, -1]
            position = (cumulative < target[:, None]).sum(axis=1)
            found[:, at] = ranked[np.minimum(position, len(ranked) - 1)]
        return found

    return statistic


def resampled_means(
    sums: FloatArray, counts: FloatArray, resamples: int, rng: np.random.Generator
) -> FloatArray:
    """The replicates of `ratio(sums, counts)` alone."""
    return replicate(len(sums), resamples, rng, [ratio(sums, counts)])[0]
