"""`laneway replay diff RUN_A RUN_B`: two runs of the same workload compared per cell and per
line (laneway.replay.diff), as text, Markdown or JSON, and as an HTML page (--html).

    laneway replay diff RUN_A RUN_B [--markdown | --json] [--flips 10] [--seed 0] [--html OUT]
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from laneway.cli.errors import CliError
from laneway.cli.output import print_json
from laneway.replay.diff import diff_runs
from laneway.replay.diff_json import diff_value
from laneway.replay.diff_text import FLIPS_SHOWN, diff_markdown, diff_text
from laneway.replay.report.diff_html import diff_html
from laneway.replay.report.files import replace
from laneway.replay.run_dir import RunDir

_run_type = click.Path(path_type=Path, file_okay=False, exists=True)


@click.command("diff")
@click.argument("run_a", type=_run_type)
@click.argument("run_b", type=_run_type)
@click.option("--markdown", is_flag=True, help="Print Markdown (for a pull request).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (money as decimal strings).")
@click.option(
    "--flips",
    type=click.IntRange(0),
    default=FLIPS_SHOWN,
    show_default=True,
    help="Flipped lines listed per cell and direction in text and Markdown (JSON has all).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The bootstrap's seed.")
@click.option(
    "--html",
    "html_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the diff as one self-contained page (charts, both answers) to this file.",
)
def diff_command(
    run_a: Path,
    run_b: Path,
    markdown: bool,
    as_json: bool,
    flips: int,
    seed: int,
    html_out: Path | None,
) -> None:
    """Compare run B with run A, two runs of the same workload: per cell in both, quality A
    and B with the paired difference B - A (two-sided 95%), cost per request and latency p50;
    the lines that passed in A and failed in B, and the reverse, with both answers. Cells in
    only one run are named."""
    if markdown and as_json:
        raise CliError("--markdown and --json: choose one")
    found = diff_runs(RunDir(run_a), RunDir(run_b), np.random.default_rng(seed))
    if html_out is not None:
        replace(html_out, diff_html(found, flips).encode())
    if as_json:
        print_json(diff_value(found))
    elif markdown:
        click.echo(diff_markdown(found, flips), nl=False)
    else:
        click.echo(diff_text(found, flips))
    if html_out is not None:
        click.echo(f"written: {html_out}", err=as_json or markdown)
