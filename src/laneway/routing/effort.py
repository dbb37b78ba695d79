"""The reasoning effort a request is sent at: the client's, else the lane's default, never above
the lane's maximum, and always one the model accepts.

The seeds' advice is to start at `none` and raise effort only where evaluations show it pays;
a lane encodes that with `effort` (the default) and `max_effort` (the cap). A model that does
not accept the effort gets the nearest one below it that it does accept (the cheaper side),
else its lowest: sending an effort the model refuses would only earn a 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from laneway.pricing.model_spec import REASONING_EFFORTS

_RANK: dict[str, int] = {effort: rank for rank, effort in enumerate(REASONING_EFFORTS)}


def effective_effort(
    requested: str | None,
    *,
    default: str | None,
    maximum: str | None,
    supported: Sequence[str] | None,
) -> tuple[str | None, str | None]:
    """(the effort to send, why it differs from `requested`); (requested, None) when unchanged.

    None as the effort to send means "leave the request as it is" (no effort field is added).
    An effort laneway does not know is left alone: upstream will judge it.
    """
    effort = requested
    why: str | None = None
    if effort is None and default is not None:
        effort, why = default, f"lane default {default}"
    if effort is None or effort not in _RANK:
        return effort, why
    if maximum is not None and _RANK[effort] > _RANK[maximum]:
        effort, why = maximum, f"{effort} capped at the lane's max_effort {maximum}"
    if supported and effort not in supported:
        below = [e for e in supported if e in _RANK and _RANK[e] <= _RANK[effort]]
        ranked = below or sorted((e for e in supported if e in _RANK), key=_RANK.__getitem__)
        if ranked:
            chosen = max(ranked, key=_RANK.__getitem__) if below else ranked[0]
            why = f"{effort} is not accepted by the model; sent {chosen}"
            effort = chosen
    if effort == requested:
        return effort, None
    return effort, why
