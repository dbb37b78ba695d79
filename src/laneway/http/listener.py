"""Listening sockets and the connections they accept, held to their limits (laneway.http.limits)
and closed together at shutdown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from laneway.http.limits import ConnectionLimits, Connections
from laneway.http.protocol import HttpProtocol

BACKLOG = 2048
IDLE_TIMEOUT_S = ConnectionLimits().idle_timeout_s  # the default when no limits are given


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


ProtocolFactory = Callable[[Connections], HttpProtocol]


class Listener:
    """Accepts connections with `factory` (given the `Connections` a connection reports its
    opening and closing to: this listener), and can close them all at shutdown."""

    def __init__(self, factory: ProtocolFactory, limits: ConnectionLimits | None = None) -> None:
        self._factory = factory
        self.limits = limits or ConnectionLimits(idle_timeout_s=IDLE_TIMEOUT_S)
        self._connections: set[HttpProtocol] = set()
        self._peers: dict[object, str] = {}  # connection -> its address, once counted
        self._per_peer: dict[str, int] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def _protocol(self) -> HttpProtocol:
        protocol = self._factory(self)
        self._connections.add(protocol)
        return protocol

    def opened(self, connection: object, peer: str) -> bool:
        limits = self.limits
        if len(self._connections) > limits.max_connections:
            return False
        count = self._per_peer.get(peer, 0)
        if count >= limits.max_connections_per_client:
            return False
        self._per_peer[peer] = count + 1
        self._peers[connection] = peer
        return True

    def closed(self, connection: object) -> None:
        self._connections.discard(connection)
        peer = self._peers.pop(connection, None)
        if peer is not None:
            left = self._per_peer[peer] - 1
            if left:
                self._per_peer[peer] = left
            else:
                del self._per_peer[peer]

    async def start(self, sock: socket.socket) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.create_task(self._sweep_every())
        return await loop.create_server(self._protocol, sock=sock, backlog=BACKLOG)

    async def _sweep_every(self) -> None:
        # One sweep every so often instead of a timer re-armed on every request.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.limits.sweep_every_s)
            self.sweep(loop.time())

    def sweep(self, now: float) -> None:
        """Close what is past its deadline at loop time `now`: connections idle too long, and
        requests read too slowly (answered 408)."""
        limits = self.limits
        idle_cutoff = now - limits.idle_timeout_s
        header_cutoff = now - limits.header_timeout_s
        body_cutoff = now - limits.body_timeout_s
        for protocol in list(self._connections):
            reading = protocol.reading_since
            late = body_cutoff if protocol.headers_read else header_cutoff
            if reading is not None and reading < late:
                protocol.time_out()
                continue
            idle = protocol.idle_since
            if idle is not None and idle < idle_cutoff:
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
