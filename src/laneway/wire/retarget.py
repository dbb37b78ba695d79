"""A request body sent to another model and reasoning effort: what a replay cell changes of a
workload line, and nothing else.

    Responses: {"model": ..., "reasoning": {"effort": ...}}   (other reasoning fields kept)
    Chat:      {"model": ..., "reasoning_effort": ...}
"""

from __future__ import annotations

from typing import Any

from laneway.wire.request import Endpoint


def retargeted(
    endpoint: Endpoint, body: dict[str, Any], model: str, effort: str | None
) -> dict[str, Any]:
    """A copy of `body` naming `model`, at `effort` (None: the body's own effort, if any). The
    body's nested values are shared, not copied: they are only serialised."""
    sent = {**body, "model": model}
    if effort is None:
        return sent
    if endpoint == "chat":
        sent["reasoning_effort"] = effort
        return sent
    reasoning = body.get("reasoning")
    sent["reasoning"] = {**(reasoning if isinstance(reasoning, dict) else {}), "effort": effort}
    return sent


def effort_of(endpoint: Endpoint, body: dict[str, Any]) -> str | None:
    """The reasoning effort a body asks for (None: the model's default)."""
    if endpoint == "chat":
        effort = body.get("reasoning_effort")
    else:
        reasoning = body.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return effort if isinstance(effort, str) else None


def streams(body: dict[str, Any]) -> bool:
    """Whether the body asks for an event stream."""
    return body.get("stream") is True
