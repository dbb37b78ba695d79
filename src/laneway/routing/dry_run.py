"""A router built from config alone, for `laneway route --explain` and `laneway lanes`: the same
lanes and constraints `serve` would use, with providers that never send anything.

Provider keys are not needed (nor read): nothing leaves the machine. With no provider configured
and no OPENAI_API_KEY, serve answers from the embedded emulator, so the dry run plans against a
provider named "emulator" that serves every model, as serve would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from laneway.clock import SystemClock
from laneway.config import GatewayConfig
from laneway.ledger.sqlite import SQLiteLedger
from laneway.pricing.catalog import Catalog
from laneway.routing.breaker import Breakers
from laneway.routing.headroom import Headroom
from laneway.routing.lanes import Warn, build_lanes
from laneway.routing.observations import HISTORY_S, Observations
from laneway.routing.router import Router
from laneway.upstream.providers import Provider, effective_providers
from laneway.upstream.retry import RetryBudget
from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import NotSent, UpstreamResponse


class NoTransport:
    """A transport that refuses to send: a dry run must never reach a provider."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, timeouts: Timeouts
    ) -> UpstreamResponse:
        raise NotSent("a dry run sends nothing")

    async def close(self) -> None:
        return None


def dry_router(
    config: GatewayConfig,
    env: Mapping[str, str],
    *,
    ledger: Path | None = None,
    warn: Warn | None = None,
) -> Router:
    clock = SystemClock()
    configs = effective_providers(config, env)
    if configs is None:
        providers = [_provider("emulator", "emulator", "http://127.0.0.1", frozenset())]
    else:
        providers = [
            _provider(name, c.kind, c.base_url or "", frozenset(c.models))
            for name, c in configs.items()
        ]
    catalog = Catalog.load(*config.catalog)
    table = build_lanes(config, providers, catalog, warn=warn or (lambda _: None))
    observations = Observations()
    if ledger is not None and ledger.exists():
        store = SQLiteLedger(ledger)
        try:
            observations = Observations.from_ledger(store.lane_profiles(clock.time() - HISTORY_S))
        finally:
            store.close()
    return Router(
        table,
        providers,
        catalog,
        breakers=Breakers(clock),
        headroom=Headroom(clock),
        observations=observations,
        fallbacks={model: route.fallbacks for model, route in config.models.items()},
        timeouts=config.timeouts,
        rng=random.Random(0),  # noqa: S311 - a canary arm for an explanation
    )


def _provider(name: str, kind: str, base_url: str, models: frozenset[str]) -> Provider:
    return Provider(
        name=name,
        kind=kind,
        base_url=base_url,
        models=models,
        tier="tier-1",
        transport=NoTransport(),
        retry_budget=RetryBudget(SystemClock()),
        headers={},
    )
