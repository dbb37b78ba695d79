"""Per workload line, how a cell did in one run, for `laneway replay diff`: whether the line
passed, and the answer shown for it when it flipped between two runs.

Rows are judged exactly as the summary judges them (laneway.replay.row_quality.judge). A line
passes in a cell when every one of its counted repeats passed, and fails when none did; a line
whose repeats disagree is "mixed" and is no flip (its change shows in the quality difference). A
failed call counts as a repeat that did not pass: an answer lost to a timeout is a regression a
reader should see. An ungraded answer or a grader error counts neither way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal

from laneway.replay.row_quality import QualityKind, Verdict, judge, quality_kind, references
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import RunDir
from laneway.replay.workload import Workload
from laneway.wire.answers import AnswerView

LineState = Literal["pass", "fail", "mixed"]
LineKey = tuple[str, str]  # (cell label, custom_id)


@dataclass(slots=True)
class LineTally:
    passed: int = 0
    counted: int = 0  # repeats that passed or did not (failed calls included)

    @property
    def state(self) -> LineState | None:
        """None: no repeat of the line could be counted."""
        if not self.counted:
            return None
        if self.passed == self.counted:
            return "pass"
        return "fail" if not self.passed else "mixed"


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """What a cell answered a line, as shown beside the other run's: its first counted repeat."""

    repeat: int
    text: str | None  # None: no answer (the call failed)
    failure: str | None  # the failed call's kind ("timeout", ...), else None
    score: float | None
    passed: int  # of the line's counted repeats
    counted: int


@dataclass(frozen=True, slots=True)
class JudgedRun:
    """A run's rows with their verdicts; the agreement references kept once."""

    run: RunDir
    kind: QualityKind
    references: dict[tuple[str, int], AnswerView]

    @classmethod
    def open(cls, run: RunDir, workload: Workload) -> JudgedRun:
        manifest = run.manifest()
        kind = quality_kind(workload.expectations, len(manifest.graders), len(manifest.judges))
        found = {}
        if kind == "agreement":
            found = references(run.rows(), manifest.baseline.label)
        return cls(run, kind, found)

    def rows(self) -> Iterator[tuple[ResultRow, Verdict]]:
        """The rows that count toward a line's pass (see the module's docstring)."""
        for row in self.run.rows():
            verdict = judge(row, self.kind, self.references)
            if row.status == "ok" and verdict.score is None:
                continue
            yield row, verdict


def line_tallies(judged: JudgedRun) -> dict[LineKey, LineTally]:
    tallies: dict[LineKey, LineTally] = {}
    for row, verdict in judged.rows():
        tally = tallies.setdefault((row.cell, row.custom_id), LineTally())
        tally.counted += 1
        tally.passed += verdict.passed
    return tallies


def line_answers(
    judged: JudgedRun, wanted: Collection[LineKey], tallies: dict[LineKey, LineTally]
) -> dict[LineKey, LineAnswer]:
    """The `wanted` lines' answers: each line's lowest counted repeat (one pass over the rows,
    keeping only those lines)."""
    found: dict[LineKey, LineAnswer] = {}
    for row, verdict in judged.rows():
        key = (row.cell, row.custom_id)
        if key not in wanted or (key in found and found[key].repeat <= row.repeat):
            continue
        tally = tallies[key]
        found[key] = LineAnswer(
            repeat=row.repeat,
            text=None if row.output is None else answer_text(row.output),
            failure=None if row.status == "ok" else (row.error_kind or row.status),
            score=verdict.score,
            passed=tally.passed,
            counted=tally.counted,
        )
    return found


def answer_text(answer: AnswerView) -> str:
    """The answer's text, then its tool calls, one a line."""
    calls = [f"{call.name}({call.arguments})" for call in answer.tool_calls]
    return "\n".join(part for part in (answer.text, *calls) if part)
