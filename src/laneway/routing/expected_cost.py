"""What a candidate is expected to cost and to count against rate limits, for ranking and
ceilings (routing.router): integer pico-USD, exact where prices allow."""

from __future__ import annotations

import math
from decimal import Decimal

from laneway.pricing.model_spec import ModelSpec
from laneway.pricing.money import PicoUSD
from laneway.routing.lanes import Lane, Option
from laneway.routing.observations import Profile
from laneway.wire.features import RequestFeatures

TYPICAL_OUTPUT = 1024
"""Output tokens expected of an answer before a lane has observed any on the model."""


def rate_estimate(input_tokens: int, features: RequestFeatures, model_max_output: int) -> int:
    """Tokens a request counts against a rate limit: input plus the most it may write, as
    OpenAI (and the emulator) estimate it when admitting a request."""
    return input_tokens + (features.max_output_tokens or model_max_output)


def expected_cost(
    option: Option, profile: Profile | None, tokens: int, most: int | None
) -> PicoUSD | None:
    """Expected cost in pico-USD (rounded up where a price is finer than that), None when a
    price is unknown. Output as this lane's answers on the model had it, else (no history yet)
    the request's cap (`most`), else a typical answer (`TYPICAL_OUTPUT`): never the model's
    whole max output, which is the worst case budgets reserve (laneway.pricing.worst_case)."""
    if not option.known_price:
        return None
    if profile is not None:
        share = profile.cached_share
        output, cached = round(profile.output_tokens), int(tokens * share) if share else 0
    else:
        output, cached = TYPICAL_OUTPUT if most is None else most, 0
    rate_in, rate_cached, rate_out = option.rates
    if rate_in is None or rate_out is None or (cached and rate_cached is None):
        return expected_cost_decimal(option.spec, tokens, cached, output)
    return (tokens - cached) * rate_in + output * rate_out + cached * (rate_cached or 0)


def expected_cost_decimal(
    spec: ModelSpec | None, tokens: int, cached: int, output: int
) -> PicoUSD | None:
    """The slow exact path, for prices finer than a pico-dollar (or an unknown cached one)."""
    if spec is None:
        return None
    prices = spec.prices
    if prices.input is None or prices.output is None:
        return None
    if cached and prices.cached_input is None:
        return None
    total = (tokens - cached) * prices.input + output * prices.output
    if cached:
        total += cached * (prices.cached_input or 0)
    return math.ceil(total * 1_000_000)  # per 1M tokens -> pico-USD


def over_ceiling(lane: Lane, cost: int | None) -> str | None:
    """Why a lane with a cost ceiling skips an option of this expected cost, or None."""
    ceiling = lane.max_cost_pico
    if ceiling is None:
        return None
    if cost is None:
        return "price unknown and the lane has a cost ceiling"
    if cost > ceiling:
        return f"expected ${Decimal(cost).scaleb(-12):.6f} > ceiling ${lane.max_cost_usd}"
    return None
