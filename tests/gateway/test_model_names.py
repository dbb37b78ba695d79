"""Model names as people type them, through the gateway with the official SDK: a case variant is
served as the model it names (the upstream gets the canonical name), a typo's 404 suggests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from laneway.emulator.server import EmulatorServer
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk


def test_a_case_variant_is_served_as_the_model_it_names(client: OpenAI, gateway: Running) -> None:
    raw = client.responses.with_raw_response.create(model="GPT-5.4-Mini", input="hi")
    # The emulator, like OpenAI, knows only the canonical name: the answer proves it was sent.
    assert raw.parse().model.startswith("gpt-5.4-mini")
    assert raw.headers["x-laneway-model"] == "gpt-5.4-mini"
    record = gateway.record(raw.headers["x-laneway-request-id"])
    assert record.requested_model == "gpt-5.4-mini"
    assert [a.model for a in record.attempts] == ["gpt-5.4-mini"]
    assert record.route is not None
    assert "model 'GPT-5.4-Mini' read as 'gpt-5.4-mini'" in record.route


def test_a_typo_gets_a_404_that_suggests_the_model(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(
            model="gpt-5.4-minii", messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.code == "model_not_found"
    assert "Did you mean 'gpt-5.4-mini'" in raised.value.message
    with pytest.raises(openai.NotFoundError) as listed:
        client.models.retrieve("gpt-5.4-minii")
    assert "Did you mean 'gpt-5.4-mini'" in listed.value.message


@pytest.fixture
def mini_only(emulator: EmulatorServer, tmp_path: Path) -> Iterator[OpenAI]:
    config = gateway_config(emulator, tmp_path / "ledger.db")
    provider = config.providers["emu"].model_copy(update={"models": ("gpt-5.4-mini",)})
    config = config.model_copy(update={"providers": {"emu": provider}})
    server, _ = start(config)
    with server, sdk(server.base_url, "any") as client:
        yield client


def test_a_model_no_provider_serves_gets_a_suggestion_too(mini_only: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        mini_only.responses.create(model="gpt-5.4-mimi", input="hi")
    assert "no configured provider serves this model" in raised.value.message
    assert "Did you mean 'gpt-5.4-mini'" in raised.value.message
