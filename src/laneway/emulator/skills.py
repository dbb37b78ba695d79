"""The skill model's accuracy: how often each model, at each reasoning effort, answers a task
right. EMULATED: these are assumptions that give the instrument something to measure, not
measurements of any real model.

The defaults order the models nano < mini < gpt-5.2 < gpt-5.4 at every effort, with gaps of 7
to 12 points (a few hundred graded lines tell them apart), and give effort diminishing returns:
none -> low +8 points, low -> medium +5, medium -> high +3, high -> xhigh +2 (minimal, which
only the smaller models may accept, sits between none and low). A family's difficulty shifts
every model's chance on its tasks, clamped to [0, 1].

    [skills.accuracy."gpt-5.4-mini"]   # replaces that model's whole row
    none = 0.72
    low = 0.80
    [skills.difficulty]                # merged over the defaults, family by family
    arithmetic = -0.1
    [skills.judge]                     # the emulated judge (laneway.emulator.judging)
    accuracy = 0.9
    position_bias = 0.3
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, model_validator

from laneway.config_file import Strict
from laneway.pricing.model_spec import REASONING_EFFORTS, ReasoningEffort

Probability: TypeAlias = Annotated[float, Field(ge=0, le=1)]
EffortRow: TypeAlias = Annotated[dict[ReasoningEffort, Probability], Field(min_length=1)]
FamilyName: TypeAlias = Literal[
    "arithmetic", "extraction", "classification", "passage_qa", "tool_call"
]

_GAINS = {"none": 0.0, "minimal": 0.04, "low": 0.08, "medium": 0.13, "high": 0.16, "xhigh": 0.18}


def _row(at_none: float, efforts: tuple[ReasoningEffort, ...]) -> dict[ReasoningEffort, float]:
    return {effort: round(at_none + _GAINS[effort], 2) for effort in efforts}


_ALL: tuple[ReasoningEffort, ...] = ("none", "minimal", "low", "medium", "high", "xhigh")
# The catalog's efforts for gpt-5.2 and gpt-5.4.
_FLAGSHIP: tuple[ReasoningEffort, ...] = ("none", "low", "medium", "high", "xhigh")
# Emulator assumptions (see the module docstring). The catalog does not know which efforts
# gpt-5.4-mini and nano accept, so their rows cover every effort the emulator may be sent.
DEFAULT_ACCURACY: dict[str, dict[ReasoningEffort, float]] = {
    "gpt-5.4-nano": _row(0.48, _ALL),
    "gpt-5.4-mini": _row(0.60, _ALL),
    "gpt-5.2": _row(0.69, _FLAGSHIP),
    "gpt-5.4": _row(0.76, _FLAGSHIP),
}
# A model with no row (one a catalog override adds): between gpt-5.4-mini and gpt-5.2.
FALLBACK_ACCURACY: dict[ReasoningEffort, float] = _row(0.65, _ALL)
# Multi-step arithmetic is a little harder than average, choosing a label a little easier.
DEFAULT_DIFFICULTY: dict[FamilyName, float] = {
    "arithmetic": -0.05,
    "extraction": 0.0,
    "classification": 0.05,
    "passage_qa": 0.0,
    "tool_call": 0.0,
}


class JudgeSkill(Strict):
    """`[skills.judge]`: how the emulated judge errs, whatever model is asked to judge.

    position_bias: the share of pairwise verdicts that pick the answer shown first, whatever
    the answers; accuracy: otherwise, the chance a verdict (or a rubric score) is right;
    malformed: the share of judge answers written as plain text instead of the JSON asked for.
    """

    accuracy: Probability = 0.9
    position_bias: Probability = 0.0
    malformed: Probability = 0.0


class SkillsConfig(Strict):
    """`[skills]`: the chance of a right answer per model and effort, and per family a shift;
    and how the emulated judge errs."""

    accuracy: dict[str, EffortRow] = Field(default_factory=dict)
    fallback: EffortRow = Field(default_factory=lambda: dict(FALLBACK_ACCURACY))
    difficulty: dict[FamilyName, Annotated[float, Field(ge=-1, le=1)]] = Field(default_factory=dict)
    judge: JudgeSkill = JudgeSkill()

    @model_validator(mode="before")
    @classmethod
    def _over_the_defaults(cls, data: Any) -> Any:
        """A row given replaces that model's default row; a difficulty given, that family's."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for key, defaults in (("accuracy", DEFAULT_ACCURACY), ("difficulty", DEFAULT_DIFFICULTY)):
            given = merged.get(key, {})
            if isinstance(given, dict):  # anything else is left for validation to refuse
                merged[key] = {**defaults, **given}
        return merged

    def chance(self, model: str, effort: str, family: str) -> float:
        """The chance that `model` at `effort` answers a task of `family` right."""
        row = self.accuracy.get(model, self.fallback)
        base = _at_effort({str(e): p for e, p in row.items()}, effort)
        shift = next((d for name, d in self.difficulty.items() if name == family), 0.0)
        return min(1.0, max(0.0, base + shift))


_RANK: tuple[str, ...] = REASONING_EFFORTS


def _at_effort(row: dict[str, float], effort: str) -> float:
    """The row's figure for `effort`; an effort the row lacks takes the nearest lower one it
    has (effort never costs accuracy), or the row's lowest when it has none lower."""
    if effort in row:
        return row[effort]
    rank = _RANK.index(effort) if effort in _RANK else 0
    lower = [e for e in _RANK[:rank] if e in row]
    return row[lower[-1]] if lower else row[min(row, key=_RANK.index)]
