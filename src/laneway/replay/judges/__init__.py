"""Model graders: a judge model scores answers through laneway itself, by a rubric or by
preference against the baseline's answer asked in both orders (docs/judges.md).

    judge = build_judge(config, GatewayAsk(gateway, client, cap))
    judged = await judge.judge(JudgeTask("responses", body, answer, baseline, repeat))
    judged.grade     # a Grade (value None and error set when the judge's answer did not parse)
    judged.cost_usd  # what judging it cost, apart from the candidate's call
"""

from __future__ import annotations

from collections.abc import Callable

from laneway.replay.judges.asking import GatewayAsk, JudgeAsk, JudgeCallError, JudgeReply
from laneway.replay.judges.base import Judge
from laneway.replay.judges.config import JudgeConfig, PairwiseJudgeConfig, RubricJudgeConfig
from laneway.replay.judges.judged import JudgeCall, Judged, JudgeTask
from laneway.replay.judges.pairwise import PairwiseJudge
from laneway.replay.judges.rubric import RubricJudge
from laneway.replay.judges.tally import FlipCount, JudgeTally, position_flips

# The closed set, by the `kind` that asks for each.
JUDGES: dict[str, Callable[..., Judge]] = {"rubric": RubricJudge, "pairwise": PairwiseJudge}


def build_judge(config: RubricJudgeConfig | PairwiseJudgeConfig, ask: JudgeAsk) -> Judge:
    """The judge `config` describes, asking through `ask`."""
    return JUDGES[config.kind](config, ask)


__all__ = [
    "JUDGES",
    "FlipCount",
    "GatewayAsk",
    "Judge",
    "JudgeAsk",
    "JudgeCall",
    "JudgeCallError",
    "JudgeConfig",
    "JudgeReply",
    "JudgeTally",
    "JudgeTask",
    "Judged",
    "PairwiseJudge",
    "PairwiseJudgeConfig",
    "RubricJudge",
    "RubricJudgeConfig",
    "build_judge",
    "position_flips",
]
