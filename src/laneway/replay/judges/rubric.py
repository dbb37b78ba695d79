"""The rubric judge: one call per answer, asking for an integer score on the stated scale and a
reason. The score s on [low, high] is the grade (s - low) / (high - low), in 0..1, with the
judge's reason as its explanation; an answer that is not the verdict asked for, or a score off
the scale, is a grader error.
"""

from __future__ import annotations

from laneway.replay.graders import Grade
from laneway.replay.judges.asking import JudgeAsk
from laneway.replay.judges.base import Judge, ask_once
from laneway.replay.judges.config import RubricJudgeConfig
from laneway.replay.judges.judged import Judged, JudgeTask
from laneway.replay.judges.prompts import (
    RUBRIC_SCHEMA,
    answer_text,
    judge_body,
    rubric_prompt,
    task_text,
)
from laneway.replay.judges.replies import JudgeReplyError, read_score


class RubricJudge(Judge):
    def __init__(self, config: RubricJudgeConfig, ask: JudgeAsk) -> None:
        self.name = config.grader_name
        self._config = config
        self._ask = ask

    def body(self, task: JudgeTask) -> dict[str, object]:
        config = self._config
        prompt = rubric_prompt(
            config.rubric,
            config.scale,
            task_text(task.endpoint, task.request),
            answer_text(task.answer),
        )
        verdict = ("rubric_score", RUBRIC_SCHEMA)
        return judge_body(config.model, config.effort, config.max_output_tokens, prompt, verdict)

    async def judge(self, task: JudgeTask) -> Judged:
        asked = await ask_once(self._ask, self.body(task), task.repeat, "rubric")
        calls = (asked.call,)
        if asked.reply is None:
            return self.error("", asked.error or "the judge call failed", calls)
        try:
            score, reason = read_score(asked.reply.text, self._config.scale)
        except JudgeReplyError as bad:
            return self.error(asked.reply.text, str(bad), calls)
        low, high = self._config.scale
        value = (score - low) / (high - low)
        return Judged(Grade(self.name, value, f"{score} on {low}..{high}", reason), calls)
