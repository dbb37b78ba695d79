"""A stream the upstream cuts after bytes were sent is settled at an estimate, and the key's
budget is charged that estimate, not released: through the SDK, a virtual key with a budget,
the emulator cutting the stream, and its journal of what it billed for the call."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openai
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.gateway.conftest import gateway_config
from tests.gateway.test_virtual_keys import ENV, admin, create_key
from tests.sdk import sdk

PROMPT = "Describe the tides in a few sentences."


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[EmulatorServer, GatewayServer]]:
    config = EmulatorConfig(seed=9, speed=0, tier="none", journal_requests=100)
    with EmulatorServer(config) as emulator:
        gateway = gateway_config(emulator, tmp_path / "ledger.db", keys={"refresh_s": 0.2})
        with GatewayServer(gateway, ENV) as server:
            yield emulator, server


def stream_cut(client: openai.OpenAI, endpoint: str) -> None:
    """A stream the emulator cuts after 7 events: the SDK raises at the error event."""
    cut = {"x-emulator-fault": "cut=7"}
    if endpoint == "responses":
        with client.responses.stream(
            model="gpt-5.4-mini", input=PROMPT, extra_headers=cut
        ) as events:
            events.get_final_response()
        return
    with client.chat.completions.stream(
        model="gpt-5.4-mini", messages=[{"role": "user", "content": PROMPT}], extra_headers=cut
    ) as chunks:
        chunks.get_final_completion()


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
def test_a_cut_stream_is_charged_its_estimate(
    served: tuple[EmulatorServer, GatewayServer], endpoint: str
) -> None:
    emulator, server = served
    key, view = create_key(server, name="streams", budgets=["5/day"])
    with sdk(server.base_url, key) as client, pytest.raises(openai.APIError):
        stream_cut(client, endpoint)
    assembly = server.assembly
    assert assembly is not None
    assembly.writer.flush(5)
    (record,) = [r for r in assembly.ledger.between(None, None) if r.key_id == view["id"]]
    assert record.status == "broken"
    assert record.cost_basis == "estimated"
    billed = emulator.engine.bill.billed(record.upstream_request_id or "")
    assert billed is not None
    assert record.usage is not None
    # The emulator's words are one token each and its input count is laneway's: exact here.
    assert record.usage.input_tokens == billed.usage.input_tokens
    assert record.usage.output_tokens == billed.usage.output_tokens > 0
    assert record.cost_usd is not None
    assert record.cost_usd > 0
    day = next(
        item
        for item in admin(server, "GET", f"keys/{view['id']}").json()["spend"]
        if item["window"] == "day"
    )
    assert Decimal(day["reserved_usd"]) == 0
    spent = Decimal(day["spent_usd"])
    assert record.cost_usd <= spent < record.cost_usd + Decimal("1e-9")  # nano-dollars, up
