"""Which lane a run's workload stands for, and the model its lines were written for.

A run is a lane's when its experiment names one (`lane = "legacy"`, kept in run.json as
`extra["lane"]`), or else when every line of its workload was captured from that lane (lines
exported by `laneway workload export` carry it under their `laneway` key). Lines of mixed or
unknown lanes make a run no lane's: savings then cannot be projected, and apply needs --lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from laneway.replay.run_dir import WORKLOAD, RunDir, RunManifest
from laneway.replay.workload import Workload

LaneSource = Literal["experiment", "capture"]


@dataclass(frozen=True, slots=True)
class RunLane:
    lane: str | None  # None: the run stands for no one lane
    source: LaneSource | None
    line_model: str | None  # the one model the lines name, if they name one (as-written)
    note: str | None = None  # why the run is no lane's


def run_lane(run: RunDir, manifest: RunManifest) -> RunLane:
    """The run's lane, from its manifest, else from its workload's captured lines."""
    lanes: set[object] = set()
    models: set[object] = set()
    path = run.file(WORKLOAD)
    if path.exists():
        for line in Workload.load(path).lines():
            facts = line.laneway if isinstance(line.laneway, dict) else {}
            lanes.add(facts.get("lane"))
            models.add(line.body.get("model"))
    model = next(iter(models)) if len(models) == 1 else None
    line_model = model if isinstance(model, str) else None
    named = manifest.extra.get("lane")
    if isinstance(named, str):
        return RunLane(named, "experiment", line_model)
    captured = next(iter(lanes)) if len(lanes) == 1 else None
    if isinstance(captured, str):
        return RunLane(captured, "capture", line_model)
    why = (
        "its lines were captured from several lanes"
        if len(lanes - {None}) > 1
        else "neither the experiment (lane = ...) nor the lines' capture names a lane"
    )
    return RunLane(None, None, line_model, f"the run is no one lane's: {why}")
