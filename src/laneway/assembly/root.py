"""The composition root: from a `GatewayConfig` to the parts laneway runs on, in one place.

Every caller that needs a gateway or a store builds it here: the server, every CLI command,
`laneway route --explain`, and library users (`laneway.build_gateway`). This is the only module
that chooses a backend (SQLite or PostgreSQL, memory or Redis), decides the upstream (configured
providers, OpenAI when its key is set, else an emulator started here) and wires the gateway's
collaborators; `laneway.gateway` never imports it.

Parts are built on first use, so a command that reads the ledger opens only the ledger:

    stores    ledger, key_store, revocations          (plain calls: usable from any thread)
    runtime   upstream, providers, lanes, health, router, writer, registry, admission,
              board, gateway                           (built inside the event loop that serves)

`await assembly.close()` closes what was built (`close_stores()` when only stores were).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from laneway.assembly.upstream import (
    EMULATOR_PROVIDER,
    Ledger,
    Upstream,
    default_transport,
    dry_provider,
    effective_providers,
)
from laneway.capture.parts import Capture
from laneway.clock import Clock, SystemClock
from laneway.config import GatewayConfig
from laneway.gateway.admission import Admission, BudgetRule
from laneway.gateway.attempts import Sleep
from laneway.gateway.background import Polling
from laneway.gateway.budget_seed import LedgerTruth, seed_budgets
from laneway.gateway.core import Gateway
from laneway.gateway.learners import RoutingLearner
from laneway.gateway.observers import Observer
from laneway.gateway.pacing import Pacer, pace_limits
from laneway.gateway.request_log import request_log
from laneway.gateway.stored_responses import ResponseHomes
from laneway.keys.postgres_store import PostgresKeyStore
from laneway.keys.registry import KeyRegistry
from laneway.keys.revocations import LocalRevocations, RedisRevocations, Revocations
from laneway.keys.sqlite_store import SQLiteKeyStore
from laneway.keys.store import KeyStore
from laneway.ledger.captures import CaptureStore
from laneway.ledger.captures_open import open_captures
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.sqlite import SQLiteLedger, default_ledger_path
from laneway.ledger.writer import LedgerWriter
from laneway.pricing.catalog import Catalog
from laneway.pricing.names import ModelNames
from laneway.quota.memory import MemoryQuota
from laneway.quota.redis_pipeline import redis_client
from laneway.quota.redis_state import RedisQuota
from laneway.quota.shared_affinity import SharedAffinity
from laneway.quota.state import QuotaState
from laneway.routing.affinity import Affinity
from laneway.routing.lanes import (
    LaneTable,
    Warn,
    build_lanes,
    check_key_lanes,
    check_lane_names,
)
from laneway.routing.observations import HISTORY_S, Observations
from laneway.routing.router import Router
from laneway.telemetry.json_log import MARKS, json_line
from laneway.telemetry.metrics import Metrics
from laneway.telemetry.tracing import TraceIds
from laneway.telemetry.tracing_export import SpanShipper, tracing_observer
from laneway.upstream.breaker import BreakerSettings
from laneway.upstream.breaker_board import BreakerBoard
from laneway.upstream.health import Health
from laneway.upstream.provider_config import ProviderConfig
from laneway.upstream.providers import Provider, TransportFactory, build_providers
from laneway.upstream.retry import RetryPolicy

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


class Assembly:
    """The parts one process runs on, built from config on first use and closed together."""

    def __init__(
        self,
        config: GatewayConfig,
        env: Mapping[str, str] | None = None,
        *,
        upstream: Upstream | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
        warn: Warn | None = None,
        transport: TransportFactory = default_transport,
        observers: Sequence[Observer] = (),
        span_exporter: SpanExporter | None = None,
    ) -> None:
        """`span_exporter`: an OpenTelemetry SDK exporter `[tracing]` sends spans to instead of
        OTLP (a test's in-memory exporter, a library caller's own; needs the `otel` extra)."""
        self.config = config
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.clock = clock or SystemClock()
        self._given_upstream = upstream
        self._rng = rng or random.Random()  # noqa: S311 - jitter, canary arms, shadow samples
        self._sleep = sleep or asyncio.sleep
        self._warn = warn or _quiet
        self._transport = transport
        self._observers = tuple(observers)
        self._span_exporter = span_exporter
        self._built: set[str] = set()
        self._closed = False

    # -- stores: the one place a backend is chosen -------------------------------------------

    @property
    def ledger_path(self) -> Path | None:
        """The SQLite ledger's file; None when the ledger is in PostgreSQL."""
        ledger = self.config.ledger
        if ledger.backend == "postgres":
            return None
        if ledger.path is not None:
            return ledger.path
        if self.env.get("LANEWAY_LEDGER"):
            return Path(self.env["LANEWAY_LEDGER"])
        return default_ledger_path()

    @cached_property
    def ledger(self) -> Ledger:
        self._built.add("ledger")
        return self.open_ledger()

    @cached_property
    def key_store(self) -> KeyStore:
        self._built.add("key_store")
        return self.open_key_store()

    def open_ledger(self, check_only: bool = False) -> Ledger:
        """A ledger of the caller's own to close (`ledger` is the shared one); its schema is
        migrated, or with `check_only` only checked (SchemaPending when behind)."""
        path = self.ledger_path
        if path is None:
            dsn = self.config.ledger.resolved_dsn(self.env)
            return PostgresLedger(dsn, check_only=check_only)
        return SQLiteLedger(path, check_only=check_only)

    def open_key_store(self, check_only: bool = False) -> KeyStore:
        """Beside the ledger: its SQLite file, or its PostgreSQL database (as `open_ledger`)."""
        path = self.ledger_path
        if path is None:
            dsn = self.config.ledger.resolved_dsn(self.env)
            return PostgresKeyStore(dsn, check_only=check_only)
        return SQLiteKeyStore(path, check_only=check_only)

    def open_captures(self) -> CaptureStore:
        """Captured requests, in the ledger's backend; the ledger is opened (migrated) first."""
        self.ledger  # noqa: B018
        path = self.ledger_path
        return open_captures(path, None if path else self.config.ledger.resolved_dsn(self.env))

    @cached_property
    def capture(self) -> Capture | None:
        """Capture's observer and writer when `[capture]` names lanes, else None: no observer."""
        capture, state = self.config.capture, self.config.state
        if not capture.on:
            return None
        self._built.add("capture")
        shared = (state.resolved_url(self.env), state.namespace, state.timeout_s)
        store, rng = self.open_captures(), self._rng
        return Capture.start(capture, store, rng, self.clock, shared if self.shared_state else None)

    @cached_property
    def tracing(self) -> tuple[TraceIds, SpanShipper | None] | None:
        """The tracing observer and its span shipper when `[tracing]` is on, else None (and no
        OpenTelemetry module imported)."""
        tracing = self.config.tracing
        if tracing is None or not tracing.on:
            return None
        self._built.add("tracing")
        return tracing_observer(tracing, self.env, self.clock, self._rng, self._span_exporter)

    @property
    def shared_state(self) -> bool:
        """Admission state, breakers and revocations are in Redis, shared by replicas."""
        return self.config.state.backend == "redis"

    @cached_property
    def revocations(self) -> Revocations:
        """Redis when admission state is there (every replica checks it); else nothing to tell."""
        self._built.add("revocations")
        state = self.config.state
        if not self.shared_state:
            return LocalRevocations()
        return RedisRevocations(
            state.resolved_url(self.env), state.namespace, timeout_s=state.timeout_s
        )

    @cached_property
    def replica_id(self) -> str:
        """This process among the replicas: the owner of its Redis reservations."""
        return f"replica:{secrets.token_hex(8)}"

    def quota_state(self) -> QuotaState:
        state = self.config.state
        if self.shared_state:
            return RedisQuota(
                state.resolved_url(self.env),
                state.namespace,
                timeout_s=state.timeout_s,
                owner=self.replica_id,
                lease_s=state.lease_s,
                clock=self.clock.time,
            )
        return MemoryQuota()

    # -- routing and upstreams ---------------------------------------------------------------

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog.load(*self.config.catalog)

    @cached_property
    def upstream(self) -> Upstream:
        self._built.add("upstream")
        return self._given_upstream or Upstream.resolve(self.config, self.env)

    @cached_property
    def providers(self) -> list[Provider]:
        upstream = self.upstream
        return build_providers(
            upstream.providers,
            upstream.env,
            self._transport,
            self.clock,
            budget_ratio=self.config.retry.budget_ratio,
        )

    @cached_property
    def lanes(self) -> LaneTable:
        return self._lanes(self.providers)

    def _lanes(self, providers: Sequence[Provider]) -> LaneTable:
        config = self.config
        table = build_lanes(
            config.lanes,
            config.auto if "auto" in config.model_fields_set else None,
            providers,
            self.catalog,
            timeouts=config.timeouts,
            shipped_lanes=config.routing.shipped_lanes,
            warn=self._warn,
            unknown_task_lane=config.routing.unknown_task_lane,
        )
        check_key_lanes(table, config.key_lanes())
        if config.capture.on and not config.capture.every_lane:
            check_lane_names(table, config.capture.lanes, "capture.lanes")
        return table

    @cached_property
    def health(self) -> Health:
        breaker = self.config.breaker
        settings = BreakerSettings(
            consecutive_failures=breaker.consecutive_failures,
            failure_rate=breaker.failure_rate,
            min_requests=breaker.min_requests,
            window_s=breaker.window_s,
            open_s=breaker.open_s,
            half_open_probes=breaker.half_open_probes,
        )
        return Health.fresh(self.clock, settings)

    @cached_property
    def affinity(self) -> Affinity:
        return Affinity()

    @cached_property
    def response_homes(self) -> ResponseHomes:
        """Where responses live and whose they are: here, in Redis (shared state), the ledger."""
        state, shared = self.config.state, None
        if self.shared_state:
            self._built.add("response_homes")
            url = state.resolved_url(self.env)
            shared = SharedAffinity(lambda: redis_client(url, state.timeout_s), state.namespace)
        return ResponseHomes(self.affinity, shared, self.ledger.response_home)

    @cached_property
    def observations(self) -> Observations:
        """Lane profiles, seeded from the ledger's last week."""
        since = self.clock.time() - HISTORY_S
        return Observations.from_ledger(self.ledger.lane_profiles(since))

    @cached_property
    def router(self) -> Router:
        return self._router(self.lanes, self.providers, self.health, self.observations, self._rng)

    def _router(
        self,
        lanes: LaneTable,
        providers: Sequence[Provider],
        health: Health,
        observations: Observations,
        rng: random.Random,
    ) -> Router:
        return Router(
            lanes,
            providers,
            self.catalog,
            health=health,
            observations=observations,
            affinity=self.affinity,
            fallbacks={model: route.fallbacks for model, route in self.config.models.items()},
            timeouts=self.config.timeouts,
            rng=rng,
        )

    def model_names(self) -> ModelNames:
        """The model names keys may be given: the catalog's and those providers list."""
        listed = [name for provider in self.config.providers.values() for name in provider.models]
        return ModelNames([*self.catalog.names, *listed])

    def dry_providers(self) -> list[Provider]:
        """The providers `serve` would call, each with a transport that never sends: no key is
        read, nothing leaves the machine. With none configured and no OpenAI key, serve would
        start the emulator: one provider serving every model."""
        configs = effective_providers(self.config, self.env)
        if configs is None:
            emulator = ProviderConfig(kind="openai-compatible", base_url="http://127.0.0.1")
            configs = {EMULATOR_PROVIDER: emulator}
        return [dry_provider(name, c, self.clock) for name, c in configs.items()]

    def dry_lanes(self) -> LaneTable:
        """The lanes `serve` would route by, over `dry_providers` (`laneway lanes`)."""
        return self._lanes(self.dry_providers())

    def dry_router(self) -> Router:
        """The router `serve` would run, over `dry_providers` (`laneway route --explain`); lane
        profiles from the ledger when it exists."""
        providers = self.dry_providers()
        observations = self.observations if self._ledger_exists() else Observations()
        draw = random.Random(0)  # noqa: S311 - a split lane's arm, for an explanation
        return self._router(
            self._lanes(providers), providers, Health.fresh(self.clock), observations, draw
        )

    def _ledger_exists(self) -> bool:
        path = self.ledger_path
        return path is None or path.exists()

    # -- the gateway and what it runs on -----------------------------------------------------

    @cached_property
    def writer(self) -> LedgerWriter:
        self._built.add("writer")
        return LedgerWriter(self.ledger)

    @cached_property
    def registry(self) -> KeyRegistry:
        self._built.add("registry")
        return KeyRegistry(self.key_store, self.clock, refresh_s=self.config.keys.refresh_s)

    @cached_property
    def admission(self) -> Admission:
        budgets, state = self.config.budgets, self.config.state
        return Admission(
            self.quota_state(),
            self.catalog,
            self.clock,
            budgets=BudgetRule(
                global_=budgets.global_,
                lanes=budgets.lanes,
                soft_threshold=budgets.soft_threshold,
                refuse_unknown_price=budgets.unknown_price == "refuse",
                output_allowance=budgets.output_allowance,
            ),
            shared=self.shared_state,
            fail_open=state.on_unavailable == "open",
        )

    @cached_property
    def pacer(self) -> Pacer | None:
        providers = self.upstream.providers
        if not any(provider.paced for provider in providers.values()):
            return None
        return Pacer(
            self.admission.state,
            pace_limits(providers, self.catalog),
            self.clock,
            self._sleep,
            max_wait_s=self.config.pacing.max_wait_s,
            fail_open=self.config.state.on_unavailable == "open",
        )

    @cached_property
    def board(self) -> BreakerBoard | None:
        """Breaker opens and closes shared through Redis, when state is there."""
        if not self.shared_state:
            return None
        self._built.add("board")
        state = self.config.state
        return BreakerBoard(
            lambda: redis_client(state.resolved_url(self.env), state.timeout_s),
            state.namespace,
            self.health.breakers,
            self.clock,
            sync_s=self.config.breaker.sync_s,
            timeout_s=state.timeout_s,
        )

    @cached_property
    def metrics(self) -> Metrics | None:
        """The Prometheus metrics' observer and exposition when `[metrics] enabled`, else None:
        no observer."""
        config = self.config.metrics
        if not config.enabled:
            return None
        listed = [name for provider in self.config.providers.values() for name in provider.models]
        catalog = [name for spec in self.catalog for name in spec.names]
        return Metrics.build(
            config,
            known_models=[*catalog, *listed, *self.lanes.names, "auto"],
            admission=self.admission,
            health=self.health,
            backlog=lambda: self.writer.backlog,
            count_unsettled=self.ledger.count_unsettled,
            key_of=self.registry.by_id,
            clock=self.clock,
        )

    @cached_property
    def gateway(self) -> Gateway:
        """The gateway, with the observers given and those routing learns from."""
        retry, background = self.config.retry, self.config.background
        capturing = () if self.capture is None else (self.capture.observer,)
        counting = () if self.metrics is None else (self.metrics.observer,)
        tracing = () if self.tracing is None else (self.tracing[0],)
        lines = self.config.server.log_format == "json"
        gateway = Gateway(
            self.router,
            self.health,
            self.providers,
            self.catalog,
            self.writer,
            self.admission,
            clock=self.clock,
            rng=self._rng,
            sleep=self._sleep,
            retry=RetryPolicy(
                max_attempts=retry.max_attempts,
                base_delay_s=retry.base_delay_s,
                max_delay_s=max(retry.max_delay_s, retry.base_delay_s),
                max_server_delay_s=retry.max_server_delay_s,
            ),
            pacer=self.pacer,
            # Tracing first: the trace id it annotates is in the request log's line.
            observers=(
                *tracing,
                *self._observers,
                *capturing,
                *counting,
                *(request_log(json_line, MARKS) if lines else request_log()),
            ),
            durable_reservations=self.config.ledger.durable_reservations,
            learn=RoutingLearner(self.observations, self.response_homes).learn,
            lifecycle=_Lifecycle(self),
            homes=self.response_homes,
            polling=Polling(self.config.timeouts.for_effort(None), **background.model_dump()),
        )
        self._built.add("gateway")
        self.board  # noqa: B018 - built with the gateway: it follows the breakers from the start
        return gateway

    # -- start and stop ----------------------------------------------------------------------

    async def start(self) -> None:
        """Before serving: budget counters seeded from the ledger, the key registry refreshing,
        the other replicas' breaker states read."""
        state = self.admission.state
        if isinstance(state, RedisQuota):  # seeds if Redis has no epoch, renews its lease
            truth = LedgerTruth(self.admission, self.ledger, self.writer, self.key_store.all)
            await state.start(truth)
        else:
            keys = await asyncio.to_thread(self.key_store.all)
            await seed_budgets(self.admission, self.ledger, keys, self.clock.time())
        self.registry.start()
        if self.board is not None:
            await self.board.start()

    async def close(self) -> None:
        """Close everything built: the gateway first (it settles what is in flight)."""
        if "gateway" in self._built:
            await self.gateway.close()  # calls back `_close_parts`
        else:
            await self._close_parts()

    async def _close_parts(self) -> None:
        if self._closed:
            return
        self._closed = True
        built = self._built
        if "board" in built and self.board is not None:
            await self.board.close()
        if "registry" in built:
            await self.registry.close()
        shared_homes = self.response_homes.shared if "response_homes" in built else None
        if shared_homes is not None:
            await shared_homes.close()
        if "writer" in built:
            self.writer.close()
        if "capture" in built and self.capture is not None:
            self.capture.close()
        if "tracing" in built and self.tracing is not None and self.tracing[1] is not None:
            self.tracing[1].close()
        self.close_stores()
        if "upstream" in built:
            self.upstream.close()

    def close_stores(self) -> None:
        """Close the stores opened (the ledger, the key store, the revocation channel)."""
        built = self._built
        for name in ("ledger", "key_store", "revocations"):
            if name in built:
                getattr(self, name).close()
                built.discard(name)

    def __enter__(self) -> Assembly:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close_stores()


class _Lifecycle:
    """What the gateway starts and closes of the assembly that built it."""

    def __init__(self, assembly: Assembly) -> None:
        self._assembly = assembly

    async def start(self) -> None:
        await self._assembly.start()

    async def close(self) -> None:
        await self._assembly._close_parts()


def build_gateway(
    config: GatewayConfig | None = None,
    env: Mapping[str, str] | None = None,
    *,
    observers: Sequence[Observer] = (),
    clock: Clock | None = None,
    rng: random.Random | None = None,
    sleep: Sleep | None = None,
    transport: TransportFactory = default_transport,
) -> Gateway:
    """A gateway from config, for use in-process: `async with build_gateway(config) as gw:`
    (inside the event loop that will use it). Closing it closes everything it was built on."""
    assembly = Assembly(
        config or GatewayConfig(),
        env,
        clock=clock,
        rng=rng,
        sleep=sleep,
        transport=transport,
        observers=observers,
    )
    return assembly.gateway


def _quiet(message: str) -> None:
    del message
