"""Replay from Python: run an experiment (or resume one) to its end and get typed results, the
runner's outcome and the per-cell summary, with results.json and summary.md written as
`laneway replay` writes them.

    from laneway.replay import replay
    report = replay(ExperimentConfig.load(Path("exp.toml")), RunSettings(Path("runs/first")))
    for cell in report.summary.cells:
        print(cell.label, cell.cost.per_pass_usd, cell.quality.mean)

Synchronous (it runs its own event loop); inside a loop already, await `runner.run` and call
`summary_files.write_summary` instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from laneway.config import GatewayConfig
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.run_dir import RunDir
from laneway.replay.runner import RunEvents, RunOutcome, RunSettings, resume, run
from laneway.replay.summary import RunSummary
from laneway.replay.summary_files import write_summary


@dataclass(frozen=True, slots=True)
class RunReport:
    outcome: RunOutcome
    summary: RunSummary


def replay(
    experiment: ExperimentConfig,
    settings: RunSettings,
    config: GatewayConfig | None = None,
    *,
    events: RunEvents | None = None,
) -> RunReport:
    """Run `experiment` into `settings.run_dir` and summarise it."""
    outcome = asyncio.run(run(experiment, settings, config or GatewayConfig(), events=events))
    return RunReport(outcome, write_summary(RunDir(outcome.run_dir), outcome))


def replay_resume(
    run_dir: Path, config: GatewayConfig | None = None, *, events: RunEvents | None = None
) -> RunReport:
    """Finish the run in `run_dir` (only the calls without a row are made) and summarise it."""
    outcome = asyncio.run(resume(run_dir, config or GatewayConfig(), events=events))
    return RunReport(outcome, write_summary(RunDir(outcome.run_dir), outcome))
