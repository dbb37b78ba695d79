"""Slowloris: connections that send a request too slowly are answered 408 and closed by their
deadline (here short, set in [server]), while the gateway goes on serving everyone else."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.gateway.conftest import gateway_config, start
from tests.sdk import sdk

HEADER_TIMEOUT_S = 0.5
BODY_TIMEOUT_S = 1.0
GUARD_S = 30.0  # far past the deadlines, far short of the 75 s idle timeout
PARTIAL_HEADERS = b"POST /v1/chat/completions HTTP/1.1\r\nhost: laneway\r\nx-slow: 1\r\n"
PARTIAL_BODY = (
    b'POST /v1/chat/completions HTTP/1.1\r\nhost: laneway\r\ncontent-length: 100\r\n\r\n{"mo'
)


@pytest.fixture
def slow_gateway(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    server = {
        "port": 0,
        "header_timeout_s": HEADER_TIMEOUT_S,
        "body_timeout_s": BODY_TIMEOUT_S,
        "max_connections_per_client": 2000,
        "max_connections": 2000,
    }
    gateway, _ = start(gateway_config(emulator, tmp_path / "ledger.db", server=server))
    with gateway:
        yield gateway


def hold_slow_connections(gateway: GatewayServer, count: int) -> None:
    with ExitStack() as stack:
        held = []
        for index in range(count):
            sock = stack.enter_context(socket.create_connection((gateway.host, gateway.port)))
            sock.sendall(PARTIAL_BODY if index % 4 == 0 else PARTIAL_HEADERS)
            held.append(sock)
        started = time.monotonic()
        # While they are held, an ordinary request is served.
        with sdk(gateway.base_url, "any-client-key") as client:
            answer = client.chat.completions.create(
                model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi"}]
            )
        assert answer.choices
        # Each is answered 408 and closed by its deadline, not by the idle timeout.
        for sock in held:
            sock.settimeout(max(GUARD_S - (time.monotonic() - started), 0.1))
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 408"), data[:200]
        assert time.monotonic() - started < GUARD_S


def test_two_hundred_slow_connections_are_closed_by_their_deadlines(
    slow_gateway: GatewayServer,
) -> None:
    hold_slow_connections(slow_gateway, 200)


@pytest.mark.slow
def test_a_thousand_slow_connections_are_closed_by_their_deadlines(
    slow_gateway: GatewayServer,
) -> None:
    hold_slow_connections(slow_gateway, 1000)
