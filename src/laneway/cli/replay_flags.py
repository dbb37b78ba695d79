"""`laneway replay`'s flags as an experiment (laneway.replay.experiment), for the simple case
without a file:

    laneway replay WORKLOAD --baseline gpt-5.2 --models gpt-5.4-mini,gpt-5.4 --efforts none,low

Each flag is checked here and named in its error; an experiment file (--experiment) is the other
way in, and the matrix flags do not mix with it (--repeats, --concurrency and --spend-cap may
override the file's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from laneway.cli.errors import CliError
from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.replay.experiment import AS_WRITTEN, ExperimentConfig


@dataclass(frozen=True, slots=True)
class MatrixFlags:
    workloads: tuple[Path, ...]
    baseline: str | None
    models: str | None
    efforts: str | None
    graders: tuple[str, ...] = ()
    lane: str | None = None  # the lane the workload stands for (laneway replay recommend)

    def given(self) -> list[str]:
        """The flags given, by name."""
        return [
            flag
            for flag, value in (
                ("WORKLOAD", self.workloads),
                ("--baseline", self.baseline),
                ("--models", self.models),
                ("--efforts", self.efforts),
                ("--grader", self.graders),
                ("--lane", self.lane),
            )
            if value
        ]

    def with_defaults(self, workloads: tuple[Path, ...], models: str, efforts: str) -> MatrixFlags:
        """These flags, with the ones not given taken from the defaults (the demo's)."""
        return replace(
            self,
            workloads=self.workloads or workloads,
            models=self.models or models,
            efforts=self.efforts or (None if self.models else efforts),
        )


@dataclass(frozen=True, slots=True)
class RunFlags:
    repeats: int | None
    concurrency: int | None
    spend_cap: str | None


def experiment_of(
    matrix: MatrixFlags, run: RunFlags, experiment_file: Path | None
) -> ExperimentConfig:
    """The experiment the flags (or the file, with the run flags over it) describe."""
    overrides = _run_overrides(run)
    if experiment_file is not None:
        given = matrix.given()
        if given:
            raise CliError(f"--experiment names the whole matrix: drop {', '.join(given)}")
        loaded = ExperimentConfig.load(experiment_file)
        return loaded.model_validate({**loaded.model_dump(), **overrides})
    if not matrix.workloads:
        raise CliError("give a workload file (or --experiment FILE, or --demo)")
    if not matrix.models:
        raise CliError("--models: name at least one candidate model, e.g. --models gpt-5.4-mini")
    value: dict[str, Any] = {
        "workloads": tuple(str(path) for path in matrix.workloads),
        "baseline": baseline_of(matrix.baseline),
        "candidates": {"models": _names(matrix.models, "--models"), "efforts": _efforts(matrix)},
        "graders": matrix.graders,
        "lane": matrix.lane,
        **overrides,
    }
    return ExperimentConfig.model_validate(value)


def baseline_of(text: str | None) -> str | dict[str, str]:
    """'as-written' (each line's own model and effort), 'MODEL' or 'MODEL@EFFORT'."""
    if text is None or text.strip() == AS_WRITTEN:
        return AS_WRITTEN
    model, _, effort = text.strip().partition("@")
    if not model:
        raise CliError(f"--baseline: {text!r} names no model (write MODEL or MODEL@EFFORT)")
    if not effort:
        return {"model": model}
    _check_effort(effort, "--baseline")
    return {"model": model, "effort": effort}


def spend_cap_of(text: str) -> Decimal:
    cleaned = text.strip().removeprefix("$").replace(",", "")
    try:
        cap = Decimal(cleaned)
    except InvalidOperation:
        cap = None
    if cap is None or not cap.is_finite() or cap <= 0:
        raise CliError(f"--spend-cap: {text!r} is not an amount of dollars above 0 (e.g. 5.00)")
    return cap


def _run_overrides(run: RunFlags) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if run.repeats is not None:
        overrides["repeats"] = run.repeats
    if run.concurrency is not None:
        overrides["concurrency"] = run.concurrency
    if run.spend_cap is not None:
        overrides["spend_cap_usd"] = spend_cap_of(run.spend_cap)
    return overrides


def _names(text: str, flag: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise CliError(f"{flag}: {text!r} names nothing (a comma-separated list)")
    return names


def _efforts(matrix: MatrixFlags) -> tuple[str, ...]:
    if matrix.efforts is None:
        return ()
    efforts = _names(matrix.efforts, "--efforts")
    for effort in efforts:
        _check_effort(effort, "--efforts")
    return efforts


def _check_effort(effort: str, flag: str) -> None:
    if effort not in REASONING_EFFORTS:
        raise CliError(
            f"{flag}: unknown reasoning effort {effort!r} (one of {', '.join(REASONING_EFFORTS)})"
        )
