"""The skill model's task families, by name: prompts the emulator can answer right or wrong.

`recognise` is on the path of every text request, so a prompt that is no task must cost next to
nothing: one `str.startswith` against the families' opening words, and a family's own (anchored)
match only for a prompt that opens like one of its tasks.
"""

from __future__ import annotations

from laneway.emulator.skill_tasks.arithmetic import Arithmetic
from laneway.emulator.skill_tasks.base import Answer, Family, Sample, Task
from laneway.emulator.skill_tasks.classification import Classification
from laneway.emulator.skill_tasks.extraction import Extraction
from laneway.emulator.skill_tasks.passage_qa import PassageQA
from laneway.emulator.skill_tasks.tool_call import ToolCall

# The closed set, by name.
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (Arithmetic(), Extraction(), Classification(), PassageQA(), ToolCall())
}
_OPENINGS = tuple(family.opening for family in FAMILIES.values())

__all__ = ["FAMILIES", "Answer", "Family", "Sample", "Task", "recognise"]


def recognise(text: str) -> tuple[Family, Task] | None:
    """The family and task a user's text is, or None (the usual case: no task)."""
    if not text.startswith(_OPENINGS):
        return None
    for family in FAMILIES.values():
        if text.startswith(family.opening):
            task = family.recognise(text)
            if task is not None:
                return family, task
    return None
