"""Lanes as data for people: config, candidates and their current health (breaker state and
rate-limit headroom), for `laneway lanes` and the gateway's GET /laneway/lanes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from laneway.pricing.money import usd_str
from laneway.routing.breaker import BreakerKey, BreakerStatus
from laneway.routing.headroom import HeadroomView
from laneway.routing.lanes import Lane, Option
from laneway.routing.router import Router

Health = tuple[Mapping[BreakerKey, BreakerStatus], Mapping[BreakerKey, HeadroomView]]


def lanes_listing(router: Router) -> list[dict[str, Any]]:
    health = (router.breakers.snapshot(), router.headroom.snapshot())
    return [_lane(router, lane, health) for lane in router.table.lanes.values()]


def _lane(router: Router, lane: Lane, health: Health) -> dict[str, Any]:
    shadow = lane.shadow
    return {
        "name": lane.name,
        "description": lane.description,
        "aliases": list(lane.aliases),
        "policy": lane.policy,
        "effort": lane.effort,
        "max_effort": lane.max_effort,
        "max_cost_usd": None if lane.max_cost_usd is None else usd_str(lane.max_cost_usd),
        "candidates": [
            _option(router, o, lane.weights[o.arm] if lane.weights else None, health)
            for o in lane.options
        ],
        "fallbacks": [_option(router, o, None, health) for o in lane.fallbacks],
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


def _option(router: Router, option: Option, weight: int | None, health: Health) -> dict[str, Any]:
    provider, model = option.provider.name, option.model
    breaker = health[0].get((provider, model))
    headroom = health[1].get((provider, model))
    return {
        "candidate": option.label,
        "weight": weight,
        "in_catalog": option.spec is not None,
        "health": breaker.state if breaker is not None else "closed",
        "headroom": router.headroom.fits(provider, model, 1) or "ok",
        "requests_left": None if headroom is None else headroom.requests_left,
        "tokens_left": None if headroom is None else headroom.tokens_left,
    }
