"""One pass over a run's rows for what the summary and the statistics do not keep: each cell's
latencies (for their distribution) and each (cell, line)'s score (for the worst regressions).

A row is judged exactly as the summary judges it (laneway.replay.row_quality.judge). A line's
score in a cell is the mean over its counted repeats, where a failed call counts as 0 (an answer
lost to a timeout is a regression a reader should see) and an ungraded answer or a grader error
is not counted, as `laneway replay diff` counts a line. Kept per row: a float or two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from laneway.replay.row_quality import QualityKind, judge, references
from laneway.replay.run_dir import RunDir

LineKey = tuple[str, str]  # (cell label, custom_id)


@dataclass(slots=True)
class LineScore:
    total: float = 0.0
    counted: int = 0

    @property
    def mean(self) -> float:
        return self.total / self.counted


@dataclass(slots=True)
class RowPass:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # cell -> answered calls'
    lines: dict[LineKey, LineScore] = field(default_factory=dict)


def row_pass(run: RunDir, kind: QualityKind, baseline: str, cells: list[str]) -> RowPass:
    answers = references(run.rows(), baseline) if kind == "agreement" else {}
    found = RowPass({label: [] for label in cells})
    latencies, lines = found.latencies, found.lines
    for row in run.rows():
        if row.status == "ok":
            if row.latency_ms is not None:
                latencies.setdefault(row.cell, []).append(row.latency_ms)
            score = judge(row, kind, answers).score
            if score is None:
                continue
        else:
            score = 0.0
        tally = lines.get((row.cell, row.custom_id))
        if tally is None:
            tally = lines[(row.cell, row.custom_id)] = LineScore()
        tally.total += score
        tally.counted += 1
    return found
