"""A cell's running totals as its rows stream past, turned into its figures at the end.

Memory is O(rows) small numbers (latencies) and O(graders), never a row's answer: the summary
of a 40,000-row run reads results.jsonl once a pass and keeps nothing else of a row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.replay.cell_summary import (
    TOKEN_KINDS,
    CellSummary,
    CostFigures,
    FlipFigures,
    GraderFigures,
    LatencyFigures,
    QualityFigures,
    ThroughputFigures,
    TokenFigures,
)
from laneway.replay.costs import cost_unknown
from laneway.replay.experiment import Cell
from laneway.replay.judges.tally import position_flips
from laneway.replay.percentiles import percentiles
from laneway.replay.row_quality import QualityKind, Verdict
from laneway.replay.rows import ResultRow, RowUsage
from laneway.replay.throughput import Ceiling
from laneway.usage import Usage

_THOUSAND = Decimal(1000)
_ZERO = Decimal(0)
PARTS = ("uncached_input", "cached_input", "output", "reasoning")


@dataclass(slots=True)
class _GraderTally:
    total: float = 0.0
    graded: int = 0
    errors: int = 0


@dataclass(slots=True)
class CellTally:
    cell: Cell
    planned: int
    calls: int = 0
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    retries: int = 0
    tokens: Counter[str] = field(default_factory=Counter)
    with_usage: int = 0
    cost: Decimal = Decimal(0)
    unknown_costs: int = 0
    scores: float = 0.0
    graded: int = 0
    ungraded: int = 0
    grader_errors: int = 0
    passing: int = 0
    graders: dict[str, _GraderTally] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    streamed: int = 0
    first_start: float | None = None
    last_end: float | None = None
    reused: int = 0
    reused_cost: Decimal = Decimal(0)
    catalog: Catalog | None = None  # prices the cost's parts by kind (None: not split)
    parts: dict[str, Decimal] | None = field(default_factory=lambda: dict.fromkeys(PARTS, _ZERO))
    judge_cost: Decimal | None = Decimal(0)
    flips: dict[str, list[int]] = field(default_factory=dict)  # judge -> [pairs, flips]

    def add(self, row: ResultRow, verdict: Verdict, streamed: bool) -> None:
        self.calls += 1
        self.retries += max(row.attempts - 1, 0)
        if row.status == "ok":
            self.ok += 1
            self.recovered += row.attempts > 1
            if row.latency_ms is not None:
                self.latencies.append(row.latency_ms)
            if streamed:
                self.streamed += 1
                if row.ttfb_ms is not None:
                    self.ttfts.append(row.ttfb_ms)
        else:
            self.failures[row.error_kind or row.status] += 1
        self._add_usage(row)
        self._add_verdict(row, verdict)
        self._add_judging(row)
        if row.reused:  # no call made now: not in what the run achieved
            self.reused += 1
            self.reused_cost += row.cost_usd or 0
        else:
            self._add_span(row)

    def _add_judging(self, row: ResultRow) -> None:
        if row.judge_records and row.judge_cost_usd is None:
            self.judge_cost = None  # a judge call of unknown cost: the total is unknown
        elif self.judge_cost is not None and row.judge_cost_usd is not None:
            self.judge_cost += row.judge_cost_usd
        for name, count in position_flips(row.grades).items():
            held = self.flips.setdefault(name, [0, 0])
            held[0] += count.pairs
            held[1] += count.flips

    def _add_parts(self, model: str | None, usage: RowUsage) -> None:
        parts, spec = self.parts, None
        if parts is None:
            return
        if self.catalog is not None and model is not None:
            spec = self.catalog.find(model)
        if spec is None:
            self.parts = None  # a part that cannot be priced: no split, never a zero
            return
        split = cost_of(
            spec,
            Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                reasoning_tokens=usage.reasoning_tokens,
            ),
        )
        for kind, amount in zip(
            PARTS,
            (split.uncached_input, split.cached_input, split.output, split.reasoning),
            strict=True,
        ):
            if amount is None:
                self.parts = None
                return
            parts[kind] += amount

    def _add_usage(self, row: ResultRow) -> None:
        if row.cost_usd is not None:
            self.cost += row.cost_usd
        elif cost_unknown(row):  # as the runner counts it: an error before any output is free
            self.unknown_costs += 1
        usage = row.usage
        if usage is None:
            return
        self._add_parts(row.model, usage)
        self.with_usage += 1
        self.tokens["input"] += usage.input_tokens
        self.tokens["cached"] += usage.cached_input_tokens
        self.tokens["uncached"] += usage.input_tokens - usage.cached_input_tokens
        self.tokens["output"] += usage.output_tokens
        self.tokens["reasoning"] += usage.reasoning_tokens

    def _add_verdict(self, row: ResultRow, verdict: Verdict) -> None:
        for grade in verdict.grades:
            tally = self.graders.setdefault(grade.grader, _GraderTally())
            if grade.value is None or grade.error is not None:
                tally.errors += 1
            else:
                tally.total += grade.value
                tally.graded += 1
        if verdict.error:
            self.grader_errors += 1
        elif verdict.score is not None:
            self.graded += 1
            self.scores += verdict.score
            self.passing += verdict.passed
        elif row.status == "ok":
            self.ungraded += 1

    def _add_span(self, row: ResultRow) -> None:
        end = row.started_at + (row.latency_ms or 0.0) / 1000
        if self.first_start is None or row.started_at < self.first_start:
            self.first_start = row.started_at
        if self.last_end is None or end > self.last_end:
            self.last_end = end

    def summary(self, kind: QualityKind, ceiling: Ceiling, tier: str | None) -> CellSummary:
        cell = self.cell
        return CellSummary(
            label=cell.label,
            model=cell.model,
            effort=cell.effort,
            baseline=cell.baseline,
            planned=self.planned,
            calls=self.calls,
            ok=self.ok,
            failures=dict(sorted(self.failures.items())),
            recovered=self.recovered,
            retries=self.retries,
            tokens=TokenFigures({kind: self.tokens[kind] for kind in TOKEN_KINDS}, self.with_usage),
            cost=self._cost(),
            quality=self._quality(kind),
            latency=self._latency(),
            throughput=self._throughput(ceiling, tier),
            reused=self.reused,
            reused_usd=self.reused_cost,
            judge_usd=self.judge_cost,
            judge_flips={name: FlipFigures(*held) for name, held in sorted(self.flips.items())},
        )

    def _cost(self) -> CostFigures:
        parts = None if self.parts is None else dict(self.parts)
        if self.unknown_costs or not self.calls:
            return CostFigures(self.cost, self.unknown_costs, None, None, None, parts)
        per_request = self.cost / self.calls
        per_pass = self.cost / self.passing if self.passing else None
        per_1k = self.cost * _THOUSAND / self.calls
        return CostFigures(self.cost, 0, per_request, per_1k, per_pass, parts)

    def _quality(self, kind: QualityKind) -> QualityFigures:
        graders = tuple(
            GraderFigures(name, t.total / t.graded if t.graded else None, t.graded, t.errors)
            for name, t in self.graders.items()
        )
        mean = self.scores / self.graded if self.graded else None
        return QualityFigures(
            kind, mean, graders, self.graded, self.ungraded, self.grader_errors, self.passing
        )

    def _latency(self) -> LatencyFigures:
        p50, p95, p99 = percentiles(self.latencies, (50, 95, 99))
        t50, t95 = percentiles(self.ttfts, (50, 95))
        return LatencyFigures(p50, p95, p99, self.streamed, t50, t95)

    def _throughput(self, ceiling: Ceiling, tier: str | None) -> ThroughputFigures:
        span = None
        if self.first_start is not None and self.last_end is not None:
            span = self.last_end - self.first_start
        achieved = self.calls * 60 / span if span else None
        return ThroughputFigures(
            tier,
            ceiling.requests_per_min,
            ceiling.bound_by,
            ceiling.tokens_per_request,
            achieved,
            span,
        )
