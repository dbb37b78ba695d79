"""What every judge shares: its name (the name of its grades), `judge` (a task in, a `Judged`
out, or None when there is nothing to judge) and one call of its model, kept with its record
and cost whatever became of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from laneway.replay.graders import Grade
from laneway.replay.judges.asking import JudgeAsk, JudgeCallError, JudgeReply
from laneway.replay.judges.judged import JudgeCall, Judged, JudgeTask


@dataclass(frozen=True, slots=True)
class Asked:
    """One call's outcome: the reply, or why there is none; and the call as made."""

    reply: JudgeReply | None
    call: JudgeCall
    error: str | None


class Judge:
    name: str

    async def judge(self, task: JudgeTask) -> Judged | None:
        raise NotImplementedError

    def error(self, answer: str, message: str, calls: tuple[JudgeCall, ...]) -> Judged:
        """A grader error: no value, the reason kept, and what the calls cost."""
        return Judged(Grade(self.name, None, answer, "could not grade", message), calls)


async def ask_once(ask: JudgeAsk, body: dict[str, Any], repeat: int, asked: str) -> Asked:
    try:
        reply = await ask(body, repeat)
    except JudgeCallError as failed:
        return Asked(None, JudgeCall(asked, failed.record_id, failed.cost_usd), str(failed))
    return Asked(reply, JudgeCall(asked, reply.record_id, reply.cost_usd), None)
