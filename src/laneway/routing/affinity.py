"""Which provider and model produced a response, so a `previous_response_id` follow-up goes back
there: the conversation's state lives with the deployment that produced it.

Bounded and in memory: a follow-up whose id has been forgotten (a restart, another replica, or
more than `capacity` responses ago) is routed like a new request. Shared state joins later.
"""

from __future__ import annotations

from collections import OrderedDict


class Affinity:
    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._homes: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def remember(self, response_id: str, provider: str, model: str) -> None:
        self._homes[response_id] = (provider, model)
        if len(self._homes) > self._capacity:
            self._homes.popitem(last=False)

    def home_of(self, response_id: str) -> tuple[str, str] | None:
        """(provider, model) that produced `response_id`, if still remembered."""
        return self._homes.get(response_id)
