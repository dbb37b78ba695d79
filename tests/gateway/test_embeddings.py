"""/v1/embeddings through the gateway on the emulator, with the official SDK: routed by model,
admitted (key access, budget reserved), recorded with usage and exact cost, budget charged."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openai
import pytest

from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.server.run import GatewayServer
from tests.gateway.conftest import gateway_config
from tests.gateway.test_virtual_keys import ENV, admin, create_key
from tests.sdk import sdk

SMALL = "text-embedding-3-small"


@pytest.fixture
def server(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    config = gateway_config(emulator, tmp_path / "ledger.db")
    with GatewayServer(config, ENV) as running:
        yield running


def records(server: GatewayServer) -> list[LedgerRecord]:
    """The server's ledger, flushed, oldest first."""
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    return sorted(assembly.ledger.between(None, None), key=lambda r: r.created_at)


def test_embeddings_are_served_recorded_priced_and_charged(server: GatewayServer) -> None:
    key, view = create_key(server, name="embedder", budgets=["1/day"])
    with sdk(server.base_url, key) as client:
        # Strict validation checks the body before the SDK decodes base64 (its default), so
        # the strict client asks for floats; base64 is checked below with a lenient one.
        answer = client.embeddings.create(
            model=SMALL, input=["hello there", "general kenobi"], encoding_format="float"
        )
    with openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0) as lenient:
        decoded = lenient.embeddings.create(model=SMALL, input="hello there", dimensions=64)
    assert [item.index for item in answer.data] == [0, 1]
    assert len(answer.data[0].embedding) == 1536
    assert len(decoded.data[0].embedding) == 64
    assert answer.usage.prompt_tokens > 0
    assert sum(x * x for x in answer.data[0].embedding) == pytest.approx(1.0, abs=1e-6)
    assert sum(x * x for x in decoded.data[0].embedding) == pytest.approx(1.0, abs=1e-5)
    floats = decoded

    [first, second] = records(server)
    assert first.endpoint == "embeddings"
    assert first.status == "ok"
    assert first.key_id == view["id"]
    assert first.answering_model == SMALL
    assert first.usage is not None
    assert first.usage.input_tokens == answer.usage.prompt_tokens
    assert first.usage.output_tokens == 0
    # $0.02 per 1M input tokens, exactly.
    assert first.cost_usd == Decimal(answer.usage.prompt_tokens) * Decimal("0.02") / 10**6
    assert second.cost_usd == Decimal(floats.usage.prompt_tokens) * Decimal("0.02") / 10**6
    day = next(i for i in admin(server, "GET", f"keys/{view['id']}").json()["spend"])
    spent = first.cost_usd + second.cost_usd
    assert Decimal(day["spent_usd"]) >= spent
    assert Decimal(day["spent_usd"]) - spent < Decimal("1e-9") * 2
    assert Decimal(day["reserved_usd"]) == 0


def test_the_budget_reserves_input_times_price_only(server: GatewayServer) -> None:
    # A tiny budget: a chat request's output worst case would never fit, an embedding's does.
    key, _ = create_key(server, name="tiny", budgets=["0.0001/day"])
    with sdk(server.base_url, key) as client:
        fits = client.embeddings.create(model=SMALL, input="fits", encoding_format="float")
        assert fits.usage.prompt_tokens > 0
        with pytest.raises(openai.RateLimitError) as refused:
            client.responses.create(model="gpt-5.4-mini", input="does not fit")
    assert refused.value.code == "insufficient_quota"


def test_a_lane_or_auto_is_refused_for_embeddings(server: GatewayServer) -> None:
    with sdk(server.base_url, "anything") as client:
        for model in ("auto", "lane:coding"):
            with pytest.raises(openai.BadRequestError) as refused:
                client.embeddings.create(model=model, input="x")
            assert refused.value.code == "lane_not_for_embeddings"
        with pytest.raises(openai.BadRequestError) as refused:
            client.embeddings.create(
                model=SMALL, input="x", extra_headers={"x-laneway-lane": "coding"}
            )
        assert refused.value.code == "lane_not_for_embeddings"


def test_a_key_limited_to_lanes_or_other_models_may_not_embed(server: GatewayServer) -> None:
    lanes_key, _ = create_key(server, name="lanes-only", lanes=["coding"])
    models_key, _ = create_key(server, name="small-only", models=[SMALL])
    with sdk(server.base_url, lanes_key) as client, pytest.raises(openai.PermissionDeniedError):
        client.embeddings.create(model=SMALL, input="x")
    with sdk(server.base_url, models_key) as client:
        assert client.embeddings.create(model=SMALL, input="x", encoding_format="float").data
        with pytest.raises(openai.PermissionDeniedError):
            client.embeddings.create(model="text-embedding-3-large", input="x")
    refused = [r for r in records(server) if r.status == "refused"]
    assert {r.endpoint for r in refused} == {"embeddings"}


def test_bad_input_gets_openai_shaped_400s(server: GatewayServer) -> None:
    with sdk(server.base_url, "anything") as client:
        for bad in ("", [], [""], ["x"] * 2049):
            with pytest.raises(openai.BadRequestError) as refused:
                client.embeddings.create(model=SMALL, input=bad)
            assert refused.value.param == "input"
        with pytest.raises(openai.BadRequestError) as refused:
            client.embeddings.create(model=SMALL, input="hello " * 9000, encoding_format="float")
        assert refused.value.code == "context_length_exceeded"
        with pytest.raises(openai.BadRequestError) as refused:
            client.embeddings.create(model="text-embedding-ada-002", input="x", dimensions=8)
        assert refused.value.param == "dimensions"
