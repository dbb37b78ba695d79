"""A `previous_response_id` follow-up goes back to the provider that produced the response."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.sdk import sdk


def two_providers(nano_only: EmulatorServer, everything: EmulatorServer) -> dict[str, Any]:
    """ "first" serves only the nano and is listed first, so a plain nano request goes there;
    "second" serves every model. Both read their key from $KEY."""
    return {
        "first": {
            "kind": "openai-compatible",
            "base_url": nano_only.base_url,
            "api_key_env": "KEY",
            "models": ["gpt-5.4-nano"],
        },
        "second": {
            "kind": "openai-compatible",
            "base_url": everything.base_url,
            "api_key_env": "KEY",
        },
    }


def test_follow_ups_stay_with_their_conversation(tmp_path: Path) -> None:
    config = EmulatorConfig(speed=0, tier="none")
    with EmulatorServer(config) as nano_only, EmulatorServer(config) as everything:
        gateway = GatewayConfig.model_validate(
            {
                # A plain nano request goes to "first"...
                "providers": two_providers(nano_only, everything),
                "ledger": {"path": str(tmp_path / "ledger.db")},
                "server": {"port": 0},
            }
        )
        with (
            GatewayServer(gateway, {"KEY": "sk-affinity"}) as server,
            sdk(server.base_url) as client,
        ):
            # ...but this conversation starts on "second" (only it serves the mini)...
            opening = client.responses.with_raw_response.create(model="gpt-5.4-mini", input="Hi.")
            assert opening.headers["x-laneway-provider"] == "second"
            # ...so its nano follow-up must go there too: "first" has never seen the id.
            follow_up = client.responses.with_raw_response.create(
                model="gpt-5.4-nano", input="And again?", previous_response_id=opening.parse().id
            )
            assert follow_up.headers["x-laneway-provider"] == "second"
            assert follow_up.parse().previous_response_id == opening.parse().id
            fresh = client.responses.with_raw_response.create(model="gpt-5.4-nano", input="New.")
            assert fresh.headers["x-laneway-provider"] == "first"
