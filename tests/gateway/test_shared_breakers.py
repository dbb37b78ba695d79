"""Circuit breakers shared by replicas: one replica's open reaches the others through Redis,
which then route around the deployment without sending it anything."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2 as httpx

from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.gateway.conftest import BROKEN_MODEL, gateway_config, start


def breaker_state(server: GatewayServer) -> str:
    assert server.assembly is not None
    return server.assembly.health.breakers.state("emu", BROKEN_MODEL)


def ask(server: GatewayServer) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/responses",
        json={"model": BROKEN_MODEL, "input": "hello"},
        headers={"authorization": "Bearer sk-any"},
    )


def test_an_open_on_one_replica_opens_the_others(
    emulator: EmulatorServer, tmp_path: Path, redis_namespace: str
) -> None:
    sections = {
        "state": {"backend": "redis", "namespace": redis_namespace},
        "breaker": {"consecutive_failures": 2, "sync_s": 0.05},
        "retry": {"max_attempts": 1},
    }
    first, _ = start(gateway_config(emulator, tmp_path / "a.db", **sections))
    second, _ = start(gateway_config(emulator, tmp_path / "b.db", **sections))
    try:
        # Two failures on the first replica (the emulator answers 503 for the model; each
        # request falls back to gpt-5.4): its breaker opens.
        for _ in range(2):
            answer = ask(first)
            assert answer.status_code == 200
            assert answer.headers["x-laneway-attempts"] == "2"
        assert breaker_state(first) == "open"
        # The second replica has sent nothing to that deployment, yet opens within a few syncs.
        deadline = time.monotonic() + 5
        while breaker_state(second) != "open" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert breaker_state(second) == "open"
        answer = ask(second)
        assert answer.status_code == 200
        assert answer.headers["x-laneway-attempts"] == "1"  # straight to the fallback
        assert answer.headers["x-laneway-model"] == "gpt-5.4"
        assert "circuit open" in answer.headers["x-laneway-route"]
    finally:
        first.stop()
        second.stop()


def test_memory_state_keeps_breakers_to_the_process(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    server, _ = start(gateway_config(emulator, tmp_path / "a.db"))
    with server:
        assert server.assembly is not None
        assert server.assembly.board is None
