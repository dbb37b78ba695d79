"""A model grader's configuration (typed, unknown keys refused): which kind of judge, which model
judges at which effort, and what it is told.

    [[judges]]
    kind = "rubric"
    model = "gpt-5.4"
    effort = "low"
    rubric = "Full marks for a correct, complete answer; none for a wrong one."
    scale = [0, 10]              # integers; the score s maps to (s - 0) / (10 - 0) in 0..1

    [[judges]]
    kind = "pairwise"            # against the baseline's answer to the same line and repeat
    model = "gpt-5.4"
    criteria = "Prefer the correct answer; then the more concise one."   # optional
    both_orders = true           # the default: each pair asked twice, the answers swapped
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field, model_validator

from laneway.config_file import Strict
from laneway.pricing.model_spec import ReasoningEffort

# Room for the judge's reasoning and its short JSON verdict; a verdict cut by it does not parse
# and is a grader error. It bounds the judge call's worst case against the run's spend cap.
DEFAULT_MAX_OUTPUT = 4096


class _JudgeBase(Strict):
    model: str = Field(min_length=1)
    effort: ReasoningEffort | None = None  # None: the model's default
    name: str | None = Field(default=None, min_length=1)  # the grade's name; default below
    max_output_tokens: int = Field(default=DEFAULT_MAX_OUTPUT, ge=16, le=128_000)

    @property
    def grader_name(self) -> str:
        """What its grades are called: `name`, else "<kind>:<model>[@effort]"."""
        if self.name is not None:
            return self.name
        kind = getattr(self, "kind", "judge")
        return f"{kind}:{self.model}" + (f"@{self.effort}" if self.effort else "")


class RubricJudgeConfig(_JudgeBase):
    """Scores each answer on its own against `rubric`, an integer on `scale` mapped to 0..1."""

    kind: Literal["rubric"]
    rubric: str = Field(min_length=1)
    scale: tuple[int, int] = (0, 10)

    @model_validator(mode="after")
    def _ascending(self) -> RubricJudgeConfig:
        if self.scale[0] >= self.scale[1]:
            raise ValueError("scale must be [lowest, highest] with lowest < highest")
        return self


class PairwiseJudgeConfig(_JudgeBase):
    """Prefers the candidate's answer or the baseline's: 1 a win, 0 a loss, 0.5 a tie."""

    kind: Literal["pairwise"]
    criteria: str | None = Field(default=None, min_length=1)
    both_orders: bool = True


JudgeConfig: TypeAlias = Annotated[
    RubricJudgeConfig | PairwiseJudgeConfig, Field(discriminator="kind")
]
