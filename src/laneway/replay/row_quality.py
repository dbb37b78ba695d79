"""How one row is judged: the grades it counts by, and whether it is a passing answer.

With expectations (any line's `expect`, or a Python grader) a row's grades are those the runner
wrote on it. With none at all, a row is graded by agreement with the baseline's answer to the
same line and repeat (laneway.replay.agreement); the baseline agrees with itself by construction,
so each of its answers scores 1.

A row's score is the mean of its grades. It is a passing answer when every grade reaches its
grader's pass mark: full marks (1.0) for every grader, partial ones (json_fields, a Python
grader) included, so a half-right answer is never a pass while its partial credit still shows in
the mean; and 0.8 for agreement, a token F1 at which two answers say nearly the same thing. A
grade with an error makes the row a grader error: neither a pass nor a 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from laneway.replay import agreement
from laneway.replay.graders import Grade
from laneway.replay.rows import ResultRow
from laneway.wire.answers import AnswerView

QualityKind = Literal["expectations", "agreement"]
FULL_MARKS: Final = 1.0
PASS_MARKS: Final[dict[str, float]] = {agreement.NAME: 0.8}  # else FULL_MARKS


@dataclass(frozen=True, slots=True)
class Verdict:
    grades: tuple[Grade, ...]  # () : not graded (no expectation, no answer, no reference)
    error: bool  # a grade could not be given
    score: float | None  # the mean of the grades; None when ungraded or in error
    passed: bool


References = Mapping[tuple[str, int], AnswerView]  # (custom_id, repeat) -> the baseline's


def references(rows: Iterable[ResultRow], baseline: str) -> dict[tuple[str, int], AnswerView]:
    """What agreement grades against: the baseline cell's answers, by line and repeat."""
    return {
        (row.custom_id, row.repeat): row.output
        for row in rows
        if row.cell == baseline and row.status == "ok" and row.output is not None
    }


def quality_kind(expectations: int, graders: int, judges: int) -> QualityKind:
    """What a run's quality figure is: graded (any expectation, Python grader or judge), else
    agreement with the baseline's answers."""
    return "expectations" if expectations or graders or judges else "agreement"


def judge(
    row: ResultRow, kind: QualityKind, references: Mapping[tuple[str, int], AnswerView]
) -> Verdict:
    """The verdict on `row`; `references`: the baseline's answers by (custom_id, repeat)."""
    if row.status != "ok":  # a failure is counted as one, not graded
        return Verdict((), False, None, False)
    grades = row.grades if kind == "expectations" else _agreement(row, references)
    if not grades:
        return Verdict((), False, None, False)
    if any(grade.value is None or grade.error is not None for grade in grades):
        return Verdict(grades, True, None, False)
    values = [grade.value for grade in grades if grade.value is not None]
    passed = all(
        value >= PASS_MARKS.get(grade.grader, FULL_MARKS)
        for grade, value in zip(grades, values, strict=True)
    )
    return Verdict(grades, False, sum(values) / len(values), passed)


def _agreement(
    row: ResultRow, references: Mapping[tuple[str, int], AnswerView]
) -> tuple[Grade, ...]:
    if row.output is None:
        return ()
    reference = references.get((row.custom_id, row.repeat))
    if reference is None:  # the baseline failed on this line: nothing to agree with
        return ()
    return (agreement.agreement(row.output, reference),)
