"""A request's input size in tokens, counted exactly only when a decision depends on it.

Tokenising every prompt would cost more than the rest of the gateway's work on a request, and
most decisions do not need it: a body of N bytes holds at most N tokens (see
`laneway.wire.features`), so "does it fit a 400K window?" is settled by the byte count for all
but bodies near the limit. Only those are counted, once, with the exact o200k_base tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable


class InputSize:
    __slots__ = ("_count", "_exact", "estimate", "upper")

    def __init__(self, upper: int, estimate: int, count: Callable[[], int]) -> None:
        self.upper = upper  # never fewer tokens than the input has
        self.estimate = estimate  # a cheap guess, for pricing
        self._count = count
        self._exact: int | None = None

    @property
    def counted(self) -> bool:
        return self._exact is not None

    def exact(self) -> int:
        if self._exact is None:
            self._exact = self._count()
        return self._exact

    def best(self) -> int:
        """The exact count when it was needed already, else the estimate."""
        return self._exact if self._exact is not None else self.estimate

    def at_most(self, limit: int) -> bool:
        return self.upper <= limit or self.exact() <= limit

    def at_least(self, limit: int) -> bool:
        return self.upper >= limit and self.exact() >= limit
