"""Tool calls: the prompt asks for a call of a function the request offers, answered as a call.

    Use the get_weather tool to get the weather in Porto in celsius.
    (the request offers get_weather(city, unit))

-> get_weather({"city": "Porto", "unit": "celsius"}). The family applies only when the request
offers the function and lets the model call it (the engine checks). A wrong answer is the right
function with a wrong argument: the other unit or another city, the currencies swapped or the
amount slipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

import orjson

from laneway.emulator.skill_tasks.base import Answer, Family, Sample, Task

_WEATHER = re.compile(
    r"Use the get_weather tool to get the weather in ([A-Z][a-z]+(?: [A-Z][a-z]+)?) "
    r"in (celsius|fahrenheit)\."
)
_CONVERT = re.compile(
    r"Use the convert_currency tool to convert (\d{1,9}) ([A-Z]{3}) to ([A-Z]{3})\."
)
FUNCTIONS: dict[str, Mapping[str, Any]] = {
    "get_weather": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
    "convert_currency": {
        "name": "convert_currency",
        "description": "Convert an amount from one currency to another.",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
            "additionalProperties": False,
        },
    },
}
_CITIES = ("Porto", "Kyoto", "Accra", "Bergen", "Cusco", "Hobart", "Buenos Aires", "Cape Town")
_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD")


def _call(name: str, arguments: Mapping[str, Any]) -> Answer:
    return Answer(call_name=name, call_arguments=orjson.dumps(arguments).decode())


class ToolCall(Family):
    name = "tool_call"
    opening = "Use the "

    def recognise(self, text: str) -> Task | None:
        weather = _WEATHER.match(text)
        if weather is not None:
            arguments: dict[str, Any] = {"city": weather[1], "unit": weather[2]}
            return Task(self.name, {"function": "get_weather", "arguments": arguments})
        convert = _CONVERT.match(text)
        if convert is not None:
            arguments = {
                "amount": int(convert[1]),
                "from_currency": convert[2],
                "to_currency": convert[3],
            }
            return Task(self.name, {"function": "convert_currency", "arguments": arguments})
        return None

    def solve(self, task: Task) -> Answer:
        return _call(task.facts["function"], task.facts["arguments"])

    def wrong(self, task: Task, draw: random.Random) -> Answer:
        arguments = dict(task.facts["arguments"])
        if task.facts["function"] == "get_weather":
            if draw.random() < 0.5:
                arguments["unit"] = "fahrenheit" if arguments["unit"] == "celsius" else "celsius"
            else:
                arguments["city"] = draw.choice([c for c in _CITIES if c != arguments["city"]])
        elif draw.random() < 0.5 and arguments["from_currency"] != arguments["to_currency"]:
            arguments["from_currency"], arguments["to_currency"] = (
                arguments["to_currency"],
                arguments["from_currency"],
            )
        else:
            arguments["amount"] = (
                arguments["amount"] * 10 if draw.random() < 0.5 else (arguments["amount"] + 1)
            )
        return _call(task.facts["function"], arguments)

    def accepts(self, task: Task, given: Answer) -> bool:
        """A call of the function with the arguments, compared as JSON values (`tool_call`)."""
        if given.call_name != task.facts["function"]:
            return False
        try:
            arguments = orjson.loads(given.call_arguments or "")
        except orjson.JSONDecodeError:
            return False
        return bool(arguments == task.facts["arguments"])

    def sample(self, draw: random.Random) -> Sample:
        if draw.random() < 0.5:
            city, unit = draw.choice(_CITIES), draw.choice(("celsius", "fahrenheit"))
            text = f"Use the get_weather tool to get the weather in {city} in {unit}."
            return Sample(text, functions=tuple(FUNCTIONS.values()))
        amount = draw.choice((20, 75, 120, 250, 999, 1500, 40_000))
        source, target = draw.sample(_CURRENCIES, 2)
        text = f"Use the convert_currency tool to convert {amount} {source} to {target}."
        return Sample(text, functions=tuple(FUNCTIONS.values()))
