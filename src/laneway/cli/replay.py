"""`laneway replay`: run a workload against a baseline and candidate cells (models x reasoning
efforts) on the gateway, then print the per-cell table and write results.json and summary.md.

    laneway replay WORKLOAD --baseline gpt-5.2 --models gpt-5.4-mini,gpt-5.4 --efforts none,low
    laneway replay --experiment exp.toml
    laneway replay --demo                  # the shipped demo workload, on the emulator
    laneway replay WORKLOAD ... --plan     # cells, calls and cost; nothing is called
    laneway replay --resume RUN_DIR
    laneway replay summary RUN_DIR         # the table and files again, from the directory
    laneway replay recommend RUN_DIR       # the lane's decision (laneway.cli.replay_decide)
    laneway replay apply RUN_DIR --lane L  # the lanes-config change that enacts it
    laneway replay diff RUN_A RUN_B        # two runs compared (laneway.cli.replay_diff)
    laneway replay report RUN_DIR          # report.html, .md, .json (laneway.cli.replay_report)

`replay` is a group whose default command is `run`, so the issue's one-line form works and later
subcommands (a report) fit beside `summary`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from laneway.cli.catalog_option import catalog_option
from laneway.cli.config_option import config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stderr_console, stdout_console
from laneway.cli.replay_decide import apply_command, recommend_command
from laneway.cli.replay_diff import diff_command
from laneway.cli.replay_flags import MatrixFlags, RunFlags, experiment_of, spend_cap_of
from laneway.cli.replay_plan_view import plan_value, print_plan
from laneway.cli.replay_progress import LiveProgress, PlainProgress
from laneway.cli.replay_report import report_command
from laneway.cli.replay_table import print_summary
from laneway.config import GatewayConfig
from laneway.config_problems import problems
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import TIERS
from laneway.replay.call_cache import default_cache_dir
from laneway.replay.demo import DEMO_WORKLOAD
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.plan import RunPlan, prepare
from laneway.replay.python_grader import PythonGrader
from laneway.replay.report.build import build_report
from laneway.replay.report.files import write_report
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunEvents, RunOutcome, RunSettings, resume, run
from laneway.replay.summary import RunSummary
from laneway.replay.summary_files import write_summary
from laneway.replay.summary_json import summary_value

EXIT_STOPPED = 1  # the run ended short (the spend cap, Ctrl-C): resumable
RUNS_DIR = Path("replay-runs")
# The demo: the legacy lane's model (as written in the demo's lines) against the newer ones, at
# the emulator's default tier so the ceilings are figures.
DEMO_MODELS = "gpt-5.4-mini,gpt-5.4"
DEMO_EFFORTS = "none,low"
DEMO_TIER = "tier-5"


class _DefaultRun(click.Group):
    """`laneway replay ARGS` is `laneway replay run ARGS` unless ARGS starts with a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("replay", cls=_DefaultRun, no_args_is_help=True)
def replay_command() -> None:
    """Replay a workload (an OpenAI Batch input file, with an optional `expect` per line)
    against a baseline and candidate models and efforts: exact cost, quality, latency, failures
    and the throughput ceiling per cell.

    \b
      laneway replay WORKLOAD --baseline gpt-5.2 --models gpt-5.4-mini,gpt-5.4 --efforts none,low
      laneway replay --experiment exp.toml
      laneway replay --demo                 (offline, on the emulator)
      laneway replay summary RUN_DIR

    `laneway replay ARGS` is `laneway replay run ARGS`: its flags are in `laneway replay run
    --help`."""


