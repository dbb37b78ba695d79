"""Deterministic graders score answers read from real Responses and Chat bodies; each explains
itself, and a grader that cannot grade says so as an error, never as a pass or a silent 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.replay.graders import GRADERS, grade
from laneway.wire.answers import AnswerView, ToolCall, answer_of
from tests.sdk import sdk


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none")) as server:
        yield server


def test_the_answer_read_is_what_the_sdk_reads(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url) as client:
        raw = client.responses.with_raw_response.create(model="gpt-5.4-mini", input="Say hi")
        body = orjson.loads(raw.content)
        assert answer_of("responses", body).text == raw.parse().output_text != ""
        chat = client.chat.completions.with_raw_response.create(
            model="gpt-5.4-mini", messages=[{"role": "user", "content": "Say hi"}]
        )
        text = chat.parse().choices[0].message.content
        assert answer_of("chat", orjson.loads(chat.content)).text == text != ""


def test_tool_calls_are_read_from_both_shapes() -> None:
    responses = {
        "output": [
            {"type": "reasoning", "summary": []},
            {"type": "function_call", "name": "weather", "arguments": '{"city":"Oslo"}'},
        ]
    }
    chat = {
        "choices": [
            {
                "message": {
                    "content": None,
                    "tool_calls": [
                        {"function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}
                    ],
                }
            }
        ]
    }
    want = AnswerView("", (ToolCall("weather", '{"city":"Oslo"}'),))
    assert answer_of("responses", responses) == want
    assert answer_of("chat", chat) == want


def scores(text: str, expect: dict[str, Any], calls: tuple[ToolCall, ...] = ()) -> list[Any]:
    return [g.value for g in grade(AnswerView(text, calls), expect)]


@pytest.mark.parametrize(
    ("text", "expect", "want"),
    [
        (" 4\n", {"exact": "4"}, [1.0]),
        ("4.", {"exact": "4"}, [0.0]),
        ("The capital is Paris.", {"contains": "Paris"}, [1.0]),
        ("The capital is paris.", {"contains": "Paris"}, [0.0]),
        ("answer: 42", {"regex": r"\b42\b"}, [1.0]),
        ("answer: 420", {"regex": r"\b42\b"}, [0.0]),
        ("about 3,141.5 units", {"numeric": 3141.6, "tolerance": 0.2}, [1.0]),
        ("first 7 then 9", {"numeric": 7}, [0.0]),  # the last number is the answer
        ("no digits", {"numeric": 1}, [0.0]),
        ('{"a": 1}', {"json_valid": True}, [1.0]),
        ("{'a': 1}", {"json_valid": True}, [0.0]),
        ('{"name": "Ada", "year": 1815}', {"json_fields": {"name": "Ada", "year": 1816}}, [0.5]),
        ("[1]", {"json_fields": {"name": "Ada"}}, [0.0]),
        ('{"n": 3}', {"json_schema": {"type": "object", "required": ["n"]}}, [1.0]),
        ('{"m": 3}', {"json_schema": {"type": "object", "required": ["n"]}}, [0.0]),
        ("Paris 4", {"contains": "Paris", "exact": "4"}, [1.0, 0.0]),  # each grader apart
    ],
)
def test_deterministic_graders(text: str, expect: dict[str, Any], want: list[float]) -> None:
    assert scores(text, expect) == want


def test_a_tool_call_is_graded_by_name_and_arguments() -> None:
    calls = (ToolCall("lookup", '{"id": 7}'), ToolCall("weather", '{"city": "Oslo"}'))
    expect = {"tool_call": {"name": "weather", "arguments": {"city": "Oslo"}}}
    assert scores("", expect, calls) == [1.0]
    wrong = {"tool_call": {"name": "weather", "arguments": {"city": "Bergen"}}}
    assert scores("", wrong, calls) == [0.0]
    [missing] = grade(AnswerView("", calls), {"tool_call": {"name": "book"}})
    assert missing.value == 0.0
    assert missing.explanation == "no call to 'book' (calls: lookup, weather)"


@pytest.mark.parametrize(
    ("expect", "error"),
    [
        ({"regex": "("}, "does not compile"),
        ({"numeric": "many"}, "numeric must be a number"),
        ({"numeric": 1, "tolerance": "nan"}, "finite"),
        ({"json_fields": []}, "object of field names"),
        ({"json_schema": {"type": 5}}, "not a valid schema"),
        ({"tool_call": {"arguments": {}}}, "with a name"),
        ({"similar": "x"}, "unknown grader 'similar'"),
    ],
)
def test_a_grader_that_cannot_grade_is_an_error_never_a_score(
    expect: dict[str, Any], error: str
) -> None:
    [result] = grade(AnswerView("1"), expect)
    assert result.value is None
    assert result.error is not None
    assert error in result.error


def test_every_grader_explains_itself() -> None:
    assert set(GRADERS) == {
        "exact", "contains", "regex", "numeric", "json_valid", "json_fields", "json_schema",
        "tool_call",
    }  # fmt: skip
    for result in grade(AnswerView('{"n": 1}'), {"exact": "x", "json_valid": True}):
        assert result.explanation
        assert result.answer == '{"n": 1}'
