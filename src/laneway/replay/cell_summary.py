"""One cell's figures, as `laneway.replay.summary` computes them from a run directory: calls,
failures, tokens, exact cost, quality, latency and throughput. Typed and frozen; money is exact
Decimal (quantized only when rendered), and an unknown figure is None, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from laneway.replay.row_quality import QualityKind

TOKEN_KINDS = ("input", "cached", "uncached", "output", "reasoning")


@dataclass(frozen=True, slots=True)
class TokenFigures:
    totals: dict[str, int]  # by TOKEN_KINDS; cached is a part of input, reasoning of output
    requests: int  # rows that reported usage

    def per_request(self, kind: str) -> float | None:
        return self.totals[kind] / self.requests if self.requests else None


@dataclass(frozen=True, slots=True)
class CostFigures:
    total_usd: Decimal  # exact, over the rows whose cost is known
    unknown: int  # rows that may have cost something, at a cost unknown (not in total_usd)
    # Each None when any cost is unknown (a figure with a hole in it is not a figure):
    per_request_usd: Decimal | None  # over every call, failures included
    per_1k_usd: Decimal | None
    per_pass_usd: Decimal | None  # also None with no passing answer
    # The total by kind (uncached input, cached input, output with reasoning in it, and the
    # reasoning share of output), priced by the run's catalog for the model that answered;
    # None when a part's price is unknown.
    parts_usd: dict[str, Decimal] | None = None

    def part_per_1k(self, kind: str, calls: int) -> Decimal | None:
        parts = self.parts_usd
        return None if parts is None or not calls else parts[kind] * 1000 / calls


@dataclass(frozen=True, slots=True)
class GraderFigures:
    grader: str
    mean: float | None
    graded: int
    errors: int  # grades it could not give (not counted as 0)


@dataclass(frozen=True, slots=True)
class QualityFigures:
    kind: QualityKind  # "agreement": with the baseline's answer, never correctness
    mean: float | None  # the mean row score over graded rows
    graders: tuple[GraderFigures, ...]
    graded: int
    ungraded: int  # ok rows with nothing to grade them by
    grader_errors: int  # rows a grader could not grade: neither a pass nor a 0
    passing: int

    @property
    def grader_names(self) -> str:
        return ", ".join(g.grader for g in self.graders) or "none"


@dataclass(frozen=True, slots=True)
class LatencyFigures:  # milliseconds, over ok rows
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    streamed: int  # ok rows whose line asked for a stream
    ttft_p50_ms: float | None  # time to first token, streams only; None when none streamed
    ttft_p95_ms: float | None


@dataclass(frozen=True, slots=True)
class ThroughputFigures:
    tier: str | None
    ceiling_rpm: Decimal | None  # None: the tier's limits are unknown, never "unlimited"
    bound_by: str  # "rpm", "tpm" or "unknown"
    tokens_per_request: Decimal  # the TPM mix: mean of input + requested output cap
    achieved_rpm: float | None  # the cell's rows over its own span (first start to last end)
    span_s: float | None


@dataclass(frozen=True, slots=True)
class FlipFigures:
    pairs: int
    flips: int

    @property
    def rate(self) -> float | None:
        return self.flips / self.pairs if self.pairs else None


@dataclass(frozen=True, slots=True)
class CellSummary:
    label: str
    model: str
    effort: str | None
    baseline: bool
    planned: int  # lines x repeats
    calls: int  # rows on disk
    ok: int
    failures: dict[str, int]  # by kind: the row's error_kind, else its status
    recovered: int  # ok rows that needed more than one attempt
    retries: int  # attempts beyond the first, over every row
    tokens: TokenFigures
    cost: CostFigures
    quality: QualityFigures
    latency: LatencyFigures
    throughput: ThroughputFigures
    # Rows served from the call cache: no call was made, their figures are the earlier call's;
    # `reused_usd` is their cost, in `cost` but not spent by this run.
    reused: int = 0
    reused_usd: Decimal = Decimal(0)
    # Model graders: what judging this cell's answers cost (apart from `cost`; None when a
    # judge call's cost is unknown), and per judge its two-order verdicts and how many flipped
    # with the order shown (its position bias).
    judge_usd: Decimal | None = Decimal(0)
    judge_flips: dict[str, FlipFigures] = field(default_factory=dict)
