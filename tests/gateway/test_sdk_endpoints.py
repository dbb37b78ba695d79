"""Every endpoint through laneway with the official SDK in strict mode: answers, headers, ledger."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import cost_of
from laneway.usage import Usage
from tests.gateway.conftest import Running

CATALOG = Catalog.load()
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Name three rivers in Europe."}
]


def priced(model: str, usage: Usage) -> Decimal:
    total = cost_of(CATALOG.get(model), usage).total
    assert total is not None
    return total


def test_chat_completion_with_headers_and_a_settled_record(
    client: OpenAI, gateway: Running
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-5.4-mini",
        messages=MESSAGES,
    )
    completion = raw.parse()
    assert completion.model.startswith("gpt-5.4-mini")
    assert completion.choices[0].message.content
    assert raw.headers["x-laneway-model"] == "gpt-5.4-mini"
    assert raw.headers["x-laneway-attempts"] == "1"
    assert raw.headers["x-request-id"].startswith("req_")  # the upstream's id

    record = gateway.record(raw.headers["x-laneway-request-id"])
    assert record.status == "ok"
    assert record.endpoint == "chat"
    assert not record.stream
    assert record.key_id is not None
    assert "any-client-key" not in record.key_id
    assert record.upstream_request_id == raw.headers["x-request-id"]
    assert completion.usage is not None
    assert record.usage == Usage(
        input_tokens=completion.usage.prompt_tokens,
        output_tokens=completion.usage.completion_tokens,
    )
    assert record.cost_usd == priced("gpt-5.4-mini", record.usage)
    assert Decimal(raw.headers["x-laneway-cost-usd"]) == record.cost_usd
    assert record.ttfb_ms is not None
    assert record.latency_ms is not None
    assert [(a.provider, a.model, a.status) for a in record.attempts] == [
        ("emu", "gpt-5.4-mini", 200)
    ]


def test_responses_create(client: OpenAI, gateway: Running) -> None:
    raw = client.responses.with_raw_response.create(
        model="gpt-5.4", input="One sentence on tides.", reasoning={"effort": "low"}
    )
    response = raw.parse()
    assert response.status == "completed"
    assert response.output_text
    record = gateway.record(raw.headers["x-laneway-request-id"])
    assert response.usage is not None
    assert record.usage is not None
    assert record.usage.input_tokens == response.usage.input_tokens
    assert record.usage.output_tokens == response.usage.output_tokens
    assert record.usage.reasoning_tokens == response.usage.output_tokens_details.reasoning_tokens
    assert record.cost_usd == priced("gpt-5.4", record.usage)


def test_responses_stream_helper(client: OpenAI, gateway: Running) -> None:
    with client.responses.stream(model="gpt-5.4-mini", input="Count to five.") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert final.usage is not None
    records = [r for r in gateway.records() if r.stream and r.endpoint == "responses"]
    record = next(
        r for r in records if r.usage and r.usage.output_tokens == final.usage.output_tokens
    )
    assert record.status == "ok"
    assert record.usage is not None
    assert record.usage.input_tokens == final.usage.input_tokens


def test_chat_stream_helper_with_usage_asked(client: OpenAI, gateway: Running) -> None:
    with client.chat.completions.stream(
        model="gpt-5.4-nano",
        messages=MESSAGES,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = [event.chunk for event in stream if event.type == "chunk"]
        final = stream.get_final_completion()
    assert final.choices[0].message.content
    assert chunks[-1].usage is not None
    assert chunks[-1].choices == []


def test_chat_stream_without_usage_drops_the_usage_chunk_laneway_asked_for(
    client: OpenAI, gateway: Running
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-5.4-mini",
        messages=MESSAGES,
        stream=True,
    )
    chunks = list(raw.parse())
    assert chunks, "no chunks"
    assert all(chunk.choices for chunk in chunks), "the usage-only chunk reached the client"
    assert all(chunk.usage is None for chunk in chunks)
    assert "x-laneway-cost-usd" not in raw.headers  # not known when the head is sent
    record = gateway.record(raw.headers["x-laneway-request-id"])
    assert record.status == "ok"
    assert record.stream
    assert record.usage is not None
    assert record.usage.output_tokens > 0
    assert record.cost_usd == priced("gpt-5.4-mini", record.usage)


def test_previous_response_id_follow_up(client: OpenAI) -> None:
    first = client.responses.create(model="gpt-5.4-mini", input="Remember: 42.")
    second = client.responses.create(
        model="gpt-5.4-mini", input="What did I ask you to remember?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id


def test_models_list_and_retrieve(client: OpenAI) -> None:
    names = {model.id for model in client.models.list()}
    assert {"gpt-5.2", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano"} <= names
    assert client.models.retrieve("gpt-5.4").id == "gpt-5.4"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-0-nonexistent")


def test_unknown_fields_pass_through_to_upstream(client: OpenAI) -> None:
    # The emulator, like the API, refuses unknown parameters: so laneway forwarded it untouched.
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=MESSAGES,
            extra_body={"not_a_real_field": 1},
        )
    assert raised.value.code == "unknown_parameter"
    assert raised.value.param == "not_a_real_field"
