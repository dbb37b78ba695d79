"""The per-cell table `laneway replay` prints at the end of a run (and `replay summary` again):
cost, quality with its grader, latency, failures and the throughput ceiling beside what the run
achieved; then the notes a reader must see (agreement is not correctness, emulated skills)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from laneway.replay import summary_text as text
from laneway.replay.cell_summary import CellSummary
from laneway.replay.summary import RunSummary

_NAMED_GRADERS = 2  # more are counted in the table and named below it


def cells_table(summary: RunSummary) -> Table:
    table = Table(title=_title(summary), title_justify="left")
    table.add_column("cell")
    table.add_column("calls", justify="right")
    table.add_column("agreement" if summary.quality_kind == "agreement" else "quality (grader)")
    table.add_column("passing", justify="right")
    table.add_column("cost / 1k", justify="right")
    table.add_column("cost / pass", justify="right")
    table.add_column("p50 / p95", justify="right")
    table.add_column("failures")
    table.add_column("ceiling (bound by)", justify="right")
    table.add_column("achieved", justify="right")
    for cell in summary.cells:
        table.add_row(*_row(cell))
    return table


def print_summary(console: Console, summary: RunSummary) -> None:
    console.print(cells_table(summary))
    named = {g.grader: None for cell in summary.cells for g in cell.quality.graders}
    if len(named) > _NAMED_GRADERS:
        console.print(
            f"graders: {', '.join(named)} (each one's figures: results.json)", markup=False
        )
    for note in summary.notes:
        console.print(f"note: {note}", markup=False)
    console.print(f"written: {summary.path}/results.json, summary.md", markup=False)


def _title(summary: RunSummary) -> str:
    spent = text.money(summary.spent_usd)
    if summary.unknown_costs:
        spent += f" + {summary.unknown_costs} unknown"
    title = (
        f"replay {summary.run_id}: {summary.completed}/{summary.planned} calls on "
        f"{summary.upstream}, tier {summary.tier or 'unknown'}, spent {spent}"
    )
    if summary.stopped:
        title += f" (stopped: {summary.stopped})"
    return title


def _row(cell: CellSummary) -> list[str]:
    latency = cell.latency
    return [
        cell.label + (" (baseline)" if cell.baseline else ""),
        f"{cell.calls}/{cell.planned}",
        text.quality(cell, names_up_to=_NAMED_GRADERS),
        text.passing(cell),
        text.money(cell.cost.per_1k_usd),
        text.money(cell.cost.per_pass_usd) if cell.quality.passing else "-",
        f"{text.ms(latency.p50_ms)} / {text.ms(latency.p95_ms)}",
        text.failures(cell),
        text.ceiling(cell),
        text.achieved(cell),
    ]
