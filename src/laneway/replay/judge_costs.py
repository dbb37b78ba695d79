"""What a run's judges may cost and are expected to cost, before any call: the plan's judges row,
held against the spend cap with the calls'. Per judge call:

    input   the judge's prompt without the task and the answers (counted exactly, once per judge)
            + the line's input tokens (the task, counted as for its own call) + the answer(s):
            for the worst case each at its call's output cap, for the expected cost at
            laneway.replay.costs' EXPECTED_OUTPUT for its effort
    output  the judge's max_output_tokens for the worst case; EXPECTED_OUTPUT at the judge's own
            effort (within that) for the expected cost

A rubric judge scores every cell's answer, the baseline's included; a pairwise judge compares
each other cell's answer with the baseline's, twice with `both_orders`. The figures assume every
call answers (a failed call is not judged, so the real cost can only be lower). An answer whose
cap is unknown, or a judge model without a price, makes the judges' figures unknown, never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.pricing.worst_case import WorstCase, usd_of_nano
from laneway.replay.costs import DEFAULT_EFFORT, EXPECTED_OUTPUT
from laneway.replay.judges.config import JudgeConfig, PairwiseJudgeConfig, RubricJudgeConfig
from laneway.replay.judges.prompts import (
    PAIRWISE_SCHEMA,
    RUBRIC_SCHEMA,
    judge_body,
    pairwise_prompt,
    rubric_prompt,
)
from laneway.usage import Usage
from laneway.wire.features import exact_input_tokens

Answer = tuple[int | None, int]  # (output cap: None when unbounded or unknown, expected tokens)


@dataclass(frozen=True, slots=True)
class JudgeCost:
    calls: int
    worst_usd: Decimal | None  # None: unknown
    expected_usd: Decimal | None


class JudgePricer:
    """The judges' cost for one line: `line(input_tokens, answers)`, the baseline's first."""

    def __init__(self, judges: Sequence[JudgeConfig], catalog: Catalog) -> None:
        self._judges = [(judge, _overhead(judge)) for judge in judges]
        self._catalog = catalog
        self._worst = WorstCase(catalog)

    def line(self, input_tokens: int, answers: Sequence[Answer]) -> JudgeCost:
        calls, worst, expected = 0, Decimal(0), Decimal(0)
        unknown = False
        for judge, overhead in self._judges:
            for shown in _asked(judge, answers):
                calls += 1
                cost = self._call(judge, overhead + input_tokens, shown)
                if cost is None:
                    unknown = True
                else:
                    worst += cost[0]
                    expected += cost[1]
        return JudgeCost(calls, None if unknown else worst, None if unknown else expected)

    def _call(
        self, judge: JudgeConfig, base: int, shown: Sequence[Answer]
    ) -> tuple[Decimal, Decimal] | None:
        spec = self._catalog.find(judge.model)
        caps = [cap for cap, _ in shown]
        if spec is None or None in caps:
            return None
        worst_input = base + sum(cap for cap in caps if cap is not None)
        nano = self._worst.nano(spec.id, worst_input, judge.max_output_tokens)
        effort = judge.effort or DEFAULT_EFFORT
        verdict = min(EXPECTED_OUTPUT.get(effort, EXPECTED_OUTPUT[DEFAULT_EFFORT]),
                      judge.max_output_tokens)  # fmt: skip
        usage = Usage(input_tokens=base + sum(e for _, e in shown), output_tokens=verdict)
        expected = cost_of(spec, usage).total
        if nano is None or expected is None:
            return None
        return usd_of_nano(nano), expected


def _asked(judge: JudgeConfig, answers: Sequence[Answer]) -> list[Sequence[Answer]]:
    """The answers shown in each of this judge's calls for one line and repeat."""
    if isinstance(judge, RubricJudgeConfig):
        return [[answer] for answer in answers]
    baseline, others = answers[0], answers[1:]
    orders = 2 if judge.both_orders else 1
    return [[answer, baseline] for answer in others for _ in range(orders)]


def _overhead(judge: JudgeConfig) -> int:
    """The judge's prompt tokens with an empty task and empty answers."""
    if isinstance(judge, PairwiseJudgeConfig):
        prompt = pairwise_prompt(judge.criteria, "", "", "")
        verdict = ("pairwise_verdict", PAIRWISE_SCHEMA)
    else:
        prompt = rubric_prompt(judge.rubric, judge.scale, "", "")
        verdict = ("rubric_score", RUBRIC_SCHEMA)
    body = judge_body(judge.model, judge.effort, judge.max_output_tokens, prompt, verdict)
    return exact_input_tokens("responses", body)
