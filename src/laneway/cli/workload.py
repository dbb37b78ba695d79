"""`laneway workload`: workloads from captured traffic (export, purge) and tools for workload
files (stats, sample, split). Thin: the work is laneway.workloads'."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stdout_console
from laneway.cli.time_range import parse_moment
from laneway.workloads.export import write_export
from laneway.workloads.lines import read_lines, write_lines
from laneway.workloads.sample import sample, split
from laneway.workloads.stats import Distribution, workload_stats

_DAY_S = 86_400
_FILE = click.Path(path_type=Path, dir_okay=False)


@click.group("workload")
def workload_command() -> None:
    """Workloads from live traffic, and tools for workload files (docs/capture.md)."""


@workload_command.command("export")
@config_option
@click.option("--lane", default=None, help="Only this lane's captures (default: every one).")
@click.option("--since", default=None, help="From this time: 2026-11-01, 2026-11-01T12:00, 24h.")
@click.option("--until", default=None, help="Up to this time (not included).")
@click.option("--out", type=_FILE, default=None, help="Write here (default: standard output).")
def export_command(
    config_path: Path | None,
    lane: str | None,
    since: str | None,
    until: str | None,
    out: Path | None,
) -> None:
    """Write captured requests as a Batch JSONL workload, oldest first: each line's body as
    redaction left it, naming the model that answered, and its captured answer under the
    `laneway` key (never sent by replay)."""
    now = time.time()
    low = parse_moment(since, "--since", now) if since else None
    high = parse_moment(until, "--until", now) if until else None
    with assembly_of(config_path) as parts:
        store = parts.open_captures()
        try:
            rows = store.rows(lane, low, high)
            if out is None:
                count = write_export(rows, sys.stdout.buffer)
            else:
                try:
                    with out.open("wb") as file:
                        count = write_export(rows, file)
                except OSError as exc:
                    raise CliError(f"{out}: cannot write it ({exc.strerror})") from None
        finally:
            store.close()
    click.echo(f"{count} line(s) exported", err=True)


@workload_command.command("purge")
@config_option
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=None,
    help="Delete captures older than this many days (default: the config's retention_days).",
)
def purge_command(config_path: Path | None, older_than: float | None) -> None:
    """Delete captured requests past the retention period (the gateway does this hourly)."""
    with assembly_of(config_path) as parts:
        days = parts.config.capture.retention_days if older_than is None else older_than
        store = parts.open_captures()
        try:
            purged = store.purge(time.time() - days * _DAY_S)
        finally:
            store.close()
    click.echo(f"{purged} capture(s) older than {days:g} day(s) deleted")


@workload_command.command("stats")
@click.argument("file", type=_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats_command(file: Path, as_json: bool) -> None:
    """Lines by endpoint, model, effort and lane; input tokens and output caps."""
    stats = workload_stats(read_lines(file))
    if as_json:
        print_json(stats.as_json())
        return
    console = stdout_console()
    console.print(f"{stats.lines} line(s)", markup=False)
    for title, counts in (
        ("endpoints", stats.endpoints),
        ("models", stats.models),
        ("efforts", stats.efforts),
        ("lanes", stats.lanes),
    ):
        listed = ", ".join(f"{name} {count}" for name, count in counts.items())
        console.print(f"{title}: {listed}", markup=False)
    console.print(_distribution("input tokens", stats.input_tokens), markup=False)
    caps = _distribution("output caps", stats.output_caps)
    console.print(f"{caps} ({stats.uncapped} line(s) set none)", markup=False)


def _distribution(title: str, figures: Distribution | None) -> str:
    if figures is None:
        return f"{title}: none"
    return (
        f"{title}: n {figures.count}, mean {figures.mean:.1f}, p50 {figures.p50:g}, "
        f"p90 {figures.p90:g}, p99 {figures.p99:g}, max {figures.max}"
    )


@workload_command.command("sample")
@click.argument("file", type=_FILE)
@click.option("--n", "count", type=int, required=True, help="Lines in the sample.")
@click.option("--by", default=None, help="Stratify by lane or metadata.FIELD.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=_FILE, required=True)
def sample_command(file: Path, count: int, by: str | None, seed: int, out: Path) -> None:
    """A random sample of N lines, each group keeping its share of the file (--by)."""
    chosen = sample(read_lines(file), count, by, seed)
    write_lines(out, chosen)
    click.echo(f"{len(chosen)} line(s) written to {out}")


@workload_command.command("split")
@click.argument("file", type=_FILE)
@click.option("--holdout", type=float, default=0.2, show_default=True, help="The test share.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--train", type=_FILE, required=True)
@click.option("--test", type=_FILE, required=True)
def split_command(file: Path, holdout: float, seed: int, train: Path, test: Path) -> None:
    """Split into train and test lines (a seeded draw of the holdout share)."""
    kept, held = split(read_lines(file), holdout, seed)
    write_lines(train, kept)
    write_lines(test, held)
    click.echo(f"{len(kept)} line(s) to {train}, {len(held)} to {test}")
