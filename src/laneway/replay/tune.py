"""`laneway tune-effort`'s driver: one model's reasoning efforts on a graded workload, climbed
by laneway.replay.tune_policy, each measurement a replay run of one cell on a range of the
workload's lines, all under one tune directory:

    TUNE_DIR/workload.jsonl            the workload as checked
    TUNE_DIR/lines-0-50.jsonl          a range of its lines (the first slice, the rest)
    TUNE_DIR/runs/low-0-50/            a replay run directory (results.jsonl, summary.md, ...)

    report = tune_effort(Path("support.jsonl"), "gpt-5.4-mini", TuneSettings(Path("tune/1")),
                         GatewayConfig())

Efforts the catalog says the model does not support are never sent; when the catalog does not
know the model's efforts each is tried, and one whose every call the provider refuses with a 400
counts as refused. The workload must be graded (an `expect` on its lines): the climb compares
efforts by correctness, never by agreement with each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from laneway.assembly import Upstream
from laneway.config import GatewayConfig
from laneway.errors import LanewayError
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.replay.experiment import CandidatesConfig, CellConfig, ExperimentConfig
from laneway.replay.row_quality import judge
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunSettings, run
from laneway.replay.stats.resample import FloatArray
from laneway.replay.summary import EMULATED_NOTE, EMULATOR
from laneway.replay.summary_files import write_summary
from laneway.replay.tune_policy import Climb, PolicySettings, Step, climb
from laneway.replay.tune_report import Saving, TuneReport, effort_figures, saving
from laneway.replay.workload import Workload

DEFAULT_EFFORTS: Final = ("none", "low", "medium", "high", "xhigh")
_REFUSED_STATUS = 400


class TuneError(LanewayError):
    """The tuning cannot start or go on (an ungraded workload, no effort to try, a run cut
    short)."""


@dataclass(frozen=True, slots=True)
class TuneSettings:
    tune_dir: Path  # new or empty
    efforts: tuple[str, ...] = DEFAULT_EFFORTS
    policy: PolicySettings = field(default_factory=PolicySettings)
    repeats: int = 1
    concurrency: int = 8
    key: str = "replay"  # the key the runs' ledger records are charged to
    emulator_seed: int = 0  # the runs' own emulator, when no provider is configured


def tune_effort(
    workload_path: Path,
    model: str,
    settings: TuneSettings,
    config: GatewayConfig,
    *,
    upstream: Upstream | None = None,
    env: Mapping[str, str] | None = None,
) -> TuneReport:
    """Climb `model`'s efforts on the workload; every call is made through the runner."""
    catalog = Catalog.load(*config.catalog)
    spec = catalog.get(model)  # UnknownModelError, with suggestions
    efforts, notes = supported(spec.id, spec.reasoning_efforts, settings.efforts)
    workload = _checked(workload_path, settings.tune_dir)
    runs = _Runs(spec.id, workload, settings, config, upstream, env)
    found = climb(len(efforts), workload.count, runs.measure(efforts), settings.policy)
    return _report(spec.id, efforts, found, runs, settings, notes)


