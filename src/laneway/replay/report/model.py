"""The report's model: every figure the HTML, Markdown and JSON reports show, built once from a
run directory (laneway.replay.report.build), so the three cannot disagree.

Plain frozen dataclasses over the figures the rest of replay computes (the summary's
CellSummary, the statistics' CellStats, the recommendation's CellOption): money stays exact
Decimal, an unknown figure stays None, and the renderers only format.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from laneway.replay.cell_summary import CellSummary
from laneway.replay.recommend import CellOption, Recommendation
from laneway.replay.row_quality import QualityKind
from laneway.replay.stats.results import CellStats, Interval

VERSION: Final = 1  # of report.json's layout


@dataclass(frozen=True, slots=True)
class RunFacts:
    run_id: str
    created_at: float  # unix seconds
    upstream: str
    emulated: bool  # the emulator answered: its skills are emulated, not real models' quality
    tier: str | None
    quality_kind: QualityKind
    lines: int
    repeats: int
    planned: int
    completed: int
    workloads: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportCell:
    summary: CellSummary
    stats: CellStats  # quality, cost per call and latency with their intervals
    option: CellOption  # the cell as a choice: verdict, difference, saving
    picked: bool  # the recommendation's pick
    on_front: bool  # on the cost-vs-quality Pareto front

    @property
    def label(self) -> str:
        return self.summary.label


@dataclass(frozen=True, slots=True)
class LatencySpread:
    """A cell's answered calls' latencies: percentiles over every one, and a sample for the
    chart (every value when few, else evenly spaced order statistics: the same shape)."""

    label: str
    count: int
    percentiles: dict[str, float]  # "min", "p5", "p25", "p50", "p75", "p95", "p99", "max"
    sample: tuple[float, ...]  # sorted, at most SAMPLE_POINTS


@dataclass(frozen=True, slots=True)
class LineSide:
    """How one cell did on one workload line: its score over the counted repeats (a failed
    call counts as 0) and the answer of its first counted repeat."""

    score: float
    counted: int
    answer: str | None  # None: the call failed
    failure: str | None  # the failed call's kind
    answer_more: int = 0  # characters cut from the answer


@dataclass(frozen=True, slots=True)
class Regression:
    custom_id: str
    drop: float  # baseline's line score minus the candidate's (0..1)
    input_text: str  # the request's input, cut to INPUT_CHARS
    input_more: int  # characters cut
    expected: str | None  # the line's `expect`, as JSON; None: it has none
    baseline: LineSide
    candidate: LineSide


@dataclass(frozen=True, slots=True)
class CellRegressions:
    label: str  # the candidate
    compared: int  # lines both it and the baseline have a counted repeat of
    found: int  # lines where it scored below the baseline
    shown: tuple[Regression, ...]  # the worst, by drop


@dataclass(frozen=True, slots=True)
class EffortPoint:
    effort: str
    label: str
    quality: Interval | None
    cost_per_1k_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class EffortCurve:
    """One model measured at two or more reasoning efforts in the run, lowest effort first."""

    model: str
    points: tuple[EffortPoint, ...]


@dataclass(frozen=True, slots=True)
class RunSpend:
    spent_usd: Decimal  # the calls this run made (reused rows spent nothing)
    unknown_costs: int  # calls of unknown cost, not in spent_usd
    judge_usd: Decimal | None  # the judges' calls, apart; None: one's cost is unknown
    reused: int  # rows served from the call cache
    reused_usd: Decimal  # what those calls cost when they were made


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """A run model's prices in the run's catalog.toml, USD per 1M tokens (None: unknown)."""

    model: str
    input: Decimal | None
    cached_input: Decimal | None
    output: Decimal | None
    known: bool  # False: the catalog has no such model


@dataclass(frozen=True, slots=True)
class Report:
    run: RunFacts
    recommendation: Recommendation
    paragraph: str  # the recommendation and its confidence, as every output shows it
    cells: tuple[ReportCell, ...]  # the baseline first
    front: tuple[str, ...]  # the Pareto front's labels, cheapest first
    latencies: tuple[LatencySpread, ...]
    regressions: tuple[CellRegressions, ...]
    efforts: tuple[EffortCurve, ...]
    spend: RunSpend
    experiment_toml: str | None  # experiment.toml as the run wrote it
    prices: tuple[ModelPrices, ...]
    seed: int  # the bootstrap's
    notes: tuple[str, ...]

    @property
    def baseline(self) -> ReportCell:
        return self.cells[0]
