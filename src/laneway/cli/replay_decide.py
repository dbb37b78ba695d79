"""`laneway replay recommend` and `laneway replay apply`: a run's per-lane recommendation, and
the lanes-config change that enacts it (laneway.replay.recommend, laneway.replay.apply).

    laneway replay recommend RUN [--margin 2] [--seed 0] [--json]
    laneway replay apply RUN --lane legacy [--config laneway.toml] [--canary 0.05] [--write]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, warn
from laneway.replay.apply import check_unchanged, lane_edit
from laneway.replay.lane_traffic import DAY_S, WINDOW_DAYS, LaneTraffic, lane_traffic
from laneway.replay.recommend import Recommendation, recommend_run
from laneway.replay.recommend_text import recommendation_text, recommendation_value, sentence
from laneway.replay.run_dir import RunDir
from laneway.replay.run_setup import CONFIG_FILE

_run_argument = click.argument(
    "run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True)
)
_margin_option = click.option(
    "--margin",
    type=click.FloatRange(0, 100, min_open=True),
    default=2.0,
    show_default=True,
    metavar="POINTS",
    help="How far behind the baseline a cell may be and still qualify, in points (0..100).",
)
_seed_option = click.option(
    "--seed", type=int, default=0, show_default=True, help="The bootstrap's seed."
)


@click.command("recommend")
@_run_argument
@_margin_option
@_seed_option
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=WINDOW_DAYS,
    show_default=True,
    help="The ledger window the lane's live traffic is read over.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the recommendation as JSON.")
@config_option
def recommend_command(
    run_dir: Path, margin: float, seed: int, days: int, as_json: bool, config_path: Path | None
) -> None:
    """The run's recommendation for its lane: the cheapest cell no worse than the baseline by
    more than the margin (one-sided 95%, Holm-adjusted across cells), what it saves at the
    lane's live traffic (the config's ledger, replay runs left out), its throughput ceiling
    and failures; or why nothing qualifies, and how many more lines would settle it."""

    def traffic(lane: str) -> LaneTraffic | None:
        with assembly_of(config_path) as parts:
            path = parts.ledger_path
            if path is not None and not path.is_file():
                return None
            now = time.time()
            return lane_traffic(parts.ledger.between(now - days * DAY_S, now), lane, days)

    found = _recommendation(run_dir, margin, seed, traffic)
    if as_json:
        print_json(recommendation_value(found))
    else:
        click.echo(recommendation_text(found))


@click.command("apply")
@_run_argument
@click.option("--lane", required=True, help="The lane to change (the run's lane).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="The config file to change [default: the one the run was given].",
)
@click.option(
    "--canary",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    metavar="SHARE",
    help="A split: the new model at this share of the lane's requests (e.g. 0.05) first.",
)
@click.option("--write", is_flag=True, help="Write the change into the config file.")
@_margin_option
@_seed_option
def apply_command(
    run_dir: Path,
    lane: str,
    config_path: Path | None,
    canary: float | None,
    write: bool,
    margin: float,
    seed: int,
) -> None:
    """Print the lanes-config change that enacts the run's recommendation, as a diff; --write
    applies it, keeping the file's comments and layout, unless the file changed since the
    run."""
    found = _recommendation(run_dir, margin, seed, lambda lane: None)
    if found.lane.lane is not None and found.lane.lane != lane:
        raise CliError(f"the run measured lane {found.lane.lane}, not {lane}")
    pick = found.pick
    if pick is None:
        raise CliError(f"the run recommends nothing: {found.reason}")
    manifest = RunDir(run_dir).manifest()
    path = config_path or _recorded(manifest.extra.get(CONFIG_FILE))
    edit = lane_edit(path.read_text(), path, lane, pick.model, pick.effort, canary)
    if write:
        check_unchanged(path, manifest)
        path.write_text(edit.after)
    click.echo(f"# {sentence(found)}")
    click.echo(edit.diff(), nl=False)
    for note in edit.notes:
        warn(note)
    if write:
        click.echo(f"written: {path}")


def _recommendation(
    run_dir: Path, margin: float, seed: int, traffic: Callable[[str], LaneTraffic | None]
) -> Recommendation:
    rng = np.random.default_rng(seed)
    return recommend_run(RunDir(run_dir), rng, margin=margin / 100, traffic=traffic)


def _recorded(value: object) -> Path:
    if not isinstance(value, str):
        raise CliError("the run was given no config file: name the one to change with --config")
    if not Path(value).is_file():
        raise CliError(f"{value}, the config file the run was given, is gone: give --config")
    return Path(value)
