"""What every task family of the skill model shares: a recognised task, an answer, a family.

A family reads a prompt it knows (`recognise`, anchored on its own opening words, so a prompt
that is no task costs one failed match), works out the right answer (`solve`) and a plausible
wrong one (`wrong`: an off-by-a-little number, another label of the set, another person's
record, another span of the passage, a call with a wrong argument), never filler text. `accepts`
says whether an answer is right the way laneway's graders check the family's answers (the
emulator's judge decides by it); `sample` writes a task of the family, for the demo workload and
the tests.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Task:
    """A prompt a family recognised, with what its answer depends on."""

    family: str
    facts: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """Text (plain, or JSON for a JSON family), or a call of a function with JSON arguments."""

    text: str | None = None
    call_name: str | None = None
    call_arguments: str | None = None

    @property
    def is_call(self) -> bool:
        return self.call_name is not None


@dataclass(frozen=True, slots=True)
class Sample:
    """A task written out: the user's text, and what a request for it offers beside the text."""

    text: str
    functions: tuple[Mapping[str, Any], ...] = ()  # name, description, parameters
    json_schema: Mapping[str, Any] | None = field(default=None)


class Family:
    """One task family: its name, the words its prompts open with, and how it answers."""

    name: ClassVar[str]
    opening: ClassVar[str]  # every prompt of the family starts with this (the cheap check)
    answers_json: ClassVar[bool] = False  # its answer is a JSON object (text.format may ask)

    def recognise(self, text: str) -> Task | None:
        raise NotImplementedError

    def solve(self, task: Task) -> Answer:
        raise NotImplementedError

    def wrong(self, task: Task, draw: random.Random) -> Answer:
        raise NotImplementedError

    def accepts(self, task: Task, given: Answer) -> bool:
        """Whether `given` is right: by default its text, trimmed, is the right text (`exact`)."""
        return given.text is not None and given.text.strip() == self.solve(task).text

    def sample(self, draw: random.Random) -> Sample:
        raise NotImplementedError
