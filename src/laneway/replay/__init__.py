"""Replay: a workload (an OpenAI Batch input file) run against candidate models and reasoning
efforts through laneway's own gateway, each call costed exactly and graded.

    from laneway.replay import RunSettings, run, resume, plan_run
    outcome = await run(experiment, RunSettings(Path("runs/r1")), config)

The runner's names are imported on first use, so `import laneway.replay` stays light.
"""

import importlib
import typing

if typing.TYPE_CHECKING:
    from laneway.replay.plan import CellPlan, RunPlan, plan_run
    from laneway.replay.runner import RunEvents, RunOutcome, RunSettings, resume, run
    from laneway.replay.spend_cap import RunCapError

# name -> the module it lives in, imported when the name is first asked for.
_LAZY = {
    "CellPlan": "laneway.replay.plan",
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
    "RunCapError",
    "RunEvents",
    "RunOutcome",
    "RunPlan",
    "RunSettings",
    "plan_run",
    "resume",
    "run",
]
