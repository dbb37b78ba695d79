"""What a judge is given and what it gives back: the task and answer(s) to judge, and the grade
with the judge's calls (their ledger records and exact costs), so a report can show what judging
cost apart from what the candidates cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from laneway.replay.graders import Grade
from laneway.wire.answers import AnswerView
from laneway.wire.request import Endpoint


@dataclass(frozen=True, slots=True)
class JudgeTask:
    """One answer to judge: the request it answers (the body as the candidate was sent it),
    the candidate's answer, the baseline's answer to the same line and repeat (pairwise), and
    the repeat (so each repeat is judged afresh)."""

    endpoint: Endpoint
    request: Mapping[str, Any]
    answer: AnswerView
    baseline: AnswerView | None = None
    repeat: int = 0


@dataclass(frozen=True, slots=True)
class JudgeCall:
    """One call the judge made: which (the rubric, or which answer was shown first), its ledger
    record (None when refused before one existed) and its exact cost (None: unknown)."""

    asked: str  # "rubric", "candidate first", "baseline first"
    record_id: str | None
    cost_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class Judged:
    grade: Grade
    calls: tuple[JudgeCall, ...]

    @property
    def cost_usd(self) -> Decimal | None:
        """What judging this answer cost, exactly; None when any call's cost is unknown."""
        costs = [call.cost_usd for call in self.calls]
        if any(cost is None for cost in costs):
            return None
        return sum((cost for cost in costs if cost is not None), Decimal(0))

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(call.record_id for call in self.calls if call.record_id is not None)
