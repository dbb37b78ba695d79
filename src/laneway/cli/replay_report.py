"""`laneway replay report RUN`: the run's report, rebuilt from its directory alone, as
report.html (one self-contained page: opens offline, runs no script), report.md (for a pull
request) and report.json (every figure), in the run directory or --out.

    laneway replay report RUN [--out DIR] [--margin 2] [--seed 0] [--regressions 10]
"""

from __future__ import annotations

from pathlib import Path

import click

from laneway.replay.report.build import build_report
from laneway.replay.report.files import write_report
from laneway.replay.report.regressions import SHOWN
from laneway.replay.run_dir import RunDir


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write report.html, report.md and report.json [default: the run directory].",
)
@click.option(
    "--margin",
    type=click.FloatRange(0, 100, min_open=True),
    default=2.0,
    show_default=True,
    metavar="POINTS",
    help="How far behind the baseline a cell may be and still qualify, in points (0..100).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The bootstrap's seed.")
@click.option(
    "--regressions",
    "shown",
    type=click.IntRange(0),
    default=SHOWN,
    show_default=True,
    help="Worst regressions shown per candidate, with their inputs and both answers.",
)
def report_command(run_dir: Path, out: Path | None, margin: float, seed: int, shown: int) -> None:
    """Write the run's report from its directory alone: the recommendation and its confidence,
    cost against quality with intervals and the Pareto front, the per-cell table, latency
    distributions, graders and judge bias, the worst regressions with both answers, effort
    curves, the run's own cost, and the experiment and prices it used."""
    report = build_report(RunDir(run_dir), seed=seed, margin=margin / 100, shown=shown)
    files = write_report(report, out or run_dir)
    click.echo(report.paragraph)
    click.echo(f"written: {files.html}, {files.markdown.name}, {files.json.name}")
