"""Chat Completions through the official SDK in strict mode."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel

from laneway.tokens import count_tokens

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def test_basic_completion(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-5.4-mini", messages=[{"role": "user", "content": "Hello"}]
    )
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-5.4-mini-2026-03-17"
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.content
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == count_tokens("user: Hello\n\n")
    assert usage.completion_tokens == count_tokens(choice.message.content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_n_choices_differ_and_sum_in_usage(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-5.4", messages=[{"role": "user", "content": "Ideas"}], n=3
    )
    texts = [choice.message.content or "" for choice in completion.choices]
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert len(set(texts)) == 3
    assert completion.usage is not None
    assert completion.usage.completion_tokens == sum(count_tokens(t) for t in texts)


def test_reasoning_effort_and_length_limit(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "Think"}],
        reasoning_effort="high",
        max_completion_tokens=2000,
    )
    assert completion.usage is not None
    details = completion.usage.completion_tokens_details
    assert details is not None
    assert details.reasoning_tokens is not None
    assert details.reasoning_tokens > 0
    short = client.chat.completions.create(
        model="gpt-5.2", messages=[{"role": "user", "content": "Talk"}], max_completion_tokens=5
    )
    assert short.choices[0].finish_reason == "length"
    assert short.usage is not None
    assert short.usage.completion_tokens == 5


def test_tool_calls(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-5.4",
        messages=[{"role": "user", "content": "use get_weather for Oslo"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])  # type: ignore[index]
    answered = client.chat.completions.create(
        model="gpt-5.4",
        messages=[
            {"role": "user", "content": "use get_weather for Oslo"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "-3C"},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert answered.choices[0].finish_reason == "stop"


class Person(BaseModel):
    name: str
    age: int


def test_structured_output_parse(client: OpenAI) -> None:
    parsed = client.chat.completions.parse(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "Extract"}],
        response_format=Person,
    )
    assert isinstance(parsed.choices[0].message.parsed, Person)


def test_json_object_mode(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "JSON please"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


def test_stream_with_usage(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=[{"role": "user", "content": "Stream"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    *content, usage_chunk = chunks
    assert all(chunk.usage is None for chunk in content)
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    text = "".join(chunk.choices[0].delta.content or "" for chunk in content)
    assert usage_chunk.usage.completion_tokens == count_tokens(text)
    assert content[-1].choices[0].finish_reason == "stop"


def test_stream_without_usage_has_none(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-5.4-mini", messages=[{"role": "user", "content": "Stream"}], stream=True
        )
    )
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)


def test_stream_helper(client: OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-5.4", messages=[{"role": "user", "content": "Hi"}], n=2
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert len(final.choices) == 2
    assert "".join(deltas) == "".join(c.message.content or "" for c in final.choices)


def test_streamed_tool_call(client: OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-5.4",
        messages=[{"role": "user", "content": "call get_weather"}],
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        ({"messages": []}, "messages", "empty_array"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role", "invalid_value"),
        ({"messages": [{"role": "user", "content": "x"}], "n": "2"}, "n", "invalid_type"),
        (
            {"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "turbo"},
            "reasoning_effort",
            "invalid_value",
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "stream_options": {"include_usage": True},
            },
            "stream_options",
            "invalid_value",
        ),
    ],
)
def test_invalid_requests(client: OpenAI, kwargs: dict[str, object], param: str, code: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-5.4", **kwargs)  # type: ignore[call-overload]
    assert info.value.param == param
    assert info.value.code == code
