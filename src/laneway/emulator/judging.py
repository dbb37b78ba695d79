"""The emulated judge: prompts written the way laneway's model graders write them
(laneway.replay.judges.prompts) are answered as a judge would, erring as `[skills.judge]` says.
EMULATED: it exists so that a grading harness can be tested against a judge whose accuracy and
position bias are known; it says nothing about how well any real model judges.

A judge prompt opens with one of two fixed lines (the cheap check, as for the task families).
The task inside it is read by the task families (the last user turn of its transcript), solved,
and each answer shown is right when the family `accepts` it, as laneway's graders would.

    rubric    a right answer gets the top of the stated scale and a wrong one the bottom, with
              chance `accuracy`; else the opposite. A task no family knows: a score drawn
              uniformly from the scale.
    pairwise  with chance `position_bias`, "A" (the answer shown first), whatever the answers;
              otherwise, when exactly one answer is right, that one with chance `accuracy`, else
              the other; when both or neither is right (or no family knows the task), "tie".
    malformed a share of answers in plain text instead of the JSON asked for.

Draws are fixed by (seed, model, effort, prompt, choice, repeat), like the task families': the
same prompt under the same seed gets the same verdict, each repeat (`x-emulator-repeat`) a fresh
one, and the two orders of one pair, being two prompts, independent ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from laneway.emulator.determinism import units
from laneway.emulator.generation import (
    Generation,
    Prompted,
    out_of_budget,
    text_generation,
    thinking_tokens,
)
from laneway.emulator.skill_tasks import Answer, recognise
from laneway.emulator.skills import JudgeSkill

# The opening lines of laneway's judge prompts (laneway.replay.judges.prompts writes them).
RUBRIC_OPENING = "You are grading one answer to a task against a rubric."
PAIRWISE_OPENING = "You are comparing two answers to one task."
_OPENINGS = (RUBRIC_OPENING, PAIRWISE_OPENING)

_SCALE = re.compile(r"^Scale: an integer from (-?\d+) to (-?\d+)", re.MULTILINE)
_RUBRIC = re.compile(r"\n<task>\n(.*?)\n</task>\n\n<answer>\n(.*)\n</answer>\s*\Z", re.DOTALL)
_PAIR = re.compile(
    r"\n<task>\n(.*?)\n</task>\n\n<answer_a>\n(.*?)\n</answer_a>\n\n"
    r"<answer_b>\n(.*)\n</answer_b>\s*\Z",
    re.DOTALL,
)
# A transcript's turns: "[user] text", "[call] name(arguments)", ... one per line start.
_TURN = re.compile(r"^\[(system|developer|user|assistant|call|tool|tools)\] ", re.MULTILINE)
_CALL = re.compile(r"^\[call\] ([^\s(]+)\((.*)\)[ \t]*$", re.MULTILINE)
_PLAIN = "Both answers have merit; on balance I would go with the first one."
_REASONS = {
    True: "emulated judge: the answer is right",
    False: "emulated judge: the answer is wrong",
    None: "emulated judge: a task it does not know, scored at random",
}


def judge_generation(seed: int, judge: JudgeSkill, ask: Prompted) -> Generation | None:
    """The judge's answer to a judge prompt; None for any other prompt (the usual case)."""
    text = ask.last_user_text
    if not text.startswith(_OPENINGS):
        return None
    if ask.answering_tool_output or (ask.functions and ask.tool_choice != "none"):
        return None  # a judge answers in text
    verdict = judge_text(seed, judge, ask)
    if verdict is None:
        return None
    thinking = thinking_tokens(seed, ask)
    spent = out_of_budget(ask, thinking)
    return spent if spent is not None else text_generation(ask, verdict, thinking)


def judge_text(seed: int, judge: JudgeSkill, ask: Prompted) -> str | None:
    """The verdict as JSON text (or the malformed plain text); None when the prompt opens like
    a judge prompt but is not one."""
    text = ask.last_user_text
    bias, accuracy, form, score = units(
        seed, 4, "judge", ask.model, ask.effort, ask.prompt, ask.choice, ask.repeat
    )
    accurate = accuracy < judge.accuracy
    if text.startswith(RUBRIC_OPENING):
        verdict = _rubric(text, accurate, score)
    else:
        verdict = _pairwise(text, bias < judge.position_bias, accurate)
    if verdict is None:
        return None
    return _PLAIN if form < judge.malformed else orjson.dumps(verdict).decode()


def _rubric(text: str, accurate: bool, score_draw: float) -> dict[str, Any] | None:
    scale, parts = _SCALE.search(text), _RUBRIC.search(text)
    if scale is None or parts is None:
        return None
    low, high = int(scale[1]), int(scale[2])
    if low >= high:
        return None
    (right,) = rightness(parts[1], (parts[2],))
    if right is None:
        return {"score": low + int(score_draw * (high - low + 1)), "reason": _REASONS[None]}
    says_right = right == accurate
    return {"score": high if says_right else low, "reason": _REASONS[says_right]}


def _pairwise(text: str, first_shown: bool, accurate: bool) -> dict[str, Any] | None:
    parts = _PAIR.search(text)
    if parts is None:
        return None
    if first_shown:
        return {"winner": "A", "reason": "emulated judge: preferred the answer shown first"}
    a, b = rightness(parts[1], (parts[2], parts[3]))
    if a is None or a == b:
        why = "both are right" if a else "neither is right, or the task is unknown"
        return {"winner": "tie", "reason": f"emulated judge: {why}"}
    right, other = ("A", "B") if a else ("B", "A")
    winner = right if accurate else other
    return {"winner": winner, "reason": f"emulated judge: answer {winner} is the right one"}


def rightness(task: str, answers: Sequence[str]) -> list[bool | None]:
    """Per answer shown, whether it is right for the task (a transcript); None for each when
    no family knows the task."""
    found = recognise(last_user_turn(task))
    if found is None:
        return [None] * len(answers)
    family, solved = found
    return [family.accepts(solved, shown_answer(shown)) for shown in answers]


def last_user_turn(task: str) -> str:
    """The text of the transcript's last "[user]" turn (the whole text when it has none)."""
    turns = list(_TURN.finditer(task))
    for index in range(len(turns) - 1, -1, -1):
        if turns[index][1] == "user":
            end = turns[index + 1].start() if index + 1 < len(turns) else len(task)
            return task[turns[index].end() : end].rstrip("\n")
    return task


def shown_answer(shown: str) -> Answer:
    """An answer as shown to the judge: its text, and its first "[call] name(arguments)"."""
    call = _CALL.search(shown)
    text = _CALL.sub("", shown).strip()
    if call is None:
        return Answer(text)
    return Answer(text or None, call_name=call[1], call_arguments=call[2])
