"""laneway: an OpenAI-compatible LLM gateway; this package is also its library.

    from decimal import Decimal
    from laneway import Catalog, Usage, cost_of
    cost = cost_of(Catalog.load().get("gpt-5.2"), Usage(input_tokens=10_000, output_tokens=2_000))
    assert cost.total == Decimal("0.0455")

The gateway in-process (docs/gateway.md, "As a library"):

    async with laneway.build_gateway(laneway.GatewayConfig()) as gateway:
        answer = await gateway.handle("responses", body)

The gateway's names are imported on first use, so `import laneway` for pricing stays light.
"""

import importlib
import typing

from laneway.errors import (
    CatalogError,
    CatalogProblem,
    ConfigError,
    LanewayError,
    UnknownModelError,
    UsageError,
)
from laneway.pricing.catalog import Catalog
from laneway.pricing.cost import CostBreakdown, cost_of
from laneway.pricing.model_spec import ModelSpec
from laneway.tokens import count_tokens
from laneway.usage import Usage

if typing.TYPE_CHECKING:
    from laneway.assembly import Assembly, build_gateway
    from laneway.config import GatewayConfig
    from laneway.gateway.answer import Answer, AnswerMeta
    from laneway.gateway.client import Client
    from laneway.gateway.core import Gateway
    from laneway.gateway.observers import Bodies, Exchange, Observer
    from laneway.wire.errors import ApiError

# name -> the module it lives in, imported when the name is first asked for.
_LAZY = {
    "Answer": "laneway.gateway.answer",
    "AnswerMeta": "laneway.gateway.answer",
    "ApiError": "laneway.wire.errors",
    "Assembly": "laneway.assembly",
    "Bodies": "laneway.gateway.observers",
    "Client": "laneway.gateway.client",
    "Exchange": "laneway.gateway.observers",
    "Gateway": "laneway.gateway.core",
    "GatewayConfig": "laneway.config",
    "Observer": "laneway.gateway.observers",
    "build_gateway": "laneway.assembly",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'laneway' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Answer",
    "AnswerMeta",
    "ApiError",
    "Assembly",
    "Bodies",
    "Catalog",
    "CatalogError",
    "CatalogProblem",
    "Client",
    "ConfigError",
    "CostBreakdown",
    "Exchange",
    "Gateway",
    "GatewayConfig",
    "LanewayError",
    "ModelSpec",
    "Observer",
    "UnknownModelError",
    "Usage",
    "UsageError",
    "build_gateway",
    "cost_of",
    "count_tokens",
]
