"""Stored responses through the official SDK: retrieve, delete, input items, background mode and
cancel, each response visible only to the key that made it. Time is a `ManualClock`: background
responses complete when the test moves it, never by waiting."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from laneway.clock import ManualClock
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from tests.openapi import validator
from tests.sdk import sdk

BACKGROUND_S = 30.0


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def emulator(clock: ManualClock) -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=3, speed=0, tier="none", background_s=BACKGROUND_S, journal_requests=1000
    )
    with EmulatorServer(config, clock=clock) as server:
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[OpenAI]:
    with sdk(emulator.base_url, "sk-owner") as openai_client:
        yield openai_client


@pytest.fixture
def stranger(emulator: EmulatorServer) -> Iterator[OpenAI]:
    with sdk(emulator.base_url, "sk-someone-else") as openai_client:
        yield openai_client


def test_retrieve_gives_the_response_as_created(client: OpenAI) -> None:
    created = client.responses.create(model="gpt-5.4-mini", input="Say hello")
    again = client.responses.retrieve(created.id)
    assert again.model_dump() == created.model_dump()
    assert again.usage is not None
    assert again.usage.output_tokens > 0


def test_another_key_cannot_see_read_or_continue_a_response(
    client: OpenAI, stranger: OpenAI
) -> None:
    created = client.responses.create(model="gpt-5.4-mini", input="A secret.")
    with pytest.raises(openai.NotFoundError, match="not found"):
        stranger.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.input_items.list(created.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.delete(created.id)
    with pytest.raises(openai.BadRequestError, match="not found"):
        stranger.responses.create(
            model="gpt-5.4-mini", input="What was it?", previous_response_id=created.id
        )
    assert client.responses.retrieve(created.id).id == created.id  # still there for its owner


def test_a_deleted_response_is_gone(client: OpenAI) -> None:
    created = client.responses.create(model="gpt-5.4-mini", input="Forget me.")
    deleted = client.responses.with_raw_response.delete(created.id)
    assert deleted.http_response.json() == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError, match="not found"):
        client.responses.create(model="gpt-5.4-mini", input="And?", previous_response_id=created.id)


def test_unstored_responses_cannot_be_retrieved(client: OpenAI) -> None:
    created = client.responses.create(model="gpt-5.4-mini", input="Ephemeral.", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_input_items_pages_by_limit_order_and_after(client: OpenAI) -> None:
    created = client.responses.create(
        model="gpt-5.4-mini",
        input=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "One."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": [{"type": "input_text", "text": "Two."}]},
        ],
    )
    everything = client.responses.input_items.list(created.id, order="asc")
    roles = [item.role for item in everything.data if item.type == "message"]
    assert roles == ["developer", "user", "assistant", "user"]
    first = client.responses.input_items.with_raw_response.list(
        created.id, order="asc", limit=3
    ).http_response.json()
    assert [item["id"] for item in first["data"]] == [i.id for i in everything.data[:3]]
    assert first["has_more"]
    assert first["first_id"] == everything.data[0].id
    assert first["last_id"] == everything.data[2].id
    rest = client.responses.input_items.list(created.id, order="asc", after=first["last_id"])
    assert [item.id for item in rest.data] == [everything.data[3].id]
    assert not rest.has_more
    newest_first = client.responses.input_items.list(created.id)  # desc by default
    assert [i.id for i in newest_first.data] == [i.id for i in reversed(everything.data)]
    with pytest.raises(openai.BadRequestError, match="limit"):
        client.responses.input_items.list(created.id, limit=0)


def test_background_is_queued_then_completes_and_is_billed_then(
    client: OpenAI, emulator: EmulatorServer, clock: ManualClock
) -> None:
    raw = client.responses.with_raw_response.create(
        model="gpt-5.4-mini", input="Take your time.", background=True
    )
    queued = raw.parse()
    assert queued.status == "queued"
    assert queued.background
    assert queued.usage is None
    request_id = raw.headers["x-request-id"]
    assert emulator.engine.bill.billed(request_id) is None  # nothing billed yet
    clock.advance(1)
    assert client.responses.retrieve(queued.id).status == "in_progress"
    clock.advance(BACKGROUND_S)
    done = client.responses.retrieve(queued.id)
    assert done.status == "completed"
    assert done.output_text
    assert done.usage is not None
    billed = emulator.engine.bill.billed(request_id)
    assert billed is not None
    assert billed.usage.output_tokens == done.usage.output_tokens
    assert billed.at == queued.created_at + BACKGROUND_S  # when it completed
    with pytest.raises(openai.BadRequestError, match="Cannot cancel"):
        client.responses.cancel(queued.id)


def test_cancel_stops_a_background_response_and_bills_what_it_generated(
    client: OpenAI, stranger: OpenAI, emulator: EmulatorServer, clock: ManualClock
) -> None:
    raw = client.responses.with_raw_response.create(
        model="gpt-5.4-mini", input="A long story, please.", background=True
    )
    queued = raw.parse()
    with pytest.raises(openai.NotFoundError):
        stranger.responses.cancel(queued.id)
    clock.advance(BACKGROUND_S / 2)
    answer = client.responses.with_raw_response.cancel(queued.id)
    validator("Response").validate(answer.http_response.json())  # the spec's shape (cancel too)
    cancelled = answer.parse()
    assert cancelled.status == "cancelled"
    assert cancelled.usage is not None
    billed = emulator.engine.bill.billed(raw.headers["x-request-id"])
    assert billed is not None
    assert billed.usage.output_tokens == cancelled.usage.output_tokens
    assert billed.usage.input_tokens == cancelled.usage.input_tokens > 0
    again = client.responses.cancel(queued.id)  # idempotent
    assert again.status == "cancelled"
    clock.advance(BACKGROUND_S)
    assert client.responses.retrieve(queued.id).status == "cancelled"  # it never completes


def test_only_background_responses_can_be_cancelled(client: OpenAI) -> None:
    created = client.responses.create(model="gpt-5.4-mini", input="Quick.")
    with pytest.raises(openai.BadRequestError, match="synchronous"):
        client.responses.cancel(created.id)


def test_background_needs_store(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="store"):
        client.responses.create(model="gpt-5.4-mini", input="Hi.", background=True, store=False)
