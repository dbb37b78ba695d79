"""What laneway knows of each deployment's health: its circuit breaker and its rate-limit
headroom. Written by the attempts that reach upstreams, read by routing when it plans."""

from __future__ import annotations

from dataclasses import dataclass

from laneway.clock import Clock
from laneway.upstream.breaker import Breakers, BreakerSettings
from laneway.upstream.headroom import Headroom


@dataclass(frozen=True, slots=True)
class Health:
    breakers: Breakers
    headroom: Headroom

    @classmethod
    def fresh(cls, clock: Clock, breaker: BreakerSettings | None = None) -> Health:
        """Every breaker closed, nothing known of any rate limit."""
        return cls(Breakers(clock, breaker), Headroom(clock))
