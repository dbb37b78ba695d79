"""What the statistics take: one cell's values, one per row, each tagged with its workload line.

A line is an index into the run's lines (0 .. lines - 1, shared by every cell), so the same
line of two cells pairs by index. A line with no value (never graded, or every call failed)
simply has no entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from laneway.replay.stats.resample import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class Samples:
    line: IntArray  # per row: its line's index
    value: FloatArray  # per row
    lines: int  # the workload's lines: indices run 0 .. lines - 1

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, float]], lines: int) -> Samples:
        """From (line index, value) pairs."""
        taken = list(pairs)
        line = np.fromiter((pair[0] for pair in taken), dtype=np.intp, count=len(taken))
        value = np.fromiter((pair[1] for pair in taken), dtype=np.float64, count=len(taken))
        return cls(line, value, lines)

    @property
    def rows(self) -> int:
        return len(self.value)

    def sums(self) -> FloatArray:
        """Per line (all `lines` of them), the sum of its rows' values."""
        return np.bincount(self.line, weights=self.value, minlength=self.lines).astype(np.float64)

    def counts(self) -> FloatArray:
        """Per line, how many rows it has."""
        return np.bincount(self.line, minlength=self.lines).astype(np.float64)

    def line_means(self) -> tuple[IntArray, FloatArray, FloatArray]:
        """(the lines that have rows, their means, their row counts): repeats averaged."""
        counts = self.counts()
        present = np.flatnonzero(counts)
        return present, self.sums()[present] / counts[present], counts[present]

    def pass_fail(self) -> bool:
        """Every value is 0 or 1."""
        return bool(np.all((self.value == 0) | (self.value == 1)))

    def one_per_line(self) -> bool:
        return self.rows == len(np.unique(self.line))


@dataclass(frozen=True, slots=True)
class CellSamples:
    label: str
    scores: Samples  # each graded row's score (laneway.replay.row_quality)
    latencies_ms: Samples  # each answered row's latency
    costs_usd: Samples | None  # each call's cost (float, for resampling); None: one is unknown
    cost_total_usd: Decimal  # exact, over calls of known cost
    calls: int
    unknown_costs: int


@dataclass(frozen=True, slots=True)
class RunSamples:
    line_ids: tuple[str, ...]  # custom_id by line index
    cells: tuple[CellSamples, ...]  # the baseline first
    notes: tuple[str, ...] = ()  # what the reader of any figure should know (agreement, emulated)

    @property
    def baseline(self) -> CellSamples:
        return self.cells[0]
