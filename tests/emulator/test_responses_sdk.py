"""The Responses API through the official SDK in strict mode: shapes, usage and behaviour."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest
from openai import OpenAI
from openai.types.responses import FunctionToolParam
from pydantic import BaseModel

from laneway.emulator.generation import WORDS
from laneway.emulator.server import EmulatorServer
from laneway.tokens import count_tokens

WEATHER_TOOL: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}


def test_string_input(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-5.2", input="Say hello")
    assert response.status == "completed"
    assert response.model == "gpt-5.2-2025-12-11"  # the snapshot that answered
    assert response.id.startswith("resp_")
    assert response.output_text
    usage = response.usage
    assert usage is not None
    assert usage.input_tokens == count_tokens("user: Say hello\n\n")
    assert usage.output_tokens == count_tokens(response.output_text)
    assert usage.output_tokens_details.reasoning_tokens == 0  # effort defaults to none
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_answers_are_deterministic(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-5.4", input="Same question")
    second = client.responses.create(model="gpt-5.4", input="Same question")
    other = client.responses.create(model="gpt-5.4", input="Another question")
    assert first.output_text == second.output_text
    assert first.output_text != other.output_text


def test_generated_words_are_single_tokens() -> None:
    # The generator's length accounting rests on this.
    for word in WORDS:
        for form in (word, " " + word, word.capitalize(), " " + word.capitalize()):
            assert count_tokens(form) == 1, form


def test_item_list_input_instructions_and_metadata(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-5.4-mini",
        instructions="Be brief.",
        input=[
            {"role": "user", "content": "First question"},
            {"role": "assistant", "content": "First answer"},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Next"}],
            },
        ],
        metadata={"team": "search", "ticket": "42"},
        store=False,
    )
    assert response.instructions == "Be brief."
    assert response.metadata == {"team": "search", "ticket": "42"}
    assert response.to_dict()["store"] is False
    assert response.usage is not None
    rendered = (
        "system: Be brief.\n\nuser: First question\n\nassistant: First answer\n\nuser: Next\n\n"
    )
    assert response.usage.input_tokens == count_tokens(rendered)


def test_reasoning_grows_with_effort(client: OpenAI) -> None:
    counts = {}
    for effort in ("none", "low", "medium", "high", "xhigh"):
        response = client.responses.create(
            model="gpt-5.2", input="Prove it", reasoning={"effort": effort}
        )
        assert response.usage is not None
        counts[effort] = response.usage.output_tokens_details.reasoning_tokens
        assert response.reasoning is not None
        assert response.reasoning.effort == effort
        kinds = [item.type for item in response.output]
        assert kinds == (["message"] if effort == "none" else ["reasoning", "message"])
    assert counts["none"] == 0
    assert 0 < counts["low"] < counts["medium"] < counts["high"] < counts["xhigh"]


def test_effort_the_model_does_not_support(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="gpt-5.2", input="x", reasoning={"effort": "minimal"})
    assert info.value.code == "unsupported_value"
    assert info.value.param == "reasoning.effort"


def test_max_output_tokens_makes_it_incomplete(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-5.4", input="Write a long essay", max_output_tokens=16
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None
    assert response.usage.output_tokens == 16


def test_reasoning_alone_can_exhaust_max_output_tokens(client: OpenAI) -> None:
    response = client.responses.create(
        model="gpt-5.4", input="Think hard", reasoning={"effort": "xhigh"}, max_output_tokens=100
    )
    assert response.status == "incomplete"
    assert [item.type for item in response.output] == ["reasoning"]
    assert response.usage is not None
    assert response.usage.output_tokens == response.usage.output_tokens_details.reasoning_tokens
    assert response.usage.output_tokens == 100


class Invoice(BaseModel):
    number: str
    total_cents: int
    paid: bool
    lines: list[str]


def test_json_schema_output_validates(client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0, "maximum": 130},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
        "required": ["name", "age", "tags"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model="gpt-5.4-mini",
        input="Extract the person",
        text={
            "format": {"type": "json_schema", "name": "person", "schema": schema, "strict": True}
        },
    )
    jsonschema.validate(json.loads(response.output_text), schema)
    assert response.usage is not None
    assert response.usage.output_tokens == count_tokens(response.output_text)


def test_sdk_parse_helper_gets_a_typed_object(client: OpenAI) -> None:
    parsed = client.responses.parse(model="gpt-5.4", input="Read the invoice", text_format=Invoice)
    assert isinstance(parsed.output_parsed, Invoice)


def test_function_call_when_the_input_asks_for_it(client: OpenAI) -> None:
    first = client.responses.create(
        model="gpt-5.4", input="Call get_weather for Paris", tools=[WEATHER_TOOL]
    )
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather"
    assert call.call_id.startswith("call_")
    arguments = json.loads(call.arguments)
    assert WEATHER_TOOL["parameters"] is not None
    jsonschema.validate(arguments, WEATHER_TOOL["parameters"])
    # Feeding the tool's output back gets a message, not another call.
    second = client.responses.create(
        model="gpt-5.4",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18C"}],
        tools=[WEATHER_TOOL],
    )
    assert [item.type for item in second.output] == ["message"]
    assert second.previous_response_id == first.id


def test_no_call_unless_asked(client: OpenAI) -> None:
    plain = client.responses.create(model="gpt-5.4", input="Tell me a joke", tools=[WEATHER_TOOL])
    assert [item.type for item in plain.output] == ["message"]
    forced = client.responses.create(
        model="gpt-5.4", input="Tell me a joke", tools=[WEATHER_TOOL], tool_choice="required"
    )
    assert [item.type for item in forced.output] == ["function_call"]


def test_previous_response_carries_the_conversation(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-5.4", input="Remember the number 7")
    follow = client.responses.create(
        model="gpt-5.4", input="Which number?", previous_response_id=first.id
    )
    assert first.usage is not None
    assert follow.usage is not None
    assert follow.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens


def test_unknown_previous_response(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="gpt-5.4", input="x", previous_response_id="resp_nope")
    assert info.value.code == "previous_response_not_found"
    assert info.value.param == "previous_response_id"


def test_unstored_responses_cannot_be_continued(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-5.4", input="x", store=False)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-5.4", input="y", previous_response_id=first.id)


def test_hosted_tool_the_model_lacks(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(
            model="gpt-5.2",
            input="Click the button",
            tools=[
                {
                    "type": "computer_use_preview",
                    "display_width": 800,
                    "display_height": 600,
                    "environment": "browser",
                }
            ],
        )
    assert "not supported" in info.value.message


def test_stream_helper(client: OpenAI) -> None:
    deltas: list[str] = []
    numbers: list[int] = []
    with client.responses.stream(
        model="gpt-5.2", input="Stream please", reasoning={"effort": "low"}
    ) as stream:
        for event in stream:
            numbers.append(event.sequence_number)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert numbers == list(range(len(numbers)))
    assert "".join(deltas) == final.output_text
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens > 0


def test_raw_stream_event_order(client: OpenAI) -> None:
    events = list(client.responses.create(model="gpt-5.4-nano", input="hi", stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[0].response.status == "in_progress"  # type: ignore[union-attr]


def test_models(client: OpenAI) -> None:
    names = [model.id for model in client.models.list()]
    assert "gpt-5.2" in names
    assert "gpt-5.2-2025-12-11" in names
    assert client.models.retrieve("gpt-5.4-mini").id == "gpt-5.4-mini"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-3")
    assert info.value.code == "model_not_found"


def test_unknown_model(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(model="gpt-5.3", input="x")
    assert info.value.code == "model_not_found"
    assert (
        "The model `gpt-5.3` does not exist or you do not have access to it." in info.value.message
    )


def test_emulator_is_reachable_via_base_url(emulator: EmulatorServer) -> None:
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert emulator.base_url.endswith("/v1")


def test_the_context_manager_yields_a_base_url() -> None:
    from laneway.emulator import EmulatorConfig, emulator  # noqa: PLC0415 - the public entry

    with emulator(EmulatorConfig(speed=0, tier="none")) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with OpenAI(base_url=base_url, api_key="sk-x", _strict_response_validation=True) as client:
            assert client.responses.create(model="gpt-5.4-nano", input="hi").output_text
    with (
        pytest.raises(openai.APIConnectionError),
        OpenAI(base_url=base_url, api_key="sk-x", max_retries=0, timeout=2) as client,
    ):
        client.models.list()  # stopped on exit
