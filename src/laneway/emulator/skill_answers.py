"""The skill model at work: a recognised task answered right or wrong, as its draw says.

The draw is fixed by (seed, model, effort, prompt, choice, repeat): the same request under the
same seed always gets the same answer, and each repeat (the `x-emulator-repeat` header) is an
independent draw, so repeats of a line vary as a real model's would. A right answer has the
chance `SkillsConfig.chance` gives; otherwise the family's plausible wrong answer. EMULATED
skills: they exist to test the instrument, and measure no real model.

A task is answered only where its family fits the request: a call only when the request offers
that function and lets the model call it; text only when the request offers no function the
model may call, and JSON formats (json_schema, json_object) only for a family that answers
JSON. Anything else is answered as any prompt is (laneway.emulator.generation.generate), unless
it is a judge prompt (laneway.emulator.judging).
"""

from __future__ import annotations

from laneway.emulator.determinism import rng, unit
from laneway.emulator.generation import (
    Generation,
    Prompted,
    call_generation,
    out_of_budget,
    text_generation,
    thinking_tokens,
)
from laneway.emulator.judging import judge_generation
from laneway.emulator.skill_tasks import Answer, Family, Task, recognise
from laneway.emulator.skills import SkillsConfig


def skill_generation(seed: int, skills: SkillsConfig, ask: Prompted) -> Generation | None:
    """The answer to a recognised task (or a judge prompt: laneway.emulator.judging), or None
    when `ask` is neither (the usual case)."""
    found = recognise(ask.last_user_text)
    if found is None:
        return judge_generation(seed, skills.judge, ask)
    family, task = found
    right = family.solve(task)
    if not _fits(family, right, ask):
        return None
    answer = right if _answers_right(seed, skills, ask, family) else _wrong(seed, ask, family, task)
    thinking = thinking_tokens(seed, ask)
    spent = out_of_budget(ask, thinking)
    if spent is not None:
        return spent
    if answer.call_name is not None and answer.call_arguments is not None:
        return call_generation(seed, ask, answer.call_name, answer.call_arguments, thinking)
    return text_generation(ask, answer.text or "", thinking)


def _draw_key(ask: Prompted) -> tuple[str, str, str, int, int]:
    return (ask.model, ask.effort, ask.prompt, ask.choice, ask.repeat)


def _answers_right(seed: int, skills: SkillsConfig, ask: Prompted, family: Family) -> bool:
    chance = skills.chance(ask.model, ask.effort, family.name)
    return unit(seed, "skill", *_draw_key(ask)) < chance


def _wrong(seed: int, ask: Prompted, family: Family, task: Task) -> Answer:
    return family.wrong(task, rng(seed, "skill-wrong", *_draw_key(ask)))


def _fits(family: Family, right: Answer, ask: Prompted) -> bool:
    if ask.answering_tool_output:
        return False  # the model now answers from the tool's result
    if right.is_call:
        offered = any(f.name == right.call_name for f in ask.functions)
        allowed = ask.tool_choice in (None, "auto", "required", right.call_name)
        return offered and allowed
    if ask.functions and ask.tool_choice != "none":
        return False
    return family.answers_json or not (ask.json_schema is not None or ask.json_object)