@replay_command.command("run")
@click.argument("workloads", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--experiment",
    "experiment_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="An experiment file (TOML): workloads, baseline, candidates, repeats, cap.",
)
@click.option(
    "--demo",
    is_flag=True,
    help=f"Replay the shipped demo workload [models: {DEMO_MODELS}; efforts: "
    f"{DEMO_EFFORTS}; tier: {DEMO_TIER}].",
)
@click.option(
    "--baseline",
    default=None,
    metavar="MODEL[@EFFORT]",
    help="The cell to compare against [default: as-written, each line's own].",
)
@click.option("--models", default=None, metavar="A,B", help="Candidate models.")
@click.option(
    "--efforts",
    default=None,
    metavar="none,low",
    help="Candidate reasoning efforts, crossed with --models [default: as written].",
)
@click.option(
    "--grader",
    "graders",
    multiple=True,
    metavar="MODULE:FUNCTION",
    help="A Python grader run on every answer (repeatable).",
)
@click.option(
    "--lane",
    default=None,
    help="The lane whose traffic the workload stands for (laneway replay recommend projects "
    "its saving) [default: the lines' captured lane, if one].",
)
@click.option("--repeats", type=click.IntRange(1, 100), default=None, help="[default: 1]")
@click.option("--concurrency", type=click.IntRange(1, 1024), default=None, help="[default: 8]")
@click.option(
    "--spend-cap",
    default=None,
    metavar="USD",
    help="Stop spending at this amount (with --resume: the whole run's new cap).",
)
@click.option("--over-cap", is_flag=True, help="Start even if the worst case exceeds the cap.")
@click.option(
    "--plan",
    "plan_only",
    is_flag=True,
    help="Print the cells, calls and expected and worst-case cost; call nothing.",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Where the run is written [default: {RUNS_DIR}/<time>].",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Finish a stopped run from its directory.",
)
@click.option(
    "--key",
    default="replay",
    show_default=True,
    help="The key (name) the run's ledger records are charged to.",
)
@click.option(
    "--fallbacks", is_flag=True, help="Allow model fallbacks (off: a cell measures its own model)."
)
@click.option(
    "--tier",
    type=click.Choice(TIERS),
    default=None,
    help="Your usage tier: the throughput ceilings use its limits, laneway paces to "
    "them, and the run's own emulator enforces them [default: the configured providers' "
    "tier, else unknown].",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="The run's own emulator (no provider configured): latency scale, 0 instant.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="The run's own emulator: seed for its answers.",
)
@click.option(
    "--reuse",
    is_flag=True,
    help="Serve calls identical to earlier runs' (upstream, body, repeat) from the call cache, "
    "and keep this run's answers there [cache: $XDG_CACHE_HOME/laneway/replay-calls].",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The call cache --reuse reads and writes, instead of the default.",
)
@click.option("--json", "as_json", is_flag=True, help="Print results.json instead of the table.")
@config_option
@catalog_option
def run_command(
    workloads: tuple[Path, ...],
    experiment_file: Path | None,
    demo: bool,
    baseline: str | None,
    models: str | None,
    efforts: str | None,
    graders: tuple[str, ...],
    lane: str | None,
    repeats: int | None,
    concurrency: int | None,
    spend_cap: str | None,
    over_cap: bool,
    plan_only: bool,
    run_dir: Path | None,
    resume_dir: Path | None,
    key: str,
    fallbacks: bool,
    tier: str | None,
    speed: float,
    seed: int,
    reuse: bool,
    cache_dir: Path | None,
    as_json: bool,
    config_path: Path | None,
    catalog_path: Path | None,
) -> int:
    """Run a replay: a live progress display, the per-cell table at the end, results.json and
    summary.md in the run directory. Exit 0 when every call was made, 1 when the run stopped
    short (resumable with --resume), 2 on bad input (nothing is called)."""
    config = _config(config_path, catalog_path)
    matrix = MatrixFlags(workloads, baseline, models, efforts, graders, lane)
    if resume_dir is not None:
        if matrix.given() or experiment_file or demo or plan_only:
            raise CliError("--resume goes on with the run as it started: drop the other flags "
                           "(--spend-cap may raise its cap)")  # fmt: skip
        cap = None if spend_cap is None else spend_cap_of(spend_cap)
        return _finish(lambda events: resume(resume_dir, config, events=events,
                                             spend_cap_usd=cap), resume_dir, as_json)  # fmt: skip
    experiment = _experiment(matrix, RunFlags(repeats, concurrency, spend_cap), experiment_file,
                             demo)  # fmt: skip
    for reference in experiment.graders:  # one that does not import is refused, --plan or not
        PythonGrader(reference)
    prepared = prepare(experiment, Catalog.load(*config.catalog))
    if plan_only:
        _show_plan(prepared.plan, as_json)
        return 0
    settings = RunSettings(
        run_dir=run_dir or RUNS_DIR / time.strftime("%Y%m%d-%H%M%S"),
        key=key,
        fallbacks=fallbacks,
        over_cap=over_cap,
        tier=tier or (DEMO_TIER if demo else None),
        emulator_speed=speed,
        emulator_seed=seed,
        reuse=_cache_dir(reuse, cache_dir),
        config_file=config_path,
    )
    return _finish(lambda events: run(experiment, settings, config, events=events,
                                      prepared=prepared), settings.run_dir, as_json)  # fmt: skip


