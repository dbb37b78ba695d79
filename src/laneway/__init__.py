"""laneway: an OpenAI-compatible LLM gateway; this package is also its library.

from decimal import Decimal
from laneway import Catalog, Usage, cost_of
cost = cost_of(Catalog.load().get("gpt-5.2"), Usage(input_tokens=10_000, output_tokens=2_000))
assert cost.total == Decimal("0.0455")
"""

from laneway.errors import (
    CatalogError,
    CatalogProblem,
    LanewayError,
    UnknownModelError,
    UsageError,
)
from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import CostBreakdown, cost_of
from laneway.pricing.model_spec import ModelSpec
from laneway.tokens import count_tokens
from laneway.usage import Usage

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogProblem",
    "CostBreakdown",
    "LanewayError",
    "ModelSpec",
    "UnknownModelError",
    "Usage",
    "UsageError",
    "cost_of",
    "count_tokens",
]
