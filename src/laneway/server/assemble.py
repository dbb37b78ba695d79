"""Building a running gateway from its config: ledger, keys, admission state, providers, gateway,
HTTP app."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from laneway.clock import Clock, SystemClock
from laneway.config import GatewayConfig, ProviderConfig
from laneway.gateway.admission import Admission, BudgetRule
from laneway.gateway.attempts import Sleep
from laneway.gateway.budget_seed import seed_budgets
from laneway.gateway.core import Gateway
from laneway.gateway.pacing import LimitsOf, PaceLimits, Pacer
from laneway.keys.open import open_key_store, open_revocations
from laneway.keys.registry import KeyRegistry
from laneway.keys.revocations import LocalRevocations, Revocations
from laneway.keys.service import KeyService
from laneway.keys.store import KeyStore
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.sqlite import SQLiteLedger, default_ledger_path
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.quota.admission import QuotaState
from laneway.quota.memory import MemoryQuota
from laneway.quota.redis_pipeline import redis_client
from laneway.quota.redis_state import RedisQuota
from laneway.routing.breaker import BreakerSettings
from laneway.routing.breaker_board import BreakerBoard
from laneway.routing.lanes import Warn, build_lanes, check_key_lanes
from laneway.routing.observations import HISTORY_S, Observations
from laneway.server.admin import AdminApi
from laneway.server.app import GatewayApp
from laneway.server.auth import Authenticator, ClientKeys
from laneway.server.readiness import Readiness
from laneway.upstream.http1 import Http1Transport
from laneway.upstream.providers import build_providers
from laneway.upstream.retry import RetryPolicy
from laneway.upstream.transport import Transport

log = logging.getLogger("laneway.server")


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


Ledger = SQLiteLedger | PostgresLedger


def open_ledger(config: GatewayConfig, env: Mapping[str, str]) -> Ledger:
    if config.ledger.backend == "postgres":
        return PostgresLedger(config.ledger.resolved_dsn(env))
    return SQLiteLedger(ledger_path(config, env))


def open_quota(config: GatewayConfig, env: Mapping[str, str]) -> QuotaState:
    state = config.state
    if state.backend == "redis":
        return RedisQuota(state.resolved_url(env), state.namespace, timeout_s=state.timeout_s)
    return MemoryQuota()


@dataclass
class Assembly:
    gateway: Gateway
    app: GatewayApp
    ledger: Ledger
    writer: LedgerWriter
    keys: KeyStore
    registry: KeyRegistry
    revocations: Revocations
    admission: Admission
    clock: Clock
    board: BreakerBoard | None = None  # breakers shared through Redis

    async def prepare(self) -> None:
        """Before serving: budget counters seeded from the ledger (see budget_seed), and the
        other replicas' breaker states read."""
        keys = await asyncio.to_thread(self.keys.all)
        await seed_budgets(self.admission, self.ledger, keys, self.clock.time())
        if self.board is not None:
            await self.board.start()

    async def close(self) -> None:
        if self.board is not None:
            await self.board.close()
        await self.registry.close()
        await self.gateway.close()  # settles what is in flight, then closes the quota state
        self.writer.close()
        self.ledger.close()
        self.keys.close()
        self.revocations.close()


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
    ledger = open_ledger(config, env)
    writer = LedgerWriter(ledger)
    keys = open_key_store(config, env)
    registry = KeyRegistry(keys, clock, refresh_s=config.keys.refresh_s)
    registry.start()
    shared = config.state.backend == "redis"
    revocations: Revocations = open_revocations(config, env) if shared else LocalRevocations()
    budgets = config.budgets
    admission = Admission(
        open_quota(config, env),
        catalog,
        clock,
        budgets=BudgetRule(
            global_=budgets.global_,
            lanes=budgets.lanes,
            soft_threshold=budgets.soft_threshold,
            refuse_unknown_price=budgets.unknown_price == "refuse",
        ),
        shared=shared,
        fail_open=config.state.on_unavailable == "open",
    )
    pacer = None
    if any(provider.paced for provider in providers.values()):
        pacer = Pacer(
            admission.state,
            pace_limits(providers, catalog),
            clock,
            sleep or asyncio.sleep,
            max_wait_s=config.pacing.max_wait_s,
            fail_open=config.state.on_unavailable == "open",
        )
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
        admission=admission,
        pacer=pacer,
        **extra,
    )
    board = None
    if shared:
        board = BreakerBoard(
            lambda: redis_client(config.state.resolved_url(env), config.state.timeout_s),
            config.state.namespace,
            gateway.router.breakers,
            clock,
            sync_s=breaker.sync_s,
            timeout_s=config.state.timeout_s,
        )
    admin_key = env.get(config.keys.admin_key_env) or None
    app = GatewayApp(
        gateway,
        Authenticator(ClientKeys(config.client_keys(env), config.key_lanes()), registry, clock),
        Readiness(
            built,
            writer,
            state=admission.state if shared else None,
            state_required=config.state.on_unavailable == "closed",
        ),
        max_body=config.server.max_body_bytes,
        admin=AdminApi(
            admin_key,
            KeyService(keys, revocations, clock, lanes=tuple(lanes.lanes)),
            registry,
            admission,
            clock,
        ),
    )
    return Assembly(
        gateway, app, ledger, writer, keys, registry, revocations, admission, clock, board
    )


def pace_limits(providers: Mapping[str, ProviderConfig], catalog: Catalog) -> LimitsOf:
    """The limits each (provider, model) is paced under, from the providers' config."""

    def limits_of(provider: str, model: str) -> PaceLimits | None:
        config = providers.get(provider)
        if config is None or not config.paced:
            return None
        spec = catalog.find(model)
        name = spec.id if spec is not None else model
        given = config.rate_limits.get(model) or config.rate_limits.get(name)
        if given is not None:
            return PaceLimits(given.rpm, given.tpm, name)
        published = spec.tier_limit(config.tier) if spec is not None else None
        if published is None:
            log.warning(
                "provider %r is paced, but %s has no known %s limits: not paced (give them in "
                "the provider's rate_limits)",
                provider,
                model,
                config.tier,
            )
            return None
        return PaceLimits(published.rpm, published.tpm, name)

    return limits_of


def _quiet(message: str) -> None:
    del message
