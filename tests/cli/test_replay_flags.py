"""`laneway replay`'s matrix flags read as an experiment, each mistake named by its flag."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from laneway.cli.errors import CliError
from laneway.cli.replay_flags import MatrixFlags, RunFlags, baseline_of, experiment_of
from laneway.errors import ConfigError
from laneway.replay.experiment import AS_WRITTEN, CellConfig

NO_RUN_FLAGS = RunFlags(None, None, None)


def _matrix(**given: object) -> MatrixFlags:
    values: dict[str, object] = {
        "workloads": (Path("w.jsonl"),),
        "baseline": None,
        "models": None,
        "efforts": None,
    }
    return MatrixFlags(**{**values, **given})  # type: ignore[arg-type]


def test_the_issues_example_is_a_matrix() -> None:
    flags = _matrix(baseline="gpt-5.2", models="gpt-5.4-mini, gpt-5.4", efforts="none,low")
    experiment = experiment_of(flags, RunFlags(3, 16, "$5.00"), None)
    assert experiment.workloads == ("w.jsonl",)
    assert experiment.baseline == CellConfig(model="gpt-5.2")
    assert experiment.candidates.models == ("gpt-5.4-mini", "gpt-5.4")
    assert experiment.candidates.efforts == ("none", "low")
    assert (experiment.repeats, experiment.concurrency) == (3, 16)
    assert experiment.spend_cap_usd == Decimal("5.00")


def test_the_baseline_is_as_written_unless_named() -> None:
    assert baseline_of(None) == AS_WRITTEN
    assert baseline_of("gpt-5.2@low") == {"model": "gpt-5.2", "effort": "low"}


@pytest.mark.parametrize(
    ("flags", "run", "message"),
    [
        ({"models": None}, NO_RUN_FLAGS, "--models: name at least one"),
        ({"models": " , "}, NO_RUN_FLAGS, "--models: ' , ' names nothing"),
        ({"models": "m", "efforts": "none,turbo"}, NO_RUN_FLAGS, "--efforts: unknown reasoning"),
        ({"models": "m", "baseline": "gpt-5.2@fast"}, NO_RUN_FLAGS, "--baseline: unknown"),
        ({"models": "m", "baseline": "@low"}, NO_RUN_FLAGS, "--baseline: '@low' names no model"),
        ({"models": "m"}, RunFlags(None, None, "five"), "--spend-cap: 'five'"),
        ({"models": "m"}, RunFlags(None, None, "-1"), "--spend-cap: '-1'"),
        ({"workloads": ()}, NO_RUN_FLAGS, "give a workload file"),
    ],
)
def test_a_bad_flag_is_named(flags: dict[str, object], run: RunFlags, message: str) -> None:
    with pytest.raises(CliError, match="^" + message.replace("(", r"\(")):
        experiment_of(_matrix(**flags), run, None)


def test_an_experiment_file_takes_no_matrix_flags(tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text('workloads = ["w.jsonl"]\n[candidates]\nmodels = ["gpt-5.4"]\n')
    with pytest.raises(CliError, match="drop WORKLOAD, --models"):
        experiment_of(_matrix(models="gpt-5.4-mini"), NO_RUN_FLAGS, path)
    loaded = experiment_of(_matrix(workloads=()), RunFlags(2, None, "1"), path)
    assert (loaded.repeats, loaded.spend_cap_usd, loaded.candidates.models) == (
        2,
        Decimal(1),
        ("gpt-5.4",),
    )


def test_an_experiment_files_mistake_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "exp.toml"
    path.write_text('workloads = ["w.jsonl"]\nrepeat = 2\n[candidates]\nmodels = ["gpt-5.4"]\n')
    with pytest.raises(ConfigError, match="repeat"):
        experiment_of(_matrix(workloads=()), NO_RUN_FLAGS, path)


def test_the_lane_comes_from_the_flag_or_the_file(tmp_path: Path) -> None:
    flagged = experiment_of(_matrix(models="gpt-5.4-mini", lane="legacy"), NO_RUN_FLAGS, None)
    assert flagged.lane == "legacy"
    assert experiment_of(_matrix(models="gpt-5.4-mini"), NO_RUN_FLAGS, None).lane is None
    with pytest.raises(ValidationError, match="lane"):
        experiment_of(_matrix(models="gpt-5.4-mini", lane="no lane"), NO_RUN_FLAGS, None)
    path = tmp_path / "exp.toml"
    path.write_text(
        'workloads = ["w.jsonl"]\nlane = "coding"\n[candidates]\nmodels = ["gpt-5.4"]\n'
    )
    assert experiment_of(_matrix(workloads=()), NO_RUN_FLAGS, path).lane == "coding"
    with pytest.raises(CliError, match="drop --lane"):
        experiment_of(_matrix(workloads=(), lane="legacy"), NO_RUN_FLAGS, path)
