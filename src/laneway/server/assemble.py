"""Building a running gateway from its config: ledger, providers, gateway, HTTP app."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from laneway.clock import Clock, SystemClock
from laneway.config import GatewayConfig, ProviderConfig
from laneway.gateway.attempts import Sleep
from laneway.gateway.core import Gateway
from laneway.ledger.sqlite import SQLiteLedger, default_ledger_path
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.routing.breaker import BreakerSettings
from laneway.routing.lanes import Warn, build_lanes, check_key_lanes
from laneway.routing.observations import HISTORY_S, Observations
from laneway.server.app import GatewayApp
from laneway.server.auth import ClientKeys
from laneway.server.readiness import Readiness
from laneway.upstream.http1 import Http1Transport
from laneway.upstream.providers import build_providers
from laneway.upstream.retry import RetryPolicy
from laneway.upstream.transport import Transport


def ledger_path(config: GatewayConfig, env: Mapping[str, str]) -> Path:
    if config.ledger.path is not None:
        return config.ledger.path
    if env.get("LANEWAY_LEDGER"):
        return Path(env["LANEWAY_LEDGER"])
    return default_ledger_path()


def transport_for(provider: ProviderConfig) -> Transport:
    if provider.http_client == "aiohttp":
        # Imported only when asked for: it costs start-up time and memory.
        from laneway.upstream.aiohttp_transport import AiohttpTransport  # noqa: PLC0415

        return AiohttpTransport(max_connections=provider.max_connections)
    return Http1Transport(max_connections=provider.max_connections)


@dataclass
class Assembly:
    gateway: Gateway
    app: GatewayApp
    ledger: SQLiteLedger
    writer: LedgerWriter

    async def close(self) -> None:
        await self.gateway.close()
        self.writer.close()
        self.ledger.close()


def assemble(
    config: GatewayConfig,
    providers: Mapping[str, ProviderConfig],
    env: Mapping[str, str],
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    sleep: Sleep | None = None,
    warn: Warn | None = None,
) -> Assembly:
    """Everything one worker runs. Call inside the event loop that will serve it."""
    clock = clock or SystemClock()
    retry = config.retry
    built = build_providers(
        providers,
        env,
        transport_for,
        clock,
        budget_ratio=retry.budget_ratio,
    )
    catalog = Catalog.load(*config.catalog)
    lanes = build_lanes(config, built, catalog, warn=warn or _quiet)
    check_key_lanes(lanes, config.key_lanes())
    ledger = SQLiteLedger(ledger_path(config, env))
    writer = LedgerWriter(ledger)
    observations = Observations.from_ledger(ledger.lane_profiles(clock.time() - HISTORY_S))
    extra = {} if sleep is None else {"sleep": sleep}
    breaker = config.breaker
    gateway = Gateway(
        built,
        catalog,
        writer,
        lanes=lanes,
        observations=observations,
        breaker=BreakerSettings(
            consecutive_failures=breaker.consecutive_failures,
            failure_rate=breaker.failure_rate,
            min_requests=breaker.min_requests,
            window_s=breaker.window_s,
            open_s=breaker.open_s,
            half_open_probes=breaker.half_open_probes,
        ),
        fallbacks={model: route.fallbacks for model, route in config.models.items()},
        retry=RetryPolicy(
            max_attempts=retry.max_attempts,
            base_delay_s=retry.base_delay_s,
            max_delay_s=max(retry.max_delay_s, retry.base_delay_s),
            max_server_delay_s=retry.max_server_delay_s,
        ),
        durable_reservations=config.ledger.durable_reservations,
        clock=clock,
        rng=rng,
        timeouts=config.timeouts,
        **extra,
    )
    app = GatewayApp(
        gateway,
        ClientKeys(config.client_keys(env), config.key_lanes()),
        Readiness(built, writer),
        max_body=config.server.max_body_bytes,
    )
    return Assembly(gateway, app, ledger, writer)


def _quiet(message: str) -> None:
    del message
