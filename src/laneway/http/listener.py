"""Listening sockets and the connections they accept, closed together at shutdown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from laneway.http.protocol import HttpProtocol

BACKLOG = 2048
IDLE_TIMEOUT_S = 75.0  # longer than clients' pools keep idle sockets, so they close first


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:  # several worker processes, each with its own accept queue
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


ProtocolFactory = Callable[[Callable[[HttpProtocol], None]], HttpProtocol]


class Listener:
    """Accepts connections with `factory` (given the callback a connection calls when it
    closes) and can close them all at shutdown."""

    def __init__(self, factory: ProtocolFactory, idle_timeout_s: float | None = None) -> None:
        self._factory = factory
        self._idle_timeout_s = idle_timeout_s or IDLE_TIMEOUT_S
        self._connections: set[HttpProtocol] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def _protocol(self) -> HttpProtocol:
        protocol = self._factory(self._connections.discard)
        self._connections.add(protocol)
        return protocol

    async def start(self, sock: socket.socket) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.create_task(self._close_idle_connections())
        return await loop.create_server(self._protocol, sock=sock, backlog=BACKLOG)

    async def _close_idle_connections(self) -> None:
        # One sweep every few seconds instead of a timer re-armed on every answer.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._idle_timeout_s / 10)
            cutoff = loop.time() - self._idle_timeout_s
            for protocol in list(self._connections):
                if protocol.idle_since is not None and protocol.idle_since < cutoff:
                    protocol.close()

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def drain(self, grace_s: float) -> None:
        """Wait (up to `grace_s`) until no connection has a request in hand."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while loop.time() < deadline and any(
            protocol.idle_since is None for protocol in self._connections
        ):
            await asyncio.sleep(0.05)

    def close_connections(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for protocol in list(self._connections):
            protocol.close()
