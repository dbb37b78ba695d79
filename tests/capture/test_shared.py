"""Capture across replicas: two gateways sharing PostgreSQL (the ledger, so the captures) and
Redis (admission state, so the day's count) capture no more than `per_day` together, and what
they store in PostgreSQL is redacted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.sdk import sdk


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed=3, speed=0, tier="none")) as server:
        yield server


def replica(emulator: EmulatorServer, dsn: str, namespace: str) -> GatewayServer:
    config = GatewayConfig.model_validate(
        {
            "providers": {
                "emu": {
                    "kind": "openai-compatible",
                    "base_url": emulator.base_url,
                    "api_key_env": "EMU_KEY",
                }
            },
            "ledger": {"backend": "postgres"},
            "state": {"backend": "redis", "namespace": namespace},
            "server": {"port": 0},
            "capture": {
                "lanes": ["*"],
                "share": 1.0,
                "per_day": 3,
                "redact": [{"pattern": r"[\w.]+@example\.com", "replace": "[email]"}],
            },
        }
    )
    env = {"EMU_KEY": "sk-emu-0123456789", "LANEWAY_POSTGRES_DSN": dsn}
    return GatewayServer(config, env).start()


def test_two_replicas_share_the_day_cap_and_store_only_redacted_text(
    emulator: EmulatorServer, postgres_url: str, redis_namespace: str, tmp_path: Path
) -> None:
    replicas = [replica(emulator, postgres_url, redis_namespace) for _ in range(2)]
    try:
        for number in range(3):
            for server in replicas:
                with sdk(server.base_url, "any-key") as client:
                    client.responses.create(
                        model="gpt-5.4-mini", input=f"q{number}: mail ann{number}@example.com"
                    )
        for server in replicas:
            assert server.assembly is not None
            assert server.assembly.capture is not None
            server.assembly.capture.writer.flush()
    finally:
        for server in replicas:
            server.stop()
    with psycopg.connect(postgres_url) as conn:
        stored = conn.execute("SELECT request, answer, lane FROM captures").fetchall()
        table = conn.execute("SELECT captures::text FROM captures").fetchall()
    assert len(stored) == 3  # of 6 requests, the day's cap over both replicas
    assert all(lane is None for _, _, lane in stored)  # plain model ids, captured by "*"
    text = "".join(row[0] for row in table)
    assert "@example.com" not in text
    assert text.count("[email]") == 3
