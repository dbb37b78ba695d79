"""A run's summary, from its run directory alone (laneway.replay.run_dir): per cell, calls and
failures, tokens, exact cost, quality, latency and the throughput ceiling beside what the run
achieved; for the run, what was repeated on resume, the spend and the notes a reader needs.

`summarise` streams results.jsonl, keeping per-cell totals (laneway.replay.cell_tally), and
streams workload.jsonl as it needs it (laneway.replay.line_mix): no line's body is kept. When the
workload has no expectations, quality is agreement with the baseline: a first pass keeps only the
baseline's answers by (custom_id, repeat), since a candidate's row may be written before the
baseline's row for the same line; the second pass grades as it goes.

Repeated calls come from the live outcome when there is one (`Resumption`: the runner's
RunOutcome has these fields); rebuilt from the directory, from started.jsonl: each start of a
call beyond its first was a call in flight when an earlier invocation stopped, made again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Protocol

from laneway.errors import CatalogError
from laneway.pricing.catalog import Catalog
from laneway.replay.cell_summary import CellSummary
from laneway.replay.cell_tally import CellTally
from laneway.replay.line_mix import LineMix
from laneway.replay.row_quality import QualityKind, judge, quality_kind, references
from laneway.replay.run_dir import CATALOG, WORKLOAD, RunDir, RunDirError, RunManifest
from laneway.replay.workload import Workload

EMULATOR: Final = "emulator"  # RunManifest.upstream when the emulator answered
AGREEMENT_NOTE: Final = (
    "quality is agreement with the baseline's answer (token F1), not correctness: "
    "the workload has no expectations"
)
EMULATED_NOTE: Final = (
    "answered by laneway's emulator: its skills are emulated, not real models' quality"
)


class Resumption(Protocol):
    """What only the live run knows (laneway.replay.runner.RunOutcome has it)."""

    @property
    def repeated(self) -> int: ...
    @property
    def resumed_from(self) -> int: ...
    @property
    def stopped(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    path: Path
    upstream: str
    emulated: bool  # the emulator answered: skills emulated, not real models' quality
    tier: str | None
    quality_kind: QualityKind
    cells: tuple[CellSummary, ...]  # the baseline first
    notes: tuple[str, ...]
    planned: int  # calls a complete run makes
    completed: int  # rows on disk
    repeated: int  # calls in flight when a run stopped, made again
    unfinished: int  # calls started with no row yet (in flight when it last stopped)
    resumed_from: int | None  # rows on disk when this invocation began; None when rebuilt
    stopped: str | None  # why it ended short, when known
    spent_usd: Decimal  # exact, over rows with a known cost; reused rows spent nothing
    unknown_costs: int
    judge_usd: Decimal | None = Decimal(0)  # the judges' calls, apart; None: one's unknown

    @property
    def baseline(self) -> CellSummary:
        return self.cells[0]


def summarise(run: RunDir, live: Resumption | None = None) -> RunSummary:
    manifest = run.manifest()
    workload = _workload(run)
    catalog, catalog_note = _catalog(run)
    kind = quality_kind(workload.expectations, len(manifest.graders), len(manifest.judges))
    tallies = {
        cell.label: CellTally(cell, manifest.lines * manifest.repeats, catalog=catalog)
        for cell in manifest.cells
    }
    mix = LineMix(workload, catalog)
    streamed = mix.streamed()
    answers = references(run.rows(), manifest.baseline.label) if kind == "agreement" else {}
    done: set[tuple[str, str, int]] = set()
    for row in run.rows():
        done.add(row.key)
        tally = tallies.get(row.cell)
        if tally is None:
            raise RunDirError(f"{run.path}: a row of cell {row.cell!r}, which run.json lacks")
        tally.add(row, judge(row, kind, answers), row.custom_id in streamed)
    cells, ceiling_notes = _cells(tallies, kind, mix, manifest.tier)
    repeated, unfinished = _restarts(run, done)
    if live is not None:
        repeated = live.repeated
    notes = _notes(manifest, kind, [*catalog_note, *ceiling_notes], cells, repeated)
    return RunSummary(
        run_id=manifest.run_id,
        path=run.path,
        upstream=manifest.upstream,
        emulated=manifest.upstream == EMULATOR,
        tier=manifest.tier,
        quality_kind=kind,
        cells=cells,
        notes=notes,
        planned=manifest.calls,
        completed=sum(cell.calls for cell in cells),
        repeated=repeated,
        unfinished=unfinished,
        resumed_from=None if live is None else live.resumed_from,
        stopped=None if live is None else live.stopped,
        spent_usd=sum((cell.cost.total_usd - cell.reused_usd for cell in cells), Decimal(0)),
        unknown_costs=sum(cell.cost.unknown for cell in cells),
        judge_usd=_judge_total(cells),
    )


def _judge_total(cells: tuple[CellSummary, ...]) -> Decimal | None:
    total = Decimal(0)
    for cell in cells:
        if cell.judge_usd is None:
            return None
        total += cell.judge_usd
    return total


def _workload(run: RunDir) -> Workload:
    path = run.file(WORKLOAD)
    if not path.exists():
        raise RunDirError(f"{run.path}: no {WORKLOAD}; the summary needs the lines it ran")
    return Workload.load(path)


def _catalog(run: RunDir) -> tuple[Catalog, list[str]]:
    path = run.file(CATALOG)
    if not path.exists():
        return Catalog.load(), [f"no {CATALOG} in the run: ceilings from the shipped catalog"]
    try:
        return Catalog.load(path, include_shipped=False), []
    except CatalogError as exc:
        raise RunDirError(f"{path}: damaged ({exc})") from None


def _cells(
    tallies: dict[str, CellTally], kind: QualityKind, mix: LineMix, tier: str | None
) -> tuple[tuple[CellSummary, ...], list[str]]:
    cells, notes = [], []
    for tally in tallies.values():
        ceiling, note = mix.ceiling(tally.cell, tier)
        if note is not None:
            notes.append(note)
        cells.append(tally.summary(kind, ceiling, tier))
    return tuple(cells), notes


def _restarts(run: RunDir, done: set[tuple[str, str, int]]) -> tuple[int, int]:
    """(starts of a call beyond its first; calls started with no row)."""
    starts = Counter(run.started())
    repeated = sum(count - 1 for count in starts.values())
    return repeated, sum(1 for key in starts if key not in done)


def _notes(
    manifest: RunManifest,
    kind: QualityKind,
    found: list[str],
    cells: tuple[CellSummary, ...],
    repeated: int,
) -> tuple[str, ...]:
    notes = [*manifest.notes, *found]
    if kind == "agreement":
        notes.append(AGREEMENT_NOTE)
        notes.append("the baseline is the reference: each of its answers agrees with itself")
    if manifest.upstream == EMULATOR:
        notes.append(EMULATED_NOTE)
    if manifest.tier is None:
        notes.append("no usage tier: throughput ceilings are unknown")
    for cell in cells:
        if cell.cost.unknown:
            notes.append(
                f"{cell.label}: {cell.cost.unknown} call(s) of unknown cost (not in its total; "
                "its per-request costs are unknown)"
            )
        if cell.quality.grader_errors:
            notes.append(
                f"{cell.label}: {cell.quality.grader_errors} answer(s) a grader could not grade "
                "(counted apart, never as 0)"
            )
    if repeated:
        notes.append(f"{repeated} call(s) in flight when the run stopped were made again")
    if manifest.judges:
        judged = _judge_total(cells)
        spent = "unknown (a judge call's cost is unknown)" if judged is None else f"${judged}"
        notes.append(f"judging cost {spent}, apart from the cells' own costs")
    for cell in cells:
        for name, flips in cell.judge_flips.items():
            if flips.pairs:
                notes.append(
                    f"{cell.label}: judge {name} flipped with the order shown in {flips.flips} "
                    f"of {flips.pairs} pairs ({flips.flips / flips.pairs:.0%}; its position "
                    "bias; a flip counts as a tie)"
                )
    reused = sum(cell.reused for cell in cells)
    if reused:
        notes.append(
            f"{reused} row(s) served from the call cache (--reuse): an earlier run's answer to "
            "the identical call, graded again; their cost and latency are that call's, and "
            "this run spent nothing on them"
        )
    return tuple(notes)
