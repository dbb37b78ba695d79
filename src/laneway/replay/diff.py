"""Two runs of the same workload compared, for `laneway replay diff RUN_A RUN_B`: per cell the
two runs have in common (matched by label), quality A and B with the paired difference B - A
over the lines both graded (the decide statistics' paired difference: Tango's bound, the
constant bound or the paired bootstrap, laneway.replay.stats.paired), cost per request and
latency p50 side by side, and the lines that flipped from pass to fail and back, with both
answers (laneway.replay.diff_lines). Cells in only one run are named, not compared.

Two runs of different workloads are refused: their workload.jsonl digests differ (the lines a
run ran, as it kept them), so no line of one is a line of the other.

The interval is two-sided at 95% for each cell on its own, not adjusted across cells: a diff
describes what changed; `laneway replay recommend` is what decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

import numpy as np

from laneway.errors import LanewayError
from laneway.replay.cell_summary import CellSummary
from laneway.replay.diff_lines import (
    JudgedRun,
    LineAnswer,
    LineKey,
    LineTally,
    line_answers,
    line_tallies,
)
from laneway.replay.run_dir import WORKLOAD, RunDir
from laneway.replay.stats.intervals import CONFIDENCE, RESAMPLES
from laneway.replay.stats.paired import paired_difference
from laneway.replay.stats.results import Interval
from laneway.replay.stats.run_samples import run_samples
from laneway.replay.stats.samples import CellSamples, RunSamples, Samples
from laneway.replay.summary import RunSummary, summarise
from laneway.replay.workload import Workload

Direction = Literal["regression", "recovery"]  # pass in A, fail in B; and the reverse
UNADJUSTED_NOTE: Final = (
    "each cell's interval is two-sided 95% on its own, not adjusted across cells: "
    "`laneway replay recommend` decides"
)


class DiffError(LanewayError):
    """Two runs that cannot be compared."""


@dataclass(frozen=True, slots=True)
class Flip:
    custom_id: str
    direction: Direction
    a: LineAnswer
    b: LineAnswer


@dataclass(frozen=True, slots=True)
class CellDiff:
    label: str
    a: CellSummary
    b: CellSummary
    change: Interval | None  # quality B - A per line; None: no line graded in both runs
    regressions: tuple[Flip, ...]  # in workload order
    recoveries: tuple[Flip, ...]

    @property
    def cost_change_usd(self) -> Decimal | None:
        """Cost per request, B - A; None when either is unknown."""
        a, b = self.a.cost.per_request_usd, self.b.cost.per_request_usd
        return None if a is None or b is None else b - a

    @property
    def latency_change_ms(self) -> float | None:
        a, b = self.a.latency.p50_ms, self.b.latency.p50_ms
        return None if a is None or b is None else b - a


@dataclass(frozen=True, slots=True)
class RunDiff:
    a: RunSummary
    b: RunSummary
    workload_sha256: str
    lines: int
    cells: tuple[CellDiff, ...]  # in run A's order
    only_in_a: tuple[str, ...]  # cell labels
    only_in_b: tuple[str, ...]
    confidence: float
    notes: tuple[str, ...]


def diff_runs(
    run_a: RunDir, run_b: RunDir, rng: np.random.Generator, *, resamples: int = RESAMPLES
) -> RunDiff:
    """Run B against run A; DiffError for runs of different workloads or no cell in common."""
    summary_a, summary_b = summarise(run_a), summarise(run_b)  # each checks its directory
    workload = Workload.load(run_a.file(WORKLOAD))
    other = Workload.load(run_b.file(WORKLOAD))
    if workload.sha256 != other.sha256:
        raise DiffError(
            f"{run_a.path} and {run_b.path} ran different workloads (their {WORKLOAD} differ): "
            "a diff pairs the same lines"
        )
    labels_b = {cell.label for cell in summary_b.cells}
    matched = [cell for cell in summary_a.cells if cell.label in labels_b]
    if not matched:
        raise DiffError(f"{run_a.path} and {run_b.path} have no cell in common")
    judged_a, judged_b = JudgedRun.open(run_a, workload), JudgedRun.open(run_b, other)
    flips = _flips(judged_a, judged_b, workload, {cell.label for cell in matched})
    samples_a, samples_b = run_samples(run_a), run_samples(run_b)
    cells_b = {cell.label: cell for cell in summary_b.cells}
    cells = tuple(
        CellDiff(
            cell.label,
            cell,
            cells_b[cell.label],
            _change(samples_a, samples_b, cell.label, rng, resamples),
            tuple(f for f in flips.get(cell.label, ()) if f.direction == "regression"),
            tuple(f for f in flips.get(cell.label, ()) if f.direction == "recovery"),
        )
        for cell in matched
    )
    labels_a = {cell.label for cell in summary_a.cells}
    return RunDiff(
        summary_a,
        summary_b,
        workload.sha256,
        workload.count,
        cells,
        tuple(cell.label for cell in summary_a.cells if cell.label not in labels_b),
        tuple(cell.label for cell in summary_b.cells if cell.label not in labels_a),
        CONFIDENCE,
        _notes(summary_a, summary_b, run_a, run_b),
    )


def _flips(
    judged_a: JudgedRun, judged_b: JudgedRun, workload: Workload, labels: set[str]
) -> dict[str, list[Flip]]:
    tallies_a, tallies_b = line_tallies(judged_a), line_tallies(judged_b)
    found: list[tuple[LineKey, Direction]] = []
    for key, tally in tallies_a.items():
        direction = _direction(tally, tallies_b.get(key))
        if key[0] in labels and direction is not None:
            found.append((key, direction))
    found.sort(key=lambda item: workload.positions.get(item[0][1], len(workload.positions)))
    wanted = {key for key, _ in found}
    answers_a = line_answers(judged_a, wanted, tallies_a)
    answers_b = line_answers(judged_b, wanted, tallies_b)
    flips: dict[str, list[Flip]] = {}
    for key, direction in found:
        flip = Flip(key[1], direction, answers_a[key], answers_b[key])
        flips.setdefault(key[0], []).append(flip)
    return flips


def _direction(a: LineTally, b: LineTally | None) -> Direction | None:
    states = (a.state, None if b is None else b.state)
    if states == ("pass", "fail"):
        return "regression"
    return "recovery" if states == ("fail", "pass") else None


def _change(
    a: RunSamples, b: RunSamples, label: str, rng: np.random.Generator, resamples: int
) -> Interval | None:
    """Quality B - A per line, run B's lines placed on run A's by custom_id."""
    index = {custom_id: n for n, custom_id in enumerate(a.line_ids)}
    for custom_id in b.line_ids:
        index.setdefault(custom_id, len(index))
    moved = np.array([index[custom_id] for custom_id in b.line_ids], dtype=np.intp)
    scores_a = Samples(_cell(a, label).scores.line, _cell(a, label).scores.value, len(index))
    scores_b = _cell(b, label).scores
    placed_b = Samples(moved[scores_b.line], scores_b.value, len(index))
    found = paired_difference(placed_b, scores_a, rng, resamples=resamples)
    if found is None:
        return None
    alpha = (1 - CONFIDENCE) / 2
    return Interval(
        found.estimate,
        found.lower(alpha),
        found.upper(alpha),
        CONFIDENCE,
        found.method,
        found.lines,
        found.rows,
    )


def _cell(samples: RunSamples, label: str) -> CellSamples:
    return next(cell for cell in samples.cells if cell.label == label)


def _notes(a: RunSummary, b: RunSummary, run_a: RunDir, run_b: RunDir) -> tuple[str, ...]:
    notes = [UNADJUSTED_NOTE]
    if a.quality_kind != b.quality_kind:
        notes.append(
            f"run A's quality is {a.quality_kind}, run B's {b.quality_kind}: "
            "their scores measure different things"
        )
    elif a.quality_kind == "agreement":
        notes.append("quality is agreement with each run's own baseline answers, not correctness")
    manifest_a, manifest_b = run_a.manifest(), run_b.manifest()
    if (manifest_a.graders, manifest_a.judges) != (manifest_b.graders, manifest_b.judges):
        notes.append("the runs were graded by different graders or judges")
    if a.emulated or b.emulated:
        notes.append("answered by laneway's emulator: its skills are emulated, not real models'")
    return tuple(notes)
