"""Per-attempt timeouts whose defaults grow with reasoning effort.

A non-streaming answer's first byte arrives only when the whole answer is ready, and reasoning
comes before any text: an xhigh request can take 40 s and more (the GPT-5.2 guide), where a
`none` request answers in seconds. One timeout for all would either cut deep reasoning short or
leave a hung cheap request waiting minutes. Streams can also fall quiet while the model thinks,
so the idle limit between events scales the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from laneway.config_file import Strict


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float
    first_byte_s: float  # from sending the request to the first byte of the answer
    idle_s: float  # the longest quiet gap between two stream events
    total_s: float  # the whole attempt

    def __post_init__(self) -> None:
        for name in ("connect_s", "first_byte_s", "idle_s", "total_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.total_s < self.first_byte_s:
            raise ValueError("total_s must not be shorter than first_byte_s")


_CONNECT_S = 5.0  # the SDK's own connect timeout: a healthy endpoint accepts far faster
# first byte / idle, and total, by effort (seconds).
_BY_EFFORT: dict[str, tuple[float, float]] = {
    "none": (60.0, 180.0),
    "minimal": (60.0, 180.0),
    "low": (120.0, 300.0),
    "medium": (180.0, 420.0),
    "high": (300.0, 600.0),
    "xhigh": (600.0, 900.0),
    "max": (900.0, 1200.0),
}


def default_timeouts(effort: str | None) -> Timeouts:
    """Defaults for a request at `effort` (None: the models' default, none). An unknown effort
    gets the most patient limits: better slow than cut off."""
    first_byte, total = _BY_EFFORT.get(effort or "none", _BY_EFFORT["max"])
    return Timeouts(connect_s=_CONNECT_S, first_byte_s=first_byte, idle_s=first_byte, total_s=total)


class TimeoutsConfig(Strict):
    """Fixed per-attempt limits; a limit left out follows the request's reasoning effort."""

    connect_s: Annotated[float, Field(gt=0)] | None = None
    first_byte_s: Annotated[float, Field(gt=0)] | None = None
    idle_s: Annotated[float, Field(gt=0)] | None = None
    total_s: Annotated[float, Field(gt=0)] | None = None

    def for_effort(self, effort: str | None) -> Timeouts:
        base = default_timeouts(effort)
        first_byte = self.first_byte_s or base.first_byte_s
        return Timeouts(
            connect_s=self.connect_s or base.connect_s,
            first_byte_s=first_byte,
            idle_s=self.idle_s or base.idle_s,
            total_s=self.total_s or max(base.total_s, first_byte),
        )

    def over(self, base: TimeoutsConfig) -> TimeoutsConfig:
        """These limits where set, `base`'s elsewhere (a lane's over the gateway's)."""
        return TimeoutsConfig(
            connect_s=self.connect_s or base.connect_s,
            first_byte_s=self.first_byte_s or base.first_byte_s,
            idle_s=self.idle_s or base.idle_s,
            total_s=self.total_s or base.total_s,
        )