@replay_command.command("summary")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print results.json instead of the table.")
def summary_command(run_dir: Path, as_json: bool) -> None:
    """Rebuild a run's table, results.json and summary.md from its directory alone."""
    _show(write_summary(RunDir(run_dir)), as_json)


replay_command.add_command(recommend_command)
replay_command.add_command(apply_command)
replay_command.add_command(diff_command)
replay_command.add_command(report_command)


def _cache_dir(reuse: bool, cache_dir: Path | None) -> Path | None:
    if cache_dir is not None and not reuse:
        raise CliError("--cache-dir names the cache --reuse uses: add --reuse")
    if not reuse:
        return None
    return cache_dir or default_cache_dir()


def _config(config_path: Path | None, catalog_path: Path | None) -> GatewayConfig:
    config = GatewayConfig.load(config_path)
    if catalog_path is None:
        return config
    return config.model_copy(update={"catalog": (*config.catalog, catalog_path)})


def _experiment(
    matrix: MatrixFlags, flags: RunFlags, experiment_file: Path | None, demo: bool
) -> ExperimentConfig:
    if demo:
        if matrix.workloads or experiment_file is not None:
            raise CliError("--demo replays the shipped workload: drop WORKLOAD and --experiment")
        matrix = matrix.with_defaults((DEMO_WORKLOAD,), DEMO_MODELS, DEMO_EFFORTS)
    try:
        return experiment_of(matrix, flags, experiment_file)
    except ValidationError as exc:
        raise CliError("; ".join(problems(exc))) from None


def _show_plan(plan: RunPlan, as_json: bool) -> None:
    if as_json:
        print_json(plan_value(plan))
    else:
        print_plan(stdout_console(), plan)


def _finish(
    start: Callable[[RunEvents], Coroutine[Any, Any, RunOutcome]], run_dir: Path, as_json: bool
) -> int:
    """Run to the end (or a stop: the cap, Ctrl-C), then the summary: written, and shown."""
    outcome = asyncio.run(start(_progress(run_dir)))
    _show(write_summary(RunDir(outcome.run_dir), outcome), as_json)
    # The report too (a second or so even for the demo): rebuilt later by `replay report`.
    files = write_report(build_report(RunDir(outcome.run_dir)), outcome.run_dir)
    if not as_json:
        click.echo(f"report: {files.html} (and {files.markdown.name}, {files.json.name})")
    if outcome.stopped is not None:
        # Plain text: a rich console would wrap the path at 80 columns off a terminal.
        click.echo(f"stopped: {outcome.stopped}; laneway replay --resume {outcome.run_dir}",
                   err=True)  # fmt: skip
        return EXIT_STOPPED
    return 0


def _progress(run_dir: Path) -> RunEvents:
    console = stderr_console()
    if console.is_terminal:
        return LiveProgress(console, run_dir, time.monotonic)
    return PlainProgress(sys.stderr, run_dir, time.monotonic)


def _show(summary: RunSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary_value(summary))
    else:
        print_summary(stdout_console(), summary)
