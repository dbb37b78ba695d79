"""The gateway in front of a live emulator, both on loopback, and the official SDK as client.

Retries do not sleep: the gateway is given `RecordedSleep`, which notes each delay and returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from openai import OpenAI

from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig, FaultRule, KeyRule
from laneway.emulator.server import EmulatorServer
from laneway.ledger.record import LedgerRecord
from laneway.server.run import GatewayServer
from tests.sdk import sdk

PROVIDER_KEY = "sk-provider-secret-0123456789"
MINI_ONLY_KEY = "sk-provider-mini-only-0123456789"
BROKEN_MODEL = "gpt-5.2"  # the emulator answers 503 to every request for it


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=11,
        speed=0,
        tier="none",
        keys={MINI_ONLY_KEY: KeyRule(models=("gpt-5.4-mini",))},
        faults=(FaultRule(kind="status", status=503, models=(BROKEN_MODEL,)),),
    )
    with EmulatorServer(config) as server:
        yield server


def gateway_config(emulator: EmulatorServer, ledger_path: Path, **sections: Any) -> GatewayConfig:
    raw: dict[str, Any] = {
        "providers": {
            "emu": {
                "kind": "openai-compatible",
                "base_url": emulator.base_url,
                "api_key_env": "EMU_KEY",
            }
        },
        "models": {BROKEN_MODEL: {"fallbacks": ["gpt-5.4"]}},
        "ledger": {"path": str(ledger_path)},
        "timeouts": {"first_byte_s": 2.0, "idle_s": 2.0, "total_s": 10.0},
        "server": {"port": 0},
    }
    raw.update(sections)
    return GatewayConfig.model_validate(raw)


class Running:
    """A started gateway, its recorded sleeps, and its ledger."""

    def __init__(self, server: GatewayServer, sleep: RecordedSleep) -> None:
        self.server = server
        self.sleep = sleep

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def record(self, request_id: str) -> LedgerRecord:
        assembly = self.server.assembly
        assert assembly is not None
        assembly.writer.flush(5)
        found = assembly.ledger.get(request_id)
        assert found is not None, f"no ledger record {request_id}"
        return found

    def records(self) -> list[LedgerRecord]:
        assembly = self.server.assembly
        assert assembly is not None
        assembly.writer.flush(5)
        return list(assembly.ledger.between(None, None))


def create_key(server: GatewayServer, admin_key: str, **fields: Any) -> tuple[str, str]:
    """A virtual key made through the admin API: its secret and its id."""
    answer = httpx.post(
        f"http://127.0.0.1:{server.port}/admin/keys",
        headers={"authorization": f"Bearer {admin_key}"},
        json=fields,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    view = answer.json()
    return view["key"], view["id"]


def start(
    config: GatewayConfig, env: dict[str, str] | None = None
) -> tuple[GatewayServer, RecordedSleep]:
    sleep = RecordedSleep()
    server = GatewayServer(
        config, env if env is not None else {"EMU_KEY": PROVIDER_KEY}, sleep=sleep
    )
    return server.start(), sleep


@pytest.fixture(scope="module")
def gateway(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    ledger = tmp_path_factory.mktemp("gateway") / "ledger.db"
    server, sleep = start(gateway_config(emulator, ledger))
    try:
        yield Running(server, sleep)
    finally:
        server.stop()


@pytest.fixture
def client(gateway: Running) -> Iterator[OpenAI]:
    with sdk(gateway.base_url, "any-client-key") as openai_client:
        yield openai_client
