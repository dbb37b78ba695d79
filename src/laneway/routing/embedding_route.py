"""Routing an embeddings request: by its model only.

Lanes route chat models (their options, efforts, output caps and auto rules mean nothing to an
embedding), so an embeddings request that names a lane, `auto` or sends x-laneway-lane is a 400
rather than a guess at which embedding model a chat lane stands for.
"""

from __future__ import annotations

from laneway.routing.lane_config import AUTO, LANE_PREFIX
from laneway.routing.lanes import LaneTable
from laneway.wire.errors import ApiError


def refuse_lane(model: str, header_lane: str | None, table: LaneTable) -> None:
    """OpenAI-shaped 400 when an embeddings request asks for a lane."""
    if not (header_lane or model == AUTO or model.startswith(LANE_PREFIX) or table.named(model)):
        return
    named = f"header x-laneway-lane {header_lane!r}" if header_lane else f"model '{model}'"
    raise ApiError(
        400,
        f"Lanes route chat models: an embeddings request must name an embedding model, not a "
        f"lane ({named}).",
        param="model",
        code="lane_not_for_embeddings",
    )
