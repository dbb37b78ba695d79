"""A run's plan, before any call: its cells, how many calls each makes, and their worst-case and
expected cost from the catalog (laneway.replay.costs says how each is figured). `laneway replay
--plan` prints it; a run whose worst case exceeds its spend cap (or is unknown against it)
refuses to start unless told.

An unknown price makes a cell's figures (and the run's) None, with a note: never zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from laneway.pricing.catalog import Catalog
from laneway.replay.costs import CallPricer
from laneway.replay.experiment import AS_WRITTEN, Cell, ExperimentConfig, cells
from laneway.replay.judge_costs import JudgeCost, JudgePricer
from laneway.replay.line_facts import FactsTable, line_facts
from laneway.replay.run_setup import read_workloads
from laneway.replay.workload import Workload


@dataclass(frozen=True, slots=True)
class CellPlan:
    cell: Cell
    calls: int  # lines x repeats
    worst_usd: Decimal | None  # None: a price is unknown
    expected_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class RunPlan:
    cells: tuple[CellPlan, ...]  # baseline first
    notes: tuple[str, ...]  # from experiment.cells() and the plan's own
    calls: int  # the judges' included
    worst_usd: Decimal | None  # the judges' included
    expected_usd: Decimal | None
    spend_cap_usd: Decimal | None
    judges: JudgeCost | None = None  # None: the experiment has no judges
    # Per workload line, in order: what pricing its calls needs (input counted exactly), read
    # once here and reused by the run, so no line is tokenized twice; a few numbers a line.
    line_facts: FactsTable = field(default_factory=FactsTable, repr=False, compare=False)

    @property
    def over_cap(self) -> bool:
        """The worst case exceeds the cap, or is unknown against one."""
        cap = self.spend_cap_usd
        return cap is not None and (self.worst_usd is None or self.worst_usd > cap)


def plan_run(experiment: ExperimentConfig, workload: Workload, catalog: Catalog) -> RunPlan:
    """The plan, from one pass over the workload's lines; UnknownModelError for a cell's model
    the catalog lacks (as `cells`)."""
    chosen, notes = cells(experiment, catalog)
    pricer = CallPricer(catalog)
    judging = JudgePricer(experiment.judges, catalog) if experiment.judges else None
    repeats = experiment.repeats
    worst: list[Decimal | None] = [Decimal(0)] * (len(chosen) + 1)  # the last: the judges'
    expected: list[Decimal | None] = [Decimal(0)] * (len(chosen) + 1)
    judge_calls = 0
    unpriced: dict[str, set[str]] = {}  # cell label -> models it could not price
    every = FactsTable()
    for line in workload.lines():
        facts = line_facts(line)
        every.append(facts)
        for index, cell in enumerate(chosen):
            cost = pricer.cost(line, facts, cell)
            if cost.worst_usd is None or cost.expected_usd is None:
                unpriced.setdefault(cell.label, set()).add(cost.model)
            worst[index] = _plus(worst[index], cost.worst_usd, repeats)
            expected[index] = _plus(expected[index], cost.expected_usd, repeats)
        if judging is not None:
            answers = [pricer.output_tokens(line, facts, cell) for cell in chosen]
            judged = judging.line(facts.input_tokens, answers)
            judge_calls += judged.calls * repeats
            worst[-1] = _plus(worst[-1], judged.worst_usd, repeats)
            expected[-1] = _plus(expected[-1], judged.expected_usd, repeats)
    calls = workload.count * repeats
    plans = tuple(
        CellPlan(cell, calls, w, e) for cell, w, e in zip(chosen, worst, expected, strict=False)
    )
    notes += [_unpriced_note(label, models) for label, models in unpriced.items()]
    judges = None if judging is None else JudgeCost(judge_calls, worst[-1], expected[-1])
    if judges is not None and judges.worst_usd is None:
        notes.append("judges: cost unknown (a judge model without a price, or an answer "
                     "without an output cap to bound what the judge reads)")  # fmt: skip
    also = () if judges is None else ((judges.worst_usd, judges.expected_usd),)
    return RunPlan(
        plans,
        tuple(notes),
        calls * len(plans) + (0 if judges is None else judges.calls),
        _total([*(p.worst_usd for p in plans), *(w for w, _ in also)]),
        _total([*(p.expected_usd for p in plans), *(e for _, e in also)]),
        experiment.spend_cap_usd,
        judges,
        every,
    )


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """An experiment read and planned, before any call: what `--plan` shows and `run` runs."""

    experiment: ExperimentConfig
    workload: Workload  # every workload, as one (read again from disk when needed)
    plan: RunPlan


def prepare(experiment: ExperimentConfig, catalog: Catalog) -> PreparedRun:
    """Read the experiment's workloads and plan it: WorkloadError naming every bad line,
    UnknownModelError for a model the catalog lacks."""
    workload = read_workloads(experiment.workloads)
    return PreparedRun(experiment, workload, plan_run(experiment, workload, catalog))


def _plus(total: Decimal | None, cost: Decimal | None, times: int) -> Decimal | None:
    return None if total is None or cost is None else total + cost * times


def _total(amounts: Iterable[Decimal | None]) -> Decimal | None:
    total = Decimal(0)
    for amount in amounts:
        if amount is None:
            return None
        total += amount
    return total


def _unpriced_note(label: str, models: set[str]) -> str:
    named = ", ".join(sorted(models))
    where = "as written" if label == AS_WRITTEN else label
    return (
        f"{where}: cost unknown for {named} (not in the catalog, unpriced, a lane or auto, "
        "or limits laneway cannot read)"
    )
