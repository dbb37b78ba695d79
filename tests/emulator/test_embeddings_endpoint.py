"""The emulator's POST /v1/embeddings, through the official SDK: shapes, usage, bill, 400s."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.tokens import count_tokens
from tests.sdk import sdk


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none")) as server:
        yield server


def test_vectors_are_deterministic_and_usage_counts_every_input(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url) as client:
        texts = ["The quick brown fox", "jumps over the lazy dog"]
        one = client.embeddings.create(
            model="text-embedding-3-large", input=texts, encoding_format="float"
        )
        again = client.embeddings.create(
            model="text-embedding-3-large", input=texts[0], encoding_format="float"
        )
        tokens = client.embeddings.create(
            model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]], encoding_format="float"
        )
    assert len(one.data[0].embedding) == 3072
    assert again.data[0].embedding == one.data[0].embedding
    assert one.usage.prompt_tokens == sum(count_tokens(t) for t in texts)
    assert one.usage.total_tokens == one.usage.prompt_tokens
    assert tokens.usage.prompt_tokens == 5
    assert len(tokens.data) == 2


def test_too_many_tokens_in_all_is_a_400(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url) as client, pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(
            model="text-embedding-3-small", input=[[7] * 8000] * 40, encoding_format="float"
        )
    assert refused.value.code == "max_tokens_per_request"


def test_a_chat_model_does_not_embed(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url) as client, pytest.raises(openai.BadRequestError) as refused:
        client.embeddings.create(model="gpt-5.4", input="x", encoding_format="float")
    assert refused.value.param == "model"


def test_wrong_types_are_400s(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url) as client:
        for bad in ({"input": 5}, {"input": [[1], "x", None]}, {"encoding_format": "hex"}):
            body = {"model": "text-embedding-3-small", "input": "x", **bad}
            with pytest.raises(openai.BadRequestError):
                client.post("/embeddings", body=body, cast_to=object)


def test_an_embedding_model_does_not_chat(emulator: EmulatorServer) -> None:
    with sdk(emulator.base_url) as client:
        with pytest.raises(openai.NotFoundError) as refused:
            client.chat.completions.create(
                model="text-embedding-3-small", messages=[{"role": "user", "content": "hi"}]
            )
        assert "not a chat model" in refused.value.message
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="text-embedding-3-small", input="hi")
