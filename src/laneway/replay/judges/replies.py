"""Reading a judge's answer: the strict JSON it was asked for, or a `JudgeReplyError` saying what
was wrong with it. A verdict that does not parse, lacks a field or scores outside the stated
scale is never read as a score: the grade is then a grader error.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import orjson

from laneway.replay.graders import GraderError

Winner: TypeAlias = Literal["A", "B", "tie"]
_WINNERS: tuple[Winner, ...] = ("A", "B", "tie")
_SHOWN = 80  # characters of a bad answer quoted in the error


class JudgeReplyError(GraderError):
    """The judge's answer is not the verdict asked for."""


def read_score(text: str, scale: tuple[int, int]) -> tuple[int, str]:
    """(score, reason) from {"score": <integer>, "reason": "..."}, the score on `scale`."""
    verdict = _object(text)
    score, reason = verdict.get("score"), verdict.get("reason")
    if isinstance(score, bool) or not isinstance(score, int):
        raise JudgeReplyError(f"the judge's score is {score!r}, not an integer")
    low, high = scale
    if not low <= score <= high:
        raise JudgeReplyError(f"the judge's score {score} is outside the scale {low}..{high}")
    return score, _reason(reason)


def read_winner(text: str) -> tuple[Winner, str]:
    """(winner, reason) from {"winner": "A" | "B" | "tie", "reason": "..."}."""
    verdict = _object(text)
    winner = verdict.get("winner")
    for known in _WINNERS:
        if winner == known:
            return known, _reason(verdict.get("reason"))
    raise JudgeReplyError(f"the judge's winner is {winner!r}, not one of A, B, tie")


def _object(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise JudgeReplyError(f"the judge's answer is not JSON: {_quoted(text)}") from None
    if not isinstance(value, dict):
        raise JudgeReplyError(f"the judge's answer is not a JSON object: {_quoted(text)}")
    return value


def _reason(reason: Any) -> str:
    if not isinstance(reason, str):
        raise JudgeReplyError(f"the judge's reason is {reason!r}, not text")
    return reason


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")
