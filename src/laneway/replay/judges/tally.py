"""What a run's report shows about its judges: per judge, how often a two-order pairwise verdict
flipped with the order (its position bias: read from the grades, so a resumed run counts the
rows on disk too), and what judging cost, apart from the candidates' calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from laneway.replay.graders import Grade
from laneway.replay.judges.judged import Judged


@dataclass(slots=True)
class FlipCount:
    pairs: int = 0  # verdicts asked in both orders (and read)
    flips: int = 0  # of them, verdicts that followed the order shown

    @property
    def rate(self) -> float | None:
        """The share of pairs that flipped: the judge's position bias; None with no pairs."""
        return self.flips / self.pairs if self.pairs else None


def position_flips(grades: Iterable[Grade]) -> dict[str, FlipCount]:
    """Per judge (grade name), its two-order verdicts and flips; other grades are skipped."""
    counts: dict[str, FlipCount] = {}
    for grade in grades:
        if grade.flipped is None:
            continue
        count = counts.setdefault(grade.grader, FlipCount())
        count.pairs += 1
        count.flips += grade.flipped
    return counts


@dataclass(slots=True)
class JudgeTally:
    """Judging's calls and spend: exact over the calls whose cost is known, the others
    counted (never taken as zero)."""

    calls: int = 0
    spent_usd: Decimal = field(default_factory=Decimal)
    unknown_costs: int = 0
    errors: int = 0  # grades the judge could not give

    def add(self, judged: Judged) -> None:
        self.errors += judged.grade.value is None
        for call in judged.calls:
            self.calls += 1
            if call.cost_usd is None:
                self.unknown_costs += 1
            else:
                self.spent_usd += call.cost_usd
