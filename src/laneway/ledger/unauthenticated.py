"""Requests refused for want of a valid key: counted, never recorded one by one.

A request with no bearer, or one that matches no key, identifies nobody, so it gets no record:
a flood of them must not become a flood of rows. Each is counted in memory under (minute,
reason, client address), and the counts go to the ledger's `unauthenticated` table through the
writer, added to what is stored (count += n), at most once per `flush_after_s`. The bearer's
text is never looked at here, so it is never stored or logged.

Memory and rows stay bounded: at most `max_clients` distinct addresses are counted per minute;
the requests of any further address that minute are counted under the client `other`. So each
minute adds at most len(REASONS) x (max_clients + 1) rows, whatever the traffic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Literal, Protocol, get_args

from laneway.clock import Clock

log = logging.getLogger(__name__)

Reason = Literal["missing_key", "invalid_key"]
# missing_key: no bearer (or no "Bearer" scheme); invalid_key: a bearer that matches no key, or
# a key's prefix with the wrong secret. A revoked or expired key whose secret matched is
# identified: it gets a record of its own (laneway.gateway.refusals).
REASONS: Final = frozenset(get_args(Reason))
OTHER_CLIENT: Final = "other"
MAX_CLIENTS = 256  # distinct addresses counted apart per minute
FLUSH_AFTER_S = 1.0

Schedule = Callable[[float, Callable[[], None]], object]
"""`schedule(delay_s, callback)`: call back once, later (the event loop's `call_later`)."""


class CountSink(Protocol):
    def add_unauthenticated(self, counts: list[tuple[float, str, str, int]]) -> None: ...


class UnauthenticatedTally:
    def __init__(
        self,
        sink: CountSink,
        clock: Clock,
        schedule: Schedule | None = None,
        *,
        max_clients: int = MAX_CLIENTS,
        flush_after_s: float = FLUSH_AFTER_S,
    ) -> None:
        """`schedule` None: nothing is flushed until `flush` is called."""
        self._sink = sink
        self._clock = clock
        self._schedule = schedule
        self._max_clients = max_clients
        self._flush_after_s = flush_after_s
        self._minute = -1.0
        self._clients: set[str] = set()  # addresses counted apart this minute
        self._pending: dict[tuple[float, str, str], int] = {}

    def count(self, reason: Reason, client: str) -> None:
        """One more unauthenticated request, from `client` (its address)."""
        now = self._clock.time()
        minute = now - now % 60
        if minute != self._minute:
            self._minute = minute
            self._clients = set()
        clients = self._clients
        if client not in clients:
            if len(clients) >= self._max_clients:
                client = OTHER_CLIENT
            else:
                clients.add(client)
        pending = self._pending
        if not pending and self._schedule is not None:
            self._schedule(self._flush_after_s, self.flush)
        key = (minute, reason, client)
        pending[key] = pending.get(key, 0) + 1

    @property
    def pending(self) -> int:
        """Requests counted and not yet handed to the ledger."""
        return sum(self._pending.values())

    def flush(self) -> None:
        """Hand the counts so far to the ledger writer."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            self._sink.add_unauthenticated([(*key, n) for key, n in pending.items()])
        except RuntimeError as error:  # the writer closed before the last flush came
            log.error(
                "%d unauthenticated requests went uncounted: %s", sum(pending.values()), error
            )
