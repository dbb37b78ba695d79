"""The pairwise judge: which of two answers, the candidate's and the baseline's to the same line
and repeat, better answers the task. 1.0 a win for the candidate, 0.0 a loss, 0.5 a tie.

Judges favour the answer shown first (or second) whatever it says: a position bias. So by
default each pair is asked in both orders, the candidate shown first and then second. A win or
a loss needs both orders to agree; a verdict that follows the order (the first-shown answer
picked both times, or the second both times) is a tie, and the grade says it flipped, so a
report can show how often the judge's verdict was its position bias; a tie in either order is a
tie. One-order mode (`both_orders = false`, the candidate shown first) costs one call and says
in every explanation that the bias is not controlled.
"""

from __future__ import annotations

import asyncio
from typing import Final

from laneway.replay.graders import Grade
from laneway.replay.judges.asking import JudgeAsk
from laneway.replay.judges.base import Asked, Judge, ask_once
from laneway.replay.judges.config import PairwiseJudgeConfig
from laneway.replay.judges.judged import Judged, JudgeTask
from laneway.replay.judges.prompts import (
    PAIRWISE_SCHEMA,
    answer_text,
    judge_body,
    pairwise_prompt,
    task_text,
)
from laneway.replay.judges.replies import JudgeReplyError, Winner, read_winner
from laneway.wire.answers import AnswerView

WIN: Final = 1.0
LOSS: Final = 0.0
TIE: Final = 0.5
# The candidate's outcome from the verdict, by where the candidate was shown.
_SHOWN_FIRST: dict[Winner, float] = {"A": WIN, "B": LOSS, "tie": TIE}
_SHOWN_SECOND: dict[Winner, float] = {"A": LOSS, "B": WIN, "tie": TIE}
_SAID = {WIN: "the candidate wins", LOSS: "the baseline wins", TIE: "a tie"}
ONE_ORDER = "one order only (candidate shown first): position bias not controlled"


class PairwiseJudge(Judge):
    def __init__(self, config: PairwiseJudgeConfig, ask: JudgeAsk) -> None:
        self.name = config.grader_name
        self._config = config
        self._ask = ask

    def body(self, task: JudgeTask, first: AnswerView, second: AnswerView) -> dict[str, object]:
        config = self._config
        prompt = pairwise_prompt(
            config.criteria,
            task_text(task.endpoint, task.request),
            answer_text(first),
            answer_text(second),
        )
        verdict = ("pairwise_verdict", PAIRWISE_SCHEMA)
        return judge_body(config.model, config.effort, config.max_output_tokens, prompt, verdict)

    async def judge(self, task: JudgeTask) -> Judged | None:
        """None when there is no baseline answer to compare with (the baseline failed)."""
        baseline = task.baseline
        if baseline is None:
            return None
        first = self._asking(task, task.answer, baseline, "candidate first")
        if not self._config.both_orders:
            return self._one_order(await first)
        second = self._asking(task, baseline, task.answer, "baseline first")
        return self._both_orders(*await asyncio.gather(first, second))

    async def _asking(
        self, task: JudgeTask, first: AnswerView, second: AnswerView, asked: str
    ) -> Asked:
        return await ask_once(self._ask, self.body(task, first, second), task.repeat, asked)

    def _one_order(self, asked: Asked) -> Judged:
        calls = (asked.call,)
        read = _read(asked)
        if isinstance(read, str):
            return self.error(_text(asked), read, calls)
        winner, reason = read
        outcome = _SHOWN_FIRST[winner]
        why = f"{_SAID[outcome]}; {ONE_ORDER}; judge: {reason}"
        return Judged(Grade(self.name, outcome, f"candidate first: {winner}", why), calls)

    def _both_orders(self, first: Asked, second: Asked) -> Judged:
        calls = (first.call, second.call)
        read_first, read_second = _read(first), _read(second)
        if isinstance(read_first, str):
            return self.error(_text(first), f"{first.call.asked}: {read_first}", calls)
        if isinstance(read_second, str):
            return self.error(_text(second), f"{second.call.asked}: {read_second}", calls)
        (won_first, reason_first), (won_second, reason_second) = read_first, read_second
        shown_first, shown_second = _SHOWN_FIRST[won_first], _SHOWN_SECOND[won_second]
        flipped = {shown_first, shown_second} == {WIN, LOSS}
        outcome = shown_first if shown_first == shown_second else TIE
        if flipped:
            said = "a tie: the verdict followed the order shown (a position flip)"
        elif shown_first != shown_second:
            said = "a tie: one order was a tie"
        else:
            said = f"{_SAID[outcome]} in both orders"
        why = f"{said}; candidate first: {reason_first}; baseline first: {reason_second}"
        answer = f"candidate first: {won_first}; baseline first: {won_second}"
        return Judged(Grade(self.name, outcome, answer, why, flipped=flipped), calls)


def _read(asked: Asked) -> tuple[Winner, str] | str:
    """The verdict, or why there is none."""
    if asked.reply is None:
        return asked.error or "the judge call failed"
    try:
        return read_winner(asked.reply.text)
    except JudgeReplyError as bad:
        return str(bad)


def _text(asked: Asked) -> str:
    return "" if asked.reply is None else asked.reply.text
