"""Arithmetic: "What is 37 * 12 + 5? Answer with the number only." -> "449".

Whole numbers with +, - and * (the usual precedence). A wrong answer is a slip a model makes:
the expression worked left to right, ignoring precedence (when that differs), or the right
result off by a little.
"""

from __future__ import annotations

import random
import re

from laneway.emulator.skill_tasks.base import Answer, Family, Sample, Task

_EXPRESSION = re.compile(r"What is (\d{1,6}(?: ?[-+*] ?\d{1,6}){1,5}) ?\?")
_TOKEN = re.compile(r"\d+|[-+*]")
_NUMBER = re.compile(r"-?\d+")
_SLIPS = (-10, -2, -1, 1, 2, 10)
_SHAPES = ("a * b + c", "a + b * c", "a * b - c", "a + b - c + d", "a * b + c * d", "a - b * c")


def _tokens(expression: str) -> list[str]:
    return _TOKEN.findall(expression)


def evaluate(expression: str) -> int:
    """The value with * before + and -."""
    tokens = _tokens(expression)
    total, term, sign = 0, int(tokens[0]), 1
    for operator, operand in zip(tokens[1::2], tokens[2::2], strict=True):
        if operator == "*":
            term *= int(operand)
        else:
            total += sign * term
            term, sign = int(operand), (1 if operator == "+" else -1)
    return total + sign * term


def _left_to_right(expression: str) -> int:
    tokens = _tokens(expression)
    value = int(tokens[0])
    for operator, operand in zip(tokens[1::2], tokens[2::2], strict=True):
        number = int(operand)
        value = (
            value * number
            if operator == "*"
            else value + number
            if operator == "+"
            else (value - number)
        )
    return value


class Arithmetic(Family):
    name = "arithmetic"
    opening = "What is "

    def recognise(self, text: str) -> Task | None:
        found = _EXPRESSION.match(text)
        return None if found is None else Task(self.name, {"expression": found[1]})

    def solve(self, task: Task) -> Answer:
        return Answer(str(evaluate(task.facts["expression"])))

    def wrong(self, task: Task, draw: random.Random) -> Answer:
        right = evaluate(task.facts["expression"])
        careless = _left_to_right(task.facts["expression"])
        if careless != right and draw.random() < 0.5:
            return Answer(str(careless))
        return Answer(str(right + draw.choice(_SLIPS)))

    def accepts(self, task: Task, given: Answer) -> bool:
        """The last number in the text is the result (the `numeric` grader's reading)."""
        numbers = _NUMBER.findall((given.text or "").replace(",", ""))
        return bool(numbers) and int(numbers[-1]) == evaluate(task.facts["expression"])

    def sample(self, draw: random.Random) -> Sample:
        shape = draw.choice(_SHAPES)
        numbers = {name: str(draw.randint(2, 99)) for name in "abcd"}
        expression = "".join(numbers.get(part, part) for part in shape)
        return Sample(f"What is {expression}? Answer with the number only.")
