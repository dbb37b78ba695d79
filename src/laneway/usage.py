"""`Usage`: the one normalised token count used by the ledger, budgets, metrics and reports.

Normalisation follows the way OpenAI bills: cached input is a *part of* input and reasoning a
*part of* output. Building a `Usage` from the wire is `laneway.wire.usage`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

from laneway.errors import UsageError


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one request. Invariants: all >= 0, cached <= input, reasoning <= output."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        # Straight-line checks: this runs for every request, so no reflection loops.
        counts = (
            self.input_tokens,
            self.output_tokens,
            self.cached_input_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )
        for value in counts:
            # bool is an int subclass; True tokens is a bug somewhere upstream, not a count.
            if type(value) is not int or value < 0:
                self._refuse()
        if self.cached_input_tokens > self.input_tokens:
            raise UsageError(
                f"cached input tokens ({self.cached_input_tokens}) exceed input tokens "
                f"({self.input_tokens}); cached tokens are a part of the input"
            )
        if self.cache_write_tokens > self.input_tokens - self.cached_input_tokens:
            raise UsageError(
                f"cache-write tokens ({self.cache_write_tokens}) exceed the uncached input "
                f"({self.input_tokens - self.cached_input_tokens})"
            )
        if self.reasoning_tokens > self.output_tokens:
            raise UsageError(
                f"reasoning tokens ({self.reasoning_tokens}) exceed output tokens "
                f"({self.output_tokens}); reasoning tokens are a part of the output"
            )

    def _refuse(self) -> None:
        """Name the first count that is not a non-negative integer."""
        for name in (
            "input_tokens",
            "output_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ):
            value = getattr(self, name)
            if type(value) is not int:
                raise UsageError(f"{name} must be an integer, got {value!r}")
            if value < 0:
                raise UsageError(f"{name} must not be negative, got {value}")

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_input_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


ZERO_USAGE = Usage(input_tokens=0, output_tokens=0)
