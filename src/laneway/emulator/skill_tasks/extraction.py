"""Extraction: fields of one person in a short text, answered as a JSON object.

    Extract the engineer's name, age and city from the text below. Answer with a JSON object
    with the keys "name", "age", "city".

    Text: Ada Moreau is a 36-year-old engineer from Lisbon. Tom Baker is a 41-year-old teacher
    from Leeds.

-> {"name":"Ada Moreau","age":36,"city":"Lisbon"} (the keys asked, in that order; age a number).
The text names several people; the wrong answer is another person's record, the slip of a
model that picked the wrong one, so every field is wrong.
"""

from __future__ import annotations

import random
import re
from typing import Any

import orjson

from laneway.emulator.skill_tasks.base import Answer, Family, Sample, Task

_ASK = re.compile(
    r"Extract the ([a-z]+)'s [^\n]*? with the keys ((?:\"[a-z]+\"(?:, )?)+)\.\n\nText: (.+)",
    re.DOTALL,
)
_PERSON = re.compile(
    r"([A-Z][a-z]+ [A-Z][a-z]+) is an? (\d{1,3})-year-old ([a-z]+) from ([A-Z][a-z]+)\."
)
_KEY = re.compile(r"\"([a-z]+)\"")
FIELDS = ("name", "age", "city")
_FIRST = (
    "Ada",
    "Tom",
    "Lena",
    "Omar",
    "Mia",
    "Ravi",
    "Nora",
    "Ivan",
    "Sara",
    "Hugo",
    "Yuki",
    "Leo",
)
_LAST = ("Moreau", "Baker", "Okafor", "Lindqvist", "Tanaka", "Silva", "Novak", "Haddad", "Kerr")
_JOBS = ("engineer", "teacher", "nurse", "pilot", "chef", "lawyer", "farmer", "painter")
_CITIES = ("Lisbon", "Leeds", "Osaka", "Lagos", "Quito", "Tallinn", "Perth", "Dublin", "Oslo")


def _record(person: re.Match[str]) -> dict[str, Any]:
    return {"name": person[1], "age": int(person[2]), "job": person[3], "city": person[4]}


def _as_json(record: dict[str, Any], keys: tuple[str, ...]) -> Answer:
    return Answer(orjson.dumps({key: record[key] for key in keys}).decode())


def schema_for(keys: tuple[str, ...]) -> dict[str, Any]:
    """A strict JSON Schema for an answer with these keys (what a request's text.format sends)."""
    kinds = {"name": "string", "age": "integer", "city": "string"}
    return {
        "type": "object",
        "properties": {key: {"type": kinds[key]} for key in keys},
        "required": list(keys),
        "additionalProperties": False,
    }


class Extraction(Family):
    name = "extraction"
    opening = "Extract the "
    answers_json = True

    def recognise(self, text: str) -> Task | None:
        ask = _ASK.match(text)
        if ask is None:
            return None
        keys = tuple(_KEY.findall(ask[2]))
        people = [_record(person) for person in _PERSON.finditer(ask[3])]
        target = [p for p in people if p["job"] == ask[1]]
        if not target or not keys or not set(keys) <= set(FIELDS):
            return None
        others = tuple(p for p in people if p is not target[0])
        return Task(self.name, {"keys": keys, "target": target[0], "others": others})

    def solve(self, task: Task) -> Answer:
        return _as_json(task.facts["target"], task.facts["keys"])

    def wrong(self, task: Task, draw: random.Random) -> Answer:
        others = task.facts["others"]
        if others:
            return _as_json(draw.choice(others), task.facts["keys"])
        misread = dict(task.facts["target"], age=task.facts["target"]["age"] + 1)
        return _as_json(misread, task.facts["keys"])

    def accepts(self, task: Task, given: Answer) -> bool:
        """A JSON object with every asked field equal (the `json_fields` grader's full marks)."""
        try:
            value = orjson.loads(given.text or "")
        except orjson.JSONDecodeError:
            return False
        target = task.facts["target"]
        return isinstance(value, dict) and all(
            value.get(key) == target[key] for key in task.facts["keys"]
        )

    def sample(self, draw: random.Random) -> Sample:
        count = draw.randint(2, 3)
        names = [
            f"{first} {last}"
            for first, last in zip(
                draw.sample(_FIRST, count), draw.sample(_LAST, count), strict=True
            )
        ]
        ages, jobs = draw.sample(range(19, 80), count), draw.sample(_JOBS, count)
        cities = draw.sample(_CITIES, count)
        text = " ".join(
            f"{name} is a {age}-year-old {job} from {city}."
            for name, age, job, city in zip(names, ages, jobs, cities, strict=True)
        )
        keys = tuple(k for k in FIELDS if draw.random() < 0.75)
        keys = keys if len(keys) > 1 else ("name", "city")
        spoken = " and ".join([", ".join(keys[:-1]), keys[-1]] if len(keys) > 1 else keys)
        quoted = ", ".join(f'"{key}"' for key in keys)
        prompt = (
            f"Extract the {draw.choice(jobs)}'s {spoken} from the text below. Answer with a "
            f"JSON object with the keys {quoted}.\n\nText: {text}"
        )
        schema = schema_for(keys) if draw.random() < 0.4 else None
        return Sample(prompt, json_schema=schema)
