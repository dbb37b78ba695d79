"""Deterministic graders: each reads one key of a line's `expect` and scores an answer in [0, 1]
with the answer it extracted and why (Inspect AI's Score is the model: value, answer,
explanation). A grader that cannot grade (a bad expectation, a broken regex) says so as an
error, never as a pass or a silent 0.

    expect = {"contains": "Paris"}                  # any of these keys, several at once
    expect = {"exact": "4"}                         # after trimming whitespace
    expect = {"regex": "^4\\b"}                     # re.search
    expect = {"numeric": 4, "tolerance": 0.01}      # the last number in the answer
    expect = {"json_valid": true}
    expect = {"json_fields": {"name": "Ada"}}       # each field equal, the share that is
    expect = {"json_schema": {...}}                 # JSON Schema (Draft 2020-12)
    expect = {"tool_call": {"name": "f", "arguments": {"x": 1}}}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import jsonschema
import orjson

from laneway.errors import LanewayError
from laneway.wire.answers import AnswerView

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_SETTINGS = frozenset({"tolerance"})  # keys of `expect` that set a grader, not name one


@dataclass(frozen=True, slots=True)
class Grade:
    grader: str
    value: float | None  # None: the grader could not grade (see error)
    answer: str  # what it read from the answer
    explanation: str
    error: str | None = None
    # A pairwise judge asked in both orders: whether its verdict followed the order shown (a
    # position flip, counted as a tie); None for every other grade (laneway.replay.judges).
    flipped: bool | None = None


class GraderError(LanewayError):
    """The expectation cannot be graded against (a broken regex, a schema that is no schema);
    caught by `Grader.grade` and kept on the row as that grade's error."""


class Grader:
    name: ClassVar[str]

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        raise NotImplementedError

    def grade(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        try:
            return self.score(answer, expected, expect)
        except GraderError as exc:
            return Grade(self.name, None, answer.text, "could not grade", str(exc))

    def _pass(self, ok: bool, answer: str, why: str) -> Grade:
        return Grade(self.name, 1.0 if ok else 0.0, answer, why)


class Exact(Grader):
    name = "exact"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        text = answer.text.strip()
        return self._pass(text == str(expected).strip(), text, f"exactly {expected!r}?")


class Contains(Grader):
    name = "contains"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        return self._pass(str(expected) in answer.text, answer.text, f"contains {expected!r}?")


class Regex(Grader):
    name = "regex"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        try:
            found = re.search(str(expected), answer.text)
        except re.error as exc:
            raise GraderError(f"regex {expected!r} does not compile: {exc}") from None
        return self._pass(found is not None, found[0] if found else "", f"matches {expected!r}?")


class Numeric(Grader):
    name = "numeric"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        want = _decimal(expected, "numeric")
        tolerance = _decimal(expect.get("tolerance", 0), "tolerance")
        numbers = _NUMBER.findall(answer.text)
        if not numbers:
            return self._pass(False, "", "no number in the answer")
        got = Decimal(numbers[-1].replace(",", ""))
        ok = abs(got - want) <= tolerance
        return self._pass(ok, str(got), f"last number {got} within {tolerance} of {want}?")


class JsonValid(Grader):
    name = "json_valid"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        parsed = _json(answer.text)
        return self._pass(parsed is not _INVALID, answer.text, "valid JSON?")


class JsonFields(Grader):
    name = "json_fields"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        if not isinstance(expected, dict) or not expected:
            raise GraderError("json_fields must be an object of field names to values")
        parsed = _json(answer.text)
        if not isinstance(parsed, dict):
            return self._pass(False, answer.text, "the answer is not a JSON object")
        wrong = sorted(k for k, v in expected.items() if parsed.get(k) != v)
        share = 1 - len(wrong) / len(expected)
        why = "every field equal" if not wrong else f"unequal: {', '.join(wrong)}"
        return Grade(self.name, share, answer.text, why)


class JsonSchema(Grader):
    name = "json_schema"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        try:
            validator = jsonschema.Draft202012Validator(expected)
            validator.check_schema(expected)
        except jsonschema.SchemaError as exc:
            raise GraderError(f"json_schema is not a valid schema: {exc.message}") from None
        parsed = _json(answer.text)
        if parsed is _INVALID:
            return self._pass(False, answer.text, "the answer is not JSON")
        error = jsonschema.exceptions.best_match(validator.iter_errors(parsed))
        why = "matches the schema" if error is None else f"does not match: {error.message}"
        return self._pass(error is None, answer.text, why)


class ToolCallGrader(Grader):
    name = "tool_call"

    def score(self, answer: AnswerView, expected: Any, expect: dict[str, Any]) -> Grade:
        if not isinstance(expected, dict) or not isinstance(expected.get("name"), str):
            raise GraderError("tool_call must be an object with a name (and arguments)")
        for call in answer.tool_calls:
            if call.name != expected["name"]:
                continue
            want = expected.get("arguments")
            ok = want is None or _json(call.arguments) == want
            return self._pass(ok, f"{call.name}({call.arguments})", "name and arguments match?")
        named = ", ".join(c.name for c in answer.tool_calls) or "none"
        return self._pass(False, named, f"no call to {expected['name']!r} (calls: {named})")


# The closed set, by the `expect` key that asks for each.
GRADERS: dict[str, type[Grader]] = {
    g.name: g
    for g in (Exact, Contains, Regex, Numeric, JsonValid, JsonFields, JsonSchema, ToolCallGrader)
}


def grade(answer: AnswerView, expect: dict[str, Any]) -> list[Grade]:
    """One grade per grader the expectation names, in the order written; an unknown key is a
    grader error, never ignored."""
    grades = []
    for key, expected in expect.items():
        if key in _SETTINGS:
            continue
        kind = GRADERS.get(key)
        if kind is None:
            error = f"unknown grader {key!r} (known: {', '.join(GRADERS)})"
            grades.append(Grade(key, None, "", "no such grader", error))
            continue
        grades.append(kind().grade(answer, expected, expect))
    return grades


_INVALID = object()


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise GraderError(f"{field} must be a number, got {value!r}") from None
    if not number.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        raise GraderError(f"{field} must be a finite number, got {value!r}")
    return number