def supported(
    model: str, known: Sequence[str] | None, asked: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The asked efforts to try, cheapest first, and notes on what was skipped or kept without
    the catalog's word; TuneError when none is left."""
    ordered = sorted(dict.fromkeys(asked), key=REASONING_EFFORTS.index)
    if known is None:
        notes = [f"{model}: efforts unknown to the catalog; each tried, a 400 counts as refused"]
        return ordered, notes
    kept = [effort for effort in ordered if effort in known]
    notes = [f"{model}@{e} skipped: {model} supports {', '.join(known)}" for e in ordered
             if e not in known]  # fmt: skip
    if not kept:
        raise TuneError(f"{model} supports none of {', '.join(ordered)} ({', '.join(known)})")
    return kept, notes


def _checked(path: Path, tune_dir: Path) -> Workload:
    workload = Workload.load(path)  # WorkloadError naming every bad line
    if not workload.expectations:
        raise TuneError(
            f"{path}: no line has an `expect`; tune-effort compares efforts by graded answers"
        )
    if tune_dir.exists() and any(tune_dir.iterdir()):
        raise TuneError(f"{tune_dir}: not empty; give a new tune directory")
    (tune_dir / "runs").mkdir(parents=True, exist_ok=True)
    copy = tune_dir / "workload.jsonl"
    workload.copy_to(copy)
    return Workload.load(copy)


@dataclass(slots=True)
class _Runs:
    """The replay runs the climb asks for, and which run directories hold each effort."""

    model: str
    workload: Workload
    settings: TuneSettings
    config: GatewayConfig
    upstream: Upstream | None
    env: Mapping[str, str] | None
    dirs: dict[str, list[Path]] = field(default_factory=dict)

    def measure(self, efforts: Sequence[str]) -> _Measure:
        return _Measure(self, efforts)

    def run(self, effort: str, start: int, stop: int) -> list[ResultRow]:
        lines = self._lines(start, stop)
        cell = CellConfig(model=self.model, effort=effort)
        experiment = ExperimentConfig(
            workloads=(str(lines),),
            baseline=cell,
            candidates=CandidatesConfig(cells=(cell,)),
            repeats=self.settings.repeats,
            concurrency=self.settings.concurrency,
        )
        run_dir = self.settings.tune_dir / "runs" / f"{effort}-{start}-{stop}"
        run_settings = RunSettings(
            run_dir, key=self.settings.key, emulator_seed=self.settings.emulator_seed
        )
        outcome = asyncio.run(
            run(experiment, run_settings, self.config, upstream=self.upstream, env=self.env)
        )
        write_summary(RunDir(run_dir), outcome)
        if outcome.stopped is not None:
            raise TuneError(f"{self.model}@{effort}: the run in {run_dir} stopped short: "
                            f"{outcome.stopped}")  # fmt: skip
        self.dirs.setdefault(effort, []).append(run_dir)
        return list(RunDir(run_dir).rows())

    def all_dirs(self) -> list[Path]:
        return [path for paths in self.dirs.values() for path in paths]

    def rows(self, effort: str) -> list[ResultRow]:
        return [row for path in self.dirs.get(effort, []) for row in RunDir(path).rows()]

    def _lines(self, start: int, stop: int) -> Path:
        """Lines start .. stop - 1 of the workload, as a file of their own."""
        target = self.settings.tune_dir / f"lines-{start}-{stop}.jsonl"
        if not target.exists():
            source = self.settings.tune_dir / "workload.jsonl"
            with source.open("rb") as read, target.open("wb") as out:
                for number, raw in enumerate(read):
                    if start <= number < stop:
                        out.write(raw)
        return target


@dataclass(frozen=True, slots=True)
class _Measure:
    """The policy's `measure`: a run of one effort on a range of lines, as per-line scores."""

    runs: _Runs
    efforts: Sequence[str]

    def __call__(self, effort: int, start: int, stop: int) -> FloatArray | None:
        rows = self.runs.run(self.efforts[effort], start, stop)
        if rows and all(r.status != "ok" and r.http_status == _REFUSED_STATUS for r in rows):
            return None
        per_line: dict[int, list[float]] = {}
        for row in rows:
            score = judge(row, "expectations", {}).score
            if score is not None:
                per_line.setdefault(self.runs.workload.positions[row.custom_id], []).append(score)
        scores = np.full(stop - start, np.nan)
        for line, found in per_line.items():
            scores[line - start] = sum(found) / len(found)
        return scores


def _report(
    model: str,
    efforts: Sequence[str],
    found: Climb,
    runs: _Runs,
    settings: TuneSettings,
    notes: list[str],
) -> TuneReport:
    figures = tuple(
        effort_figures(effort, runs.rows(effort), _status(index, found))
        for index, effort in enumerate(efforts)
    )
    pick = efforts[found.pick] if found.pick is not None else None
    best = efforts[found.best] if found.best is not None else None
    savings: tuple[Saving, ...] = ()
    if found.pick is not None and found.best is not None:
        # Against the best, the highest effort measured (what "the best" often means to a
        # reader) and the lowest; each once, and never the pick against itself.
        highest = max(found.scores)
        against = dict.fromkeys((found.best, highest, min(found.scores)))
        chosen = figures[found.pick]
        savings = tuple(saving(chosen, figures[i]) for i in against if i != found.pick)
    steps = tuple(_named(step, efforts) for step in found.steps)
    if any(RunDir(path).manifest().upstream == EMULATOR for path in runs.all_dirs()):
        notes.append(EMULATED_NOTE)
    sweep_calls = len(efforts) * found.lines * settings.repeats
    return TuneReport(model, settings.tune_dir, figures, pick, best,
                      settings.policy.margin, settings.policy.alpha,
                      found.calls * settings.repeats, sweep_calls, savings, steps,
                      tuple(notes))  # fmt: skip


def _status(index: int, found: Climb) -> str:
    if index == found.pick:
        return "pick"
    if index == found.best:
        return "best"
    if index in found.refused:
        return "refused"
    if index in found.contenders:
        return "contender"
    return "measured" if index in found.scores else "not measured"


def _named(step: Step, efforts: Sequence[str]) -> str:
    effort = efforts[step.effort]
    if step.current is None:
        return f"{effort}: refused by the provider"
    verb = "pays" if step.paid else "does not pay"
    return f"{effort} over {efforts[step.current]}: {verb} (lower bound {step.lower:+.3f})"
