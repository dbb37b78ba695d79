"""What a slow or greedy client may hold: deadlines for reading a request, and how many
connections may be open at once, in all and per client address.

Deadlines are enforced by the listener's sweep, not by a timer per request: a connection notes
when its request began (`reading_since`), and the sweep closes one whose request is late. A
request is late when its headers are not all in `header_timeout_s` after its first byte (or,
for a connection's first request, after it was accepted), or the whole request is not in
`body_timeout_s` after its first byte. It is answered 408 and the connection closed, as nginx
does for its client_header_timeout and client_body_timeout.

A connection over either cap is answered 503 at once and closed, as nginx's `limit_conn` and
uvicorn's `--limit-concurrency` answer: the OpenAI SDK retries a 503 after a pause, where a
connection refused or left waiting in the accept queue would only look like a network fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0  # the whole request, from its first byte
    idle_timeout_s: float = 75.0  # longer than clients' pools keep idle sockets: they close first
    max_connections: int = 4096  # per process (each worker has its own)
    max_connections_per_client: int = 1024  # per peer address

    @property
    def sweep_every_s(self) -> float:
        """How often the sweep looks: a tenth of the shortest deadline, so none is overrun
        by more than that."""
        return min(self.header_timeout_s, self.idle_timeout_s) / 10


class Connections(Protocol):
    """Where a connection reports that it opened (and may stay: False closes it at once) and
    that it closed."""

    def opened(self, connection: object, peer: str) -> bool: ...

    def closed(self, connection: object) -> None: ...


class Unlimited:
    """Connections that nobody counts (a protocol made outside a listener)."""

    def opened(self, connection: object, peer: str) -> bool:
        return True

    def closed(self, connection: object) -> None:
        pass
