"""The cost engine: a `Usage` and a catalog entry in, an exact `CostBreakdown` out.

    cost = uncached input x input price + cached input x cached-input price
           + output (reasoning included) x output price,          all per 1M tokens
    batch: every price x (1 - the model's batch discount)

Cache-write tokens are part of the uncached input and billed at the input price (OpenAI charges
nothing extra for writing the cache). A part with tokens but no known price makes that part and
the total unknown (None) with the reason; a part with no tokens costs nothing whatever its price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from laneway.pricing.model_spec import ModelSpec
from laneway.usage import Usage

_ZERO = Decimal(0)
_MILLIONTH = -6  # Decimal.scaleb exponent: an exact division by 1,000,000


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """Each part in USD, or None when its price is unknown; `unknown` says why."""

    model: str
    usage: Usage
    batch: bool
    uncached_input: Decimal | None
    cached_input: Decimal | None
    output: Decimal | None
    reasoning: Decimal | None  # the share of `output` spent on reasoning tokens
    total: Decimal | None
    unknown: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.total is not None


def _part(
    tokens: int, price: Decimal | None, multiplier: Decimal | None, what: str, reasons: list[str]
) -> Decimal | None:
    if tokens == 0:
        return _ZERO
    if price is None:
        reasons.append(f"{what} price is unknown")
        return None
    if multiplier is None:
        return None  # the batch discount's reason is recorded once by the caller
    return (tokens * price * multiplier).scaleb(_MILLIONTH)


def cost_of(model: ModelSpec, usage: Usage, *, batch: bool = False) -> CostBreakdown:
    """Price `usage` on `model`; never rounds, never treats unknown as zero."""
    reasons: list[str] = []
    multiplier: Decimal | None = Decimal(1)
    if batch:
        if model.batch_discount is None:
            multiplier = None
            if usage.total_tokens:
                reasons.append("batch discount is unknown")
        else:
            multiplier = 1 - model.batch_discount

    prices = model.prices
    uncached = _part(usage.uncached_input_tokens, prices.input, multiplier, "input", reasons)
    cached = _part(
        usage.cached_input_tokens, prices.cached_input, multiplier, "cached input", reasons
    )
    output = _part(usage.output_tokens, prices.output, multiplier, "output", reasons)
    reasoning = _part(usage.reasoning_tokens, prices.output, multiplier, "output", [])

    total = None
    if uncached is not None and cached is not None and output is not None:
        total = uncached + cached + output
    return CostBreakdown(
        model=model.id,
        usage=usage,
        batch=batch,
        uncached_input=uncached,
        cached_input=cached,
        output=output,
        reasoning=reasoning,
        total=total,
        unknown=tuple(dict.fromkeys(reasons)),
    )
