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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from laneway.assembly import Upstream
from laneway.config import GatewayConfig
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import REASONING_EFFORTS
from laneway.replay.row_quality import judge
from laneway.replay.run_dir import RunDir
from laneway.replay.stats.resample import FloatArray
from laneway.replay.summary import EMULATED_NOTE, EMULATOR
from laneway.replay.tune_policy import Climb, Step, climb
from laneway.replay.tune_report import Saving, TuneReport, effort_figures, saving
from laneway.replay.tune_runs import (
    DEFAULT_EFFORTS,
    TuneError,
    TuneRuns,
    TuneSettings,
    read_state,
    write_state,
)
from laneway.replay.workload import Workload

__all__ = ["DEFAULT_EFFORTS", "TuneError", "TuneSettings", "tune_effort", "tune_resume"]
_REFUSED_STATUS = 400


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
    supported(spec.id, spec.reasoning_efforts, settings.efforts)  # TuneError before any file
    workload = _checked(workload_path, settings.tune_dir)
    write_state(settings, spec.id)
    return _climbed(spec.id, workload, settings, config, upstream, env)


def tune_resume(
    tune_dir: Path,
    config: GatewayConfig,
    *,
    spend_cap_usd: Decimal | None = None,
    upstream: Upstream | None = None,
    env: Mapping[str, str] | None = None,
) -> TuneReport:
    """Go on with a stopped tuning as it was started (`tune.json`): its complete runs are read
    from disk, one cut short is resumed; `spend_cap_usd` replaces its cap (the whole tuning's,
    spend so far included)."""
    model, settings = read_state(tune_dir)
    if spend_cap_usd is not None:
        settings = replace(settings, spend_cap_usd=spend_cap_usd)
        write_state(settings, model)
    workload = Workload.load(tune_dir / "workload.jsonl")
    return _climbed(model, workload, settings, config, upstream, env)


def _climbed(
    model: str,
    workload: Workload,
    settings: TuneSettings,
    config: GatewayConfig,
    upstream: Upstream | None,
    env: Mapping[str, str] | None,
) -> TuneReport:
    spec = Catalog.load(*config.catalog).get(model)
    efforts, notes = supported(spec.id, spec.reasoning_efforts, settings.efforts)
    runs = TuneRuns(spec.id, workload, settings, config, upstream, env)
    found = climb(len(efforts), workload.count, _Measure(runs, efforts), settings.policy)
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


@dataclass(frozen=True, slots=True)
class _Measure:
    """The policy's `measure`: a run of one effort on a range of lines, as per-line scores."""

    runs: TuneRuns
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
    runs: TuneRuns,
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
