"""The output cap laneway sets on a request when a budget applies and the client set none.

Without a cap a request's worst case is the model's whole max output (128K tokens: $0.58 on
gpt-5.4-mini, $1.92 on gpt-5.4), so a budget of a few cents refuses the first "hi". With one,
the reservation is what the cap allows, the answer is cut there and marked incomplete upstream
(Responses `status: "incomplete"`, Chat `finish_reason: "length"`), never silently.

Reasoning tokens count against the cap before any visible token, so the cap grows with the
effort the request is sent at: the allowance (tokens at effort none) times

    none 1   minimal 1   low 2   medium 4   high 8   xhigh 16   max 16

An effort not named (the model's default) is taken as medium, the default of reasoning models;
an effort outside the table (which upstream refuses anyway) the same. The cap never exceeds the
max output of any candidate the request may be sent to, so it stays valid on fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Final

from laneway.routing.router import Plan

DEFAULT_ALLOWANCE: Final = 1024
"""Tokens at effort none (so 4,096 at medium: $0.018 of output on gpt-5.4-mini)."""

EFFORT_SCALE: Final[Mapping[str, int]] = MappingProxyType(
    {"none": 1, "minimal": 1, "low": 2, "medium": 4, "high": 8, "xhigh": 16, "max": 16}
)
UNNAMED_SCALE: Final = EFFORT_SCALE["medium"]


def output_cap(allowance: int, efforts: Iterable[str | None], limits: Iterable[int | None]) -> int:
    """The cap for a request sent at `efforts` (one per candidate; None: the model's default)
    to models writing at most `limits` (None: unknown)."""
    # Loops, not max() over a generator: this runs on every budgeted request without a cap.
    scale, scales = 1, EFFORT_SCALE
    for effort in efforts:
        factor = scales.get(effort, UNNAMED_SCALE) if effort else UNNAMED_SCALE
        scale = max(scale, factor)
    cap = allowance * scale
    for limit in limits:
        if limit is not None and limit < cap:
            cap = limit
    return cap


def plan_cap(plan: Plan, allowance: int, max_output: Callable[[str], int | None]) -> int:
    """The cap for a planned request: its lane's allowance (else `allowance`), at the efforts
    its candidates are sent at, within each candidate model's `max_output`."""
    lane = plan.lane
    if lane is not None and lane.output_allowance is not None:
        allowance = lane.output_allowance
    requested = plan.effort
    efforts: list[str | None] = []
    limits: list[int | None] = []
    for candidate in plan.candidates:
        efforts.append(candidate.effort or requested)
        limits.append(max_output(candidate.model))
    return output_cap(allowance, efforts, limits)
