"""A run directory's rows as the statistics take them (laneway.replay.stats.samples): per cell,
each graded row's score, each answered row's latency and each call's cost, tagged with the
index of its workload line.

A row is scored exactly as the summary scores it (laneway.replay.row_quality.judge): with
expectations, the mean of its grades; without, its agreement with the baseline's answer to the
same line and repeat. An ungraded row, a grader error or a failed call has no score (failures
are counted in the summary's failure record, not as a 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from laneway.replay.costs import cost_unknown
from laneway.replay.row_quality import judge, quality_kind, references
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import WORKLOAD, RunDir, RunDirError
from laneway.replay.stats.samples import CellSamples, RunSamples, Samples
from laneway.replay.summary import AGREEMENT_NOTE, EMULATED_NOTE, EMULATOR
from laneway.replay.workload import Workload


@dataclass(slots=True)
class _Cell:
    scores: list[tuple[int, float]] = field(default_factory=list)
    latencies: list[tuple[int, float]] = field(default_factory=list)
    costs: list[tuple[int, float]] = field(default_factory=list)
    total: Decimal = Decimal(0)
    calls: int = 0
    unknown: int = 0

    def add(self, line: int, row: ResultRow, score: float | None) -> None:
        self.calls += 1
        if score is not None:
            self.scores.append((line, score))
        if row.status == "ok" and row.latency_ms is not None:
            self.latencies.append((line, row.latency_ms))
        if cost_unknown(row):
            self.unknown += 1
            return
        cost = row.cost_usd or Decimal(0)  # an error before any output cost nothing
        self.total += cost
        self.costs.append((line, float(cost)))

    def samples(self, label: str, lines: int) -> CellSamples:
        costs = None if self.unknown else Samples.of(self.costs, lines)
        return CellSamples(
            label,
            Samples.of(self.scores, lines),
            Samples.of(self.latencies, lines),
            costs,
            self.total,
            self.calls,
            self.unknown,
        )


def run_samples(run: RunDir) -> RunSamples:
    """Every cell's samples, the baseline first; RunDirError for a directory that is not a
    readable run."""
    manifest = run.manifest()
    path = run.file(WORKLOAD)
    if not path.exists():
        raise RunDirError(f"{run.path}: no {WORKLOAD}; the statistics need the lines it ran")
    workload = Workload.load(path)
    kind = quality_kind(workload.expectations, len(manifest.graders), len(manifest.judges))
    index = dict(workload.positions)
    answers = references(run.rows(), manifest.baseline.label) if kind == "agreement" else {}
    cells = {cell.label: _Cell() for cell in manifest.cells}
    for row in run.rows():
        cell = cells.get(row.cell)
        if cell is None:
            raise RunDirError(f"{run.path}: a row of cell {row.cell!r}, which run.json lacks")
        line = index.setdefault(row.custom_id, len(index))
        cell.add(line, row, judge(row, kind, answers).score)
    notes = []
    if kind == "agreement":
        notes.append(AGREEMENT_NOTE)
    if manifest.upstream == EMULATOR:
        notes.append(EMULATED_NOTE)
    ids = tuple(sorted(index, key=index.__getitem__))
    return RunSamples(
        ids, tuple(tally.samples(label, len(ids)) for label, tally in cells.items()), tuple(notes)
    )
