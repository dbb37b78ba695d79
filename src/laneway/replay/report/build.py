"""Building a run's report from its run directory alone: the summary (laneway.replay.summary),
the statistics and the recommendation (laneway.replay.stats, laneway.replay.recommend), computed
once each, and one pass of the report's own over the rows (laneway.replay.report.row_pass).

    report = build_report(RunDir(path))          # seed 0, margin 2 points: as recommend's
    write_report(report, path)                   # laneway.replay.report.files

No ledger is read: the lane's live traffic, and so a saving per day, is left out (`laneway
replay recommend RUN --config ...` adds it).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from laneway.replay.experiment import AS_WRITTEN
from laneway.replay.recommend import CellOption, recommend
from laneway.replay.report.efforts import effort_curves
from laneway.replay.report.frontier import pareto_front
from laneway.replay.report.latency import latency_spread
from laneway.replay.report.loaded_run import LoadedRun
from laneway.replay.report.model import Report, ReportCell, RunFacts, RunSpend
from laneway.replay.report.paragraph import paragraph
from laneway.replay.report.prices import run_prices
from laneway.replay.report.regressions import SHOWN, worst_regressions
from laneway.replay.report.row_pass import row_pass
from laneway.replay.run_dir import EXPERIMENT, RunDir, RunManifest
from laneway.replay.run_lane import run_lane
from laneway.replay.stats.analysis import analyse
from laneway.replay.stats.run_samples import run_samples
from laneway.replay.stats.verdicts import MARGIN
from laneway.replay.summary import RunSummary, summarise

NO_LEDGER_NOTE = (
    "built from the run directory alone: the lane's live traffic, and so a saving per day, is "
    "left out (laneway replay recommend RUN --config ... adds it)"
)


def build_report(
    run: RunDir, *, seed: int = 0, margin: float = MARGIN, shown: int = SHOWN
) -> Report:
    """RunDirError for a directory that is not a readable run."""
    manifest = run.manifest()
    run = LoadedRun.of(run)
    summary = summarise(run)
    stats = analyse(run_samples(run), np.random.default_rng(seed), margin=margin)
    lane = run_lane(run, manifest)
    found = recommend(stats, summary, lane, None)
    options = {option.label: option for option in (found.baseline, *found.options)}
    by_label = {cell.label: cell for cell in stats.cells}
    front = pareto_front((c.label, c.cost.per_1k_usd, c.quality.mean) for c in summary.cells)
    cells = tuple(
        ReportCell(
            cell,
            by_label[cell.label],
            options[cell.label],
            _picked(found.pick, cell.label),
            cell.label in front,
        )
        for cell in summary.cells
    )
    labels = [cell.label for cell in summary.cells]
    rows = row_pass(run, summary.quality_kind, labels[0], labels)
    candidates = [found.pick.label] if found.pick is not None else labels[1:]
    models = [cell.model for cell in summary.cells if cell.model != AS_WRITTEN]
    prices, price_note = run_prices(run, [*([lane.line_model] if lane.line_model else []), *models])
    notes = [*found.notes, *stats.notes, NO_LEDGER_NOTE, *([price_note] if price_note else [])]
    return Report(
        run=_facts(manifest, summary),
        recommendation=found,
        paragraph=paragraph(found),
        cells=cells,
        front=front,
        latencies=tuple(latency_spread(label, rows.latencies.get(label, [])) for label in labels),
        regressions=worst_regressions(run, rows.lines, labels[0], candidates, shown),
        efforts=effort_curves(cells),
        spend=_spend(summary),
        experiment_toml=_experiment(run),
        prices=prices,
        seed=seed,
        notes=tuple(dict.fromkeys(notes)),
    )


def _picked(pick: CellOption | None, label: str) -> bool:
    return pick is not None and pick.label == label


def _facts(manifest: RunManifest, summary: RunSummary) -> RunFacts:
    return RunFacts(
        run_id=manifest.run_id,
        created_at=manifest.created_at,
        upstream=manifest.upstream,
        emulated=summary.emulated,
        tier=manifest.tier,
        quality_kind=summary.quality_kind,
        lines=manifest.lines,
        repeats=manifest.repeats,
        planned=summary.planned,
        completed=summary.completed,
        workloads=manifest.workloads,
    )


def _spend(summary: RunSummary) -> RunSpend:
    return RunSpend(
        spent_usd=summary.spent_usd,
        unknown_costs=summary.unknown_costs,
        judge_usd=summary.judge_usd,
        reused=sum(cell.reused for cell in summary.cells),
        reused_usd=sum((cell.reused_usd for cell in summary.cells), Decimal(0)),
    )


def _experiment(run: RunDir) -> str | None:
    path = run.file(EXPERIMENT)
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
