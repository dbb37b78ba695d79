"""Which provider produced a response, so a `previous_response_id` follow-up goes back there.

Bounded and in memory: a follow-up whose id has been forgotten (a restart, another replica, or
more than `capacity` responses ago) is routed like a new request. Shared state joins later.
"""

from __future__ import annotations

from collections import OrderedDict


class Affinity:
    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._providers: OrderedDict[str, str] = OrderedDict()

    def remember(self, response_id: str, provider: str) -> None:
        self._providers[response_id] = provider
        if len(self._providers) > self._capacity:
            self._providers.popitem(last=False)

    def provider_of(self, response_id: str) -> str | None:
        return self._providers.get(response_id)
