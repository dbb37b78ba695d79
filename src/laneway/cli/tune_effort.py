"""`laneway tune-effort`: climb one model's reasoning efforts on a graded workload and recommend
the cheapest effort non-inferior to the best (docs/tune-effort.md).

    laneway tune-effort WORKLOAD --model gpt-5.4-mini [--efforts none,low,medium,high,xhigh]
    laneway tune-effort --resume TUNE_DIR [--spend-cap USD]     # go on with a stopped one

It prints quality-vs-effort and cost-vs-effort as a table and a small chart, the pick with its
savings against the best effort and against the lowest, and how the climb went; --json prints
the same as JSON. Every measurement is a replay run kept under the tune directory.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, get_args

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from laneway.cli.catalog_option import catalog_option
from laneway.cli.config_option import config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stdout_console
from laneway.cli.replay import EXIT_STOPPED
from laneway.cli.replay_flags import spend_cap_of
from laneway.config import GatewayConfig
from laneway.pricing.model_spec import ReasoningEffort
from laneway.replay.summary_text import money
from laneway.replay.tune import DEFAULT_EFFORTS, TuneSettings, tune_effort, tune_resume
from laneway.replay.tune_policy import PolicySettings
from laneway.replay.tune_report import EffortFigures, Saving, TuneReport
from laneway.replay.tune_runs import TuneCapError

TUNE_DIR: Final = Path("tune-runs")
_BAR = 30  # characters of the chart's longest bar


@click.command("tune-effort")
@click.argument("workload", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--model", default=None, help="The model whose efforts are tuned (required).")
@click.option(
    "--efforts",
    default=",".join(DEFAULT_EFFORTS),
    show_default=True,
    help="The efforts to climb (those the catalog says the model refuses are skipped).",
)
@click.option(
    "--margin",
    type=click.FloatRange(0, 100, min_open=True),
    default=2.0,
    show_default=True,
    help="Non-inferior: behind the best effort by less than this many points.",
)
@click.option("--repeats", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 1024), default=8, show_default=True)
@click.option(
    "--tune-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"Where the runs are kept (new or empty) [default: {TUNE_DIR}/<time>].",
)
@click.option(
    "--spend-cap",
    default=None,
    metavar="USD",
    help="Stop the tuning when its runs have spent this (with --resume: its new cap).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Go on with a stopped tuning from its tune directory, as it was started.",
)
@click.option("--key", default="replay", show_default=True, help="The key runs are charged to.")
@click.option("--seed", type=int, default=0, show_default=True, help="The runs' own emulator.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@config_option
@catalog_option
def tune_effort_command(
    workload: Path | None,
    model: str | None,
    efforts: str,
    margin: float,
    repeats: int,
    concurrency: int,
    tune_dir: Path | None,
    spend_cap: str | None,
    resume_dir: Path | None,
    key: str,
    seed: int,
    as_json: bool,
    config_path: Path | None,
    catalog_path: Path | None,
) -> int:
    """Recommend the cheapest reasoning effort of MODEL that is non-inferior to its best on
    WORKLOAD (graded: an `expect` on its lines), climbing from the lowest effort and stopping
    when higher efforts stop paying. Exit 1 when the spend cap stopped it (resumable)."""
    config = GatewayConfig.load(config_path)
    if catalog_path is not None:
        config = config.model_copy(update={"catalog": (*config.catalog, catalog_path)})
    cap = None if spend_cap is None else spend_cap_of(spend_cap)
    try:
        if resume_dir is not None:
            _only_resume_flags(workload, model)
            report = tune_resume(resume_dir, config, spend_cap_usd=cap)
        else:
            if workload is None or model is None:
                raise CliError("give WORKLOAD and --model (or --resume TUNE_DIR)")
            settings = TuneSettings(
                tune_dir or TUNE_DIR / time.strftime("%Y%m%d-%H%M%S"),
                _efforts(efforts),
                PolicySettings(margin=margin / 100),
                repeats,
                concurrency,
                key,
                seed,
                cap,
            )
            report = tune_effort(workload, model, settings, config)
    except TuneCapError as stopped:
        click.echo(f"stopped: {stopped}", err=True)
        return EXIT_STOPPED
    if as_json:
        print_json(report_value(report))
    else:
        print_report(stdout_console(), report)
    return 0


_STARTING_FLAGS: Final = ("efforts", "margin", "repeats", "concurrency", "tune_dir", "key", "seed")


def _only_resume_flags(workload: Path | None, model: str | None) -> None:
    """--resume goes on as the tuning started: a flag that would change it is refused."""
    context = click.get_current_context()
    given = [name for name in _STARTING_FLAGS
             if context.get_parameter_source(name) is not ParameterSource.DEFAULT]  # fmt: skip
    if workload is not None or model is not None or given:
        raise CliError("--resume goes on with the tuning as it started: drop WORKLOAD, --model "
                       "and the other settings (--spend-cap may raise its cap)")  # fmt: skip


def _efforts(text: str) -> tuple[str, ...]:
    asked = tuple(part.strip() for part in text.split(",") if part.strip())
    known = get_args(ReasoningEffort)
    wrong = [effort for effort in asked if effort not in known]
    if wrong or not asked:
        raise CliError(f"--efforts {text!r}: each one of {', '.join(known)}")
    return asked


def report_value(report: TuneReport) -> dict[str, Any]:
    """The report as JSON: money and token figures as decimal text, quality on 0..1."""
    return {
        "model": report.model,
        "tune_dir": str(report.tune_dir),
        "pick": report.pick,
        "best": report.best,
        "margin": report.margin,
        "alpha": report.alpha,
        "calls": report.calls,
        "sweep_calls": report.sweep_calls,
        "efforts": [_effort_value(figures) for figures in report.efforts],
        "savings": [_saving_value(found) for found in report.savings],
        "steps": list(report.steps),
        "notes": list(report.notes),
    }


def _effort_value(figures: EffortFigures) -> dict[str, Any]:
    return {
        "effort": figures.effort,
        "status": figures.status,
        "calls": figures.calls,
        "lines": figures.lines,
        "quality": figures.quality,
        "cost_usd": str(figures.cost_usd),
        "cost_per_call_usd": _text(figures.cost_per_call_usd),
        "tokens_per_call": _text(figures.tokens_per_call),
        "reasoning_per_call": _text(figures.reasoning_per_call),
    }


def _saving_value(found: Saving) -> dict[str, Any]:
    return {
        "against": found.against,
        "cost_per_call_usd": _text(found.cost_per_call_usd),
        "cost_share": _text(found.cost_share),
        "tokens_per_call": _text(found.tokens_per_call),
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def print_report(console: Console, report: TuneReport) -> None:
    table = Table(title=f"{report.model}: quality and cost by reasoning effort")
    for name in ("effort", "status", "lines", "quality", "cost/call", "tokens/call", "reasoning"):
        table.add_column(name, justify="left" if name in ("effort", "status") else "right")
    for figures in report.efforts:
        table.add_row(
            figures.effort,
            figures.status,
            str(figures.lines),
            "-" if figures.quality is None else f"{figures.quality:.3f}",
            money(figures.cost_per_call_usd),
            "-" if figures.tokens_per_call is None else f"{figures.tokens_per_call}",
            "-" if figures.reasoning_per_call is None else f"{figures.reasoning_per_call}",
        )
    console.print(table)
    for line in chart(report):
        console.print(line, markup=False, highlight=False)
    console.print(_verdict(report), markup=False)
    for line in (*report.steps, *report.notes):
        console.print(f"  {line}", markup=False)


def chart(report: TuneReport) -> list[str]:
    """Quality and cost per call by effort as bars: quality on 0..1, cost against the most
    expensive effort measured."""
    costs = [f.cost_per_call_usd for f in report.efforts if f.cost_per_call_usd is not None]
    top = max(costs, default=Decimal(0))
    width = max(len(f.effort) for f in report.efforts)
    lines = ["quality (0..1)" + " " * (width + _BAR - 12) + "cost per call"]
    for figures in report.efforts:
        quality = "" if figures.quality is None else "#" * round(figures.quality * _BAR)
        cost = figures.cost_per_call_usd
        spent = "" if cost is None or not top else "=" * max(1, round(cost / top * _BAR))
        label = money(cost) if cost is not None else "unknown"
        lines.append(f"{figures.effort:<{width}} {quality:<{_BAR}} | {spent:<{_BAR}} {label}")
    return lines


def _verdict(report: TuneReport) -> str:
    if report.pick is None:
        return "No effort to recommend: the provider refused every one tried."
    said = [f"Pick: {report.model}@{report.pick}, the cheapest effort non-inferior to the best "
            f"({report.best}) by a margin of {report.margin * 100:g} points "
            f"(one-sided {1 - report.alpha:.0%})."]  # fmt: skip
    said.extend(_against(found) for found in report.savings)
    said.append(f"Calls: {report.calls} of a full sweep's {report.sweep_calls}.")
    return " ".join(said)


def _against(found: Saving) -> str:
    cost, share, tokens = found.cost_per_call_usd, found.cost_share, found.tokens_per_call
    if cost is None:
        return f"Against {found.against}: the saving is unknown (a cost is unknown)."
    fewer = "" if tokens is None else f", {abs(tokens)} {'fewer' if tokens >= 0 else 'more'} tokens"
    if cost >= 0:
        part = f" ({share:.0%})" if share is not None else ""
        return f"Against {found.against}: saves {money(cost)} per call{part}{fewer}."
    return f"Against {found.against}: costs {money(-cost)} more per call{fewer}."
