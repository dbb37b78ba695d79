"""Lanes as data for people: config, candidates and their current health (breaker state and
rate-limit headroom), for `laneway lanes` and the gateway's GET /laneway/lanes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from laneway.pricing.money import usd_str
from laneway.routing.lanes import Lane, LaneTable, Option
from laneway.upstream.breaker import BreakerKey, BreakerStatus
from laneway.upstream.headroom import Headroom, HeadroomView
from laneway.upstream.health import Health

# The health read once for a whole listing: breaker states and headroom views.
_Seen = tuple[Mapping[BreakerKey, BreakerStatus], Mapping[BreakerKey, HeadroomView], Headroom]


def lanes_listing(table: LaneTable, health: Health) -> list[dict[str, Any]]:
    seen = (health.breakers.snapshot(), health.headroom.snapshot(), health.headroom)
    return [_lane(lane, seen) for lane in table.lanes.values()]


def _lane(lane: Lane, health: _Seen) -> dict[str, Any]:
    shadow = lane.shadow
    return {
        "name": lane.name,
        "description": lane.description,
        "aliases": list(lane.aliases),
        "policy": lane.policy.name,
        "effort": lane.effort,
        "max_effort": lane.max_effort,
        "max_cost_usd": None if lane.max_cost_usd is None else usd_str(lane.max_cost_usd),
        "candidates": [
            _option(o, lane.weights[o.arm] if lane.weights else None, health) for o in lane.options
        ],
        "fallbacks": [_option(o, None, health) for o in lane.fallbacks],
        "shadow": None
        if shadow is None
        else {
            "candidates": [o.label for o in shadow.options],
            "share": shadow.share,
            "max_usd_per_day": None
            if shadow.max_usd_per_day is None
            else usd_str(shadow.max_usd_per_day),
        },
        "shipped": lane.shipped,
    }


def _option(option: Option, weight: int | None, health: _Seen) -> dict[str, Any]:
    provider, model = option.provider.name, option.model
    breaker = health[0].get((provider, model))
    headroom = health[1].get((provider, model))
    return {
        "candidate": option.label,
        "weight": weight,
        "in_catalog": option.spec is not None,
        "health": breaker.state if breaker is not None else "closed",
        "headroom": health[2].fits(provider, model, 1) or "ok",
        "requests_left": None if headroom is None else headroom.requests_left,
        "tokens_left": None if headroom is None else headroom.tokens_left,
    }
