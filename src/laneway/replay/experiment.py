"""An experiment: which workloads, against which baseline, which candidate cells (models x
reasoning efforts, or an explicit list), how many repeats, how many calls at once, and the spend
cap. Read from TOML (typed, unknown keys rejected) or built from `laneway replay`'s flags.

    workloads = ["support.jsonl"]
    baseline = { model = "gpt-5.2", effort = "none" }   # or baseline = "as-written"
    repeats = 1
    concurrency = 8
    spend_cap_usd = "5.00"
    graders = ["mychecks:polite"]                       # optional: module:function
    lane = "legacy"                                     # optional: the lane it stands for

    [candidates]
    models = ["gpt-5.4-mini", "gpt-5.4"]
    efforts = ["none", "low"]
    # or: cells = [{ model = "gpt-5.4-nano", effort = "low" }]

`cells()` expands it against the catalog: an effort the catalog says a model does not support is
skipped with a note and never sent; a model whose efforts the catalog does not know is kept, with
a note, since only the provider can tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, model_validator

from laneway.config_file import Strict, load_toml
from laneway.errors import ConfigError
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ReasoningEffort
from laneway.replay.judges.config import JudgeConfig

AS_WRITTEN: Final = "as-written"  # the baseline: each line's own model and effort


class CellConfig(Strict):
    model: str = Field(min_length=1)
    effort: ReasoningEffort | None = None  # None: the line's own effort, if any


class CandidatesConfig(Strict):
    models: tuple[str, ...] = ()
    efforts: tuple[ReasoningEffort, ...] = ()
    cells: tuple[CellConfig, ...] = ()

    @model_validator(mode="after")
    def _one_form(self) -> CandidatesConfig:
        if self.cells and (self.models or self.efforts):
            raise ValueError("give either models and efforts (a matrix) or cells (a list)")
        if not self.cells and not self.models:
            raise ValueError("name at least one candidate model")
        return self


class ExperimentConfig(Strict):
    workloads: tuple[str, ...] = Field(min_length=1)
    baseline: CellConfig | Literal["as-written"] = AS_WRITTEN
    candidates: CandidatesConfig
    repeats: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=8, ge=1, le=1024)
    spend_cap_usd: Decimal | None = Field(default=None, gt=0)  # None: no cap
    judges: tuple[JudgeConfig, ...] = ()  # model graders (docs/judges.md)
    # Python graders of the user's own (module:function, laneway.replay.python_grader), run on
    # every answer beside the lines' expectations; loaded before any call.
    graders: tuple[str, ...] = ()
    # The lane whose traffic the workload stands for (laneway.replay.run_lane): what
    # `laneway replay recommend` projects savings for and `apply` changes.
    lane: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

    @classmethod
    def load(cls, path: Path) -> ExperimentConfig:
        return load_toml(cls, path, ConfigError)


@dataclass(frozen=True, slots=True)
class Cell:
    model: str  # AS_WRITTEN for the baseline that keeps each line's own
    effort: str | None  # None: as the line says
    baseline: bool = False

    @property
    def label(self) -> str:
        return self.model if self.effort is None else f"{self.model}@{self.effort}"


def cells(experiment: ExperimentConfig, catalog: Catalog) -> tuple[list[Cell], list[str]]:
    """The cells to run, the baseline first, each once; and notes on what was skipped or kept
    without the catalog's word. UnknownModelError (with suggestions) for a model it lacks."""
    notes: list[str] = []
    base = experiment.baseline
    chosen = [
        Cell(AS_WRITTEN, None, True)
        if isinstance(base, str)
        else Cell(catalog.get(base.model).id, base.effort, True)
    ]
    for model, effort in _asked(experiment.candidates):
        spec = catalog.get(model)
        supported = spec.reasoning_efforts
        if effort is not None and supported is None:
            notes.append(f"{spec.id}: efforts unknown to the catalog; {effort} sent as asked")
        elif effort is not None and supported is not None and effort not in supported:
            notes.append(f"{spec.id}@{effort} skipped: {spec.id} supports {', '.join(supported)}")
            continue
        cell = Cell(spec.id, effort)
        if any((c.model, c.effort) == (cell.model, cell.effort) for c in chosen):
            continue  # the baseline, or a cell asked twice: measured once
        chosen.append(cell)
    return chosen, notes


def _asked(candidates: CandidatesConfig) -> list[tuple[str, str | None]]:
    if candidates.cells:
        return [(c.model, c.effort) for c in candidates.cells]
    efforts: tuple[str | None, ...] = candidates.efforts or (None,)
    return [(model, effort) for model in candidates.models for effort in efforts]
