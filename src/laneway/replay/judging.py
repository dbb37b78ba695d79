"""A run's judges at work: each answered row judged by the experiment's model graders, through
the run's own gateway (charged to its spend cap), before the row is written.

A pairwise judge compares a candidate's answer with the baseline's to the same line and repeat.
Calls go line by line with the baseline first, so the baseline's call of a (line, repeat) has
always been taken by a worker before any candidate's: a candidate waits for it here, holding no
reservation. A baseline answer on disk (a resumed run) is read from there; one that failed, or
was never made (the run stopped), is None, and pairwise then has nothing to judge. What is
kept per (line, repeat) is dropped once every candidate of it has been judged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from laneway.replay.judges import Judge, JudgeTask
from laneway.replay.judges.pairwise import PairwiseJudge
from laneway.replay.rows import ResultRow
from laneway.wire.answers import AnswerView
from laneway.wire.batch_lines import BatchLine

_Key = tuple[str, int]  # (custom_id, repeat)


class _Pair:
    """A (line, repeat)'s baseline answer, once in, and how many candidates are still to be
    judged against it."""

    __slots__ = ("answer", "left")

    def __init__(self, candidates: int) -> None:
        self.answer: asyncio.Future[AnswerView | None] = asyncio.get_running_loop().create_future()
        self.left = candidates


class Judging:
    def __init__(self, judges: Sequence[Judge], candidates: int) -> None:
        """`candidates`: the cells judged against the baseline (every cell but it)."""
        self._judges = tuple(judges)
        self._pairwise = any(isinstance(judge, PairwiseJudge) for judge in judges)
        self._candidates = candidates
        self._pairs: dict[_Key, _Pair] = {}
        self._closed = False

    @property
    def pairwise(self) -> bool:
        """Whether a judge compares with the baseline's answers."""
        return self._pairwise

    def baseline_answered(
        self, custom_id: str, repeat: int, row: ResultRow | None, left: int | None = None
    ) -> None:
        """The baseline's row of (line, repeat) is in (None: it was never made); `left`: how
        many candidates are still to be judged against it, when not all (a resumed run)."""
        if not self._pairwise:
            return
        key = (custom_id, repeat)
        pair = self._pair(key)
        if left is not None:
            pair.left = left
        if not pair.answer.done():
            pair.answer.set_result(row.output if row is not None and row.status == "ok" else None)
        self._forget(key, pair)

    def close(self) -> None:
        """The run is stopping: no baseline still to come ever will."""
        self._closed = True
        for pair in self._pairs.values():
            if not pair.answer.done():
                pair.answer.set_result(None)

    async def judge(self, line: BatchLine, row: ResultRow, baseline: bool) -> ResultRow:
        """`row` with the judges' grades and what judging it cost; as it is when there is
        nothing to judge (no judges, no answer)."""
        if not self._judges:
            return row
        key = (row.custom_id, row.repeat)
        try:
            if row.output is None or row.status != "ok":
                return row
            other = None
            if self._pairwise and not baseline:
                other = await self._pair(key).answer
            return await self._judged(JudgeTask(line.endpoint, line.body, row.output, other,
                                                row.repeat), row, baseline)  # fmt: skip
        finally:
            if self._pairwise and not baseline:
                pair = self._pair(key)
                pair.left -= 1
                self._forget(key, pair)

    async def _judged(self, task: JudgeTask, row: ResultRow, baseline: bool) -> ResultRow:
        grades, records = list(row.grades), list[str]()
        cost: Decimal | None = Decimal(0)
        for judge in self._judges:
            if baseline and isinstance(judge, PairwiseJudge):
                continue  # the baseline against itself says nothing
            judged = await judge.judge(task)
            if judged is None:
                continue
            grades.append(judged.grade)
            records += judged.record_ids
            spent = judged.cost_usd
            cost = None if cost is None or spent is None else cost + spent
        if not records and cost == 0:
            return replace(row, grades=tuple(grades))
        return replace(row, grades=tuple(grades), judge_cost_usd=cost, judge_records=tuple(records))

    def _pair(self, key: _Key) -> _Pair:
        pair = self._pairs.get(key)
        if pair is None:
            pair = self._pairs[key] = _Pair(self._candidates)
            if self._closed:
                pair.answer.set_result(None)
        return pair

    def _forget(self, key: _Key, pair: _Pair) -> None:
        if pair.left <= 0 and pair.answer.done():
            self._pairs.pop(key, None)
