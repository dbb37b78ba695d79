"""A run directory whose rows are read from results.jsonl once and kept, for the report: the
summary, the statistics and the report's own passes each walk the rows (the summary twice when
quality is agreement), and parsing 40,000 rows is ~0.7 s a walk. Kept, they cost memory in
proportion to the run (~60 MB more at 40,000 rows with answers of a few hundred characters,
beside the statistics' own ~275 MB peak), which a report, built once, can afford; a live run's
summary streams instead (measured: bench/bench_report.py, 5.5 s against 8.4 s streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir


@dataclass(frozen=True, slots=True)
class LoadedRun(RunDir):
    loaded: tuple[ResultRow, ...] = ()

    @classmethod
    def of(cls, run: RunDir) -> LoadedRun:
        """RunDirError for a damaged row, as `RunDir.rows` raises it."""
        return cls(run.path, tuple(run.rows()))

    def rows(self) -> Iterator[ResultRow]:
        return iter(self.loaded)
