"""Replay: a workload (an OpenAI Batch input file) run against candidate models and reasoning
efforts through laneway's own gateway, each call costed exactly and graded.

    from laneway.replay import RunSettings, run, resume, plan_run
    outcome = await run(experiment, RunSettings(Path("runs/r1")), config)
    report = replay(experiment, RunSettings(Path("runs/r2")))    # synchronous, summarised

The runner's names are imported on first use, so `import laneway.replay` stays light.
"""

import importlib
import typing

if typing.TYPE_CHECKING:
    from laneway.replay.cell_summary import CellSummary
    from laneway.replay.library import RunReport, replay, replay_resume
    from laneway.replay.plan import CellPlan, RunPlan, plan_run
    from laneway.replay.runner import RunEvents, RunOutcome, RunSettings, resume, run
    from laneway.replay.spend_cap import RunCapError
    from laneway.replay.summary import RunSummary, summarise

# name -> the module it lives in, imported when the name is first asked for.
_LAZY = {
    "CellPlan": "laneway.replay.plan",
    "CellSummary": "laneway.replay.cell_summary",
    "RunReport": "laneway.replay.library",
    "RunSummary": "laneway.replay.summary",
    "replay": "laneway.replay.library",
    "replay_resume": "laneway.replay.library",
    "summarise": "laneway.replay.summary",
    "RunCapError": "laneway.replay.spend_cap",
    "RunEvents": "laneway.replay.runner",
    "RunOutcome": "laneway.replay.runner",
    "RunPlan": "laneway.replay.plan",
    "RunSettings": "laneway.replay.runner",
    "plan_run": "laneway.replay.plan",
    "resume": "laneway.replay.runner",
    "run": "laneway.replay.runner",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'laneway.replay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CellPlan",
    "CellSummary",
    "RunCapError",
    "RunEvents",
    "RunOutcome",
    "RunPlan",
    "RunReport",
    "RunSettings",
    "RunSummary",
    "plan_run",
    "replay",
    "replay_resume",
    "resume",
    "run",
    "summarise",
]
