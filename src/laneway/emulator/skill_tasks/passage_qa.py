"""Passage QA: a question answered with a span of a given passage.

    Answer from the passage below with a short span copied from it.

    Passage: The Harbour Bridge was built in 1887. The Harbour Bridge was designed by Clara
    Voss. The Glass Tower was built in 1931. ...

    Question: In which year was the Glass Tower built?

-> "1931". The emulator reads the passage's facts (built in a year, designed by someone,
standing in a city) and the question's; a wrong answer is the same kind of fact about another
place in the passage (the distractor a reader confuses it with), or another span.
"""

from __future__ import annotations

import random
import re

from laneway.emulator.skill_tasks.base import Answer, Family, Sample, Task

OPENING = "Answer from the passage below with a short span copied from it."
_ASK = re.compile(re.escape(OPENING) + r"\n\nPassage: (.+)\n\nQuestion: (.+)", re.DOTALL)
_PLACE = r"[Tt]he ([A-Z][a-z]+ [A-Z][a-z]+)"
# Relation -> (how the passage states it, how a question asks it, the sentence that writes it).
_RELATIONS: dict[str, tuple[re.Pattern[str], re.Pattern[str], str, str]] = {
    "built": (
        re.compile(_PLACE + r" was built in (\d{4})\."),
        re.compile(r"In which year was " + _PLACE + r" built\?"),
        "The {place} was built in {value}.",
        "In which year was the {place} built?",
    ),
    "designer": (
        re.compile(_PLACE + r" was designed by ([A-Z][a-z]+ [A-Z][a-z]+)\."),
        re.compile(r"Who designed " + _PLACE + r"\?"),
        "The {place} was designed by {value}.",
        "Who designed the {place}?",
    ),
    "city": (
        re.compile(_PLACE + r" stands in ([A-Z][a-z]+)\."),
        re.compile(r"In which city does " + _PLACE + r" stand\?"),
        "The {place} stands in {value}.",
        "In which city does the {place} stand?",
    ),
}
_PLACES = (
    "Harbour Bridge",
    "Glass Tower",
    "Old Library",
    "North Station",
    "Stone Theatre",
    "City Museum",
    "River Mill",
    "Grand Arcade",
)
_DESIGNERS = (
    "Clara Voss",
    "Anton Reyes",
    "Mei Hartono",
    "Jonas Ekberg",
    "Farah Nadim",
    "Pedro Alves",
    "Greta Holm",
    "Kofi Mensah",
)
_CITIES = ("Ghent", "Porto", "Kyoto", "Accra", "Bergen", "Cusco", "Dakar", "Hobart")


def _values(kind: str, draw: random.Random, count: int) -> list[str]:
    if kind == "built":
        return [str(year) for year in draw.sample(range(1820, 2000), count)]
    return draw.sample(_DESIGNERS if kind == "designer" else _CITIES, count)


class PassageQA(Family):
    name = "passage_qa"
    opening = OPENING

    def recognise(self, text: str) -> Task | None:
        ask = _ASK.match(text)
        if ask is None:
            return None
        passage, question = ask[1], ask[2].strip()
        for stated, asked, _, _ in _RELATIONS.values():
            found = asked.fullmatch(question)
            if found is None:
                continue
            facts = {m[1]: m[2] for m in stated.finditer(passage)}
            if found[1] not in facts:
                return None
            spans = [m[2] for rel in _RELATIONS.values() for m in rel[0].finditer(passage)]
            return Task(
                self.name,
                {
                    "answer": facts[found[1]],
                    "distractors": tuple(v for p, v in facts.items() if p != found[1]),
                    "spans": tuple(s for s in spans if s != facts[found[1]]),
                },
            )
        return None

    def solve(self, task: Task) -> Answer:
        return Answer(task.facts["answer"])

    def wrong(self, task: Task, draw: random.Random) -> Answer:
        pool = task.facts["distractors"] or task.facts["spans"]
        return Answer(draw.choice(pool) if pool else task.facts["answer"][::-1])

    def accepts(self, task: Task, given: Answer) -> bool:
        """The text contains the span (the `contains` grader's reading)."""
        return task.facts["answer"] in (given.text or "")

    def sample(self, draw: random.Random) -> Sample:
        places = draw.sample(_PLACES, draw.randint(2, 3))
        kinds = list(_RELATIONS)
        values = {kind: _values(kind, draw, len(places)) for kind in kinds}
        sentences = [
            _RELATIONS[kind][2].format(place=place, value=values[kind][i])
            for i, place in enumerate(places)
            for kind in kinds
            if draw.random() < 0.8 or kind == kinds[0]
        ]
        kind = draw.choice(kinds)
        asked = draw.choice(places)
        statement = _RELATIONS[kind][2].format(place=asked, value=values[kind][places.index(asked)])
        if statement not in sentences:
            sentences.append(statement)
        question = _RELATIONS[kind][3].format(place=asked)
        return Sample(f"{OPENING}\n\nPassage: {' '.join(sentences)}\n\nQuestion: {question}")
