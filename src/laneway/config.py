"""The gateway's configuration (`laneway.toml`): typed, validated at load, unknown keys rejected.

Secrets never live here: a provider names the environment variable that holds its key. Client
keys may be listed (`server.api_keys`) or given in `LANEWAY_API_KEYS` (comma-separated); virtual
virtual keys (`laneway keys create`) live in the key store beside the ledger.

    [server]
    host = "127.0.0.1"
    port = 4141
    api_keys = ["sk-team-a"]

    [providers.openai]
    kind = "openai"                  # key from $OPENAI_API_KEY, base URL from $OPENAI_BASE_URL
    tier = "tier-3"

    [providers.local]
    kind = "openai-compatible"
    base_url = "http://127.0.0.1:8000/v1"
    models = ["llama-3.3-70b"]

    [models."gpt-5.4"]
    fallbacks = ["gpt-5.4-mini"]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from laneway.capture.config import CaptureConfig
from laneway.config_file import ENV_NAME, Strict, load_toml
from laneway.errors import ConfigError
from laneway.gateway.passthrough_paths import parse_rule
from laneway.http.limits import ConnectionLimits
from laneway.quota.budget import BudgetLimit, parse_budget
from laneway.routing.lane_config import (
    AutoConfig,
    BreakerConfig,
    LaneConfig,
    Name,
    RoutingConfig,
)
from laneway.routing.output_cap import DEFAULT_ALLOWANCE
from laneway.telemetry.metrics_config import MetricsConfig
from laneway.telemetry.tracing_config import TracingConfig
from laneway.upstream.provider_config import ProviderConfig
from laneway.upstream.timeouts import TimeoutsConfig

ENV_API_KEYS = "LANEWAY_API_KEYS"

__all__ = ["ConfigError", "GatewayConfig", "ProviderConfig"]  # the sections callers name


class ClientKeyConfig(Strict):
    """A client key with a default lane: `model: "auto"` from this key goes to `lane`."""

    key: SecretStr
    lane: str | None = None


def _client_key(value: object) -> object:
    return {"key": value} if isinstance(value, str) else value


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 4141
    workers: Annotated[int, Field(ge=1, le=256)] = 1
    # "sk-..." or { key = "sk-...", lane = "coding" }
    api_keys: tuple[Annotated[ClientKeyConfig, BeforeValidator(_client_key)], ...] = ()
    max_body_bytes: Annotated[int, Field(gt=0)] = 32 * 1024 * 1024
    # Slow and greedy clients (laneway.http.limits): a request's headers must be in within
    # header_timeout_s of its first byte, and all of it within body_timeout_s; a connection
    # idle between requests is closed after idle_timeout_s. Caps are per worker process.
    header_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    body_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    idle_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 75.0
    max_connections: Annotated[int, Field(ge=1, le=1_000_000)] = 4096
    max_connections_per_client: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    # `laneway serve`'s log lines on stderr: "text", or "json" (one object per line, the
    # request lines' fields in docs/tracing.md); --log-format overrides it.
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _deadlines_in_order(self) -> ServerConfig:
        if self.body_timeout_s < self.header_timeout_s:
            raise ValueError("server.body_timeout_s (the whole request) < header_timeout_s")
        if self.max_connections_per_client > self.max_connections:
            raise ValueError("server.max_connections_per_client > max_connections")
        return self

    def connection_limits(self) -> ConnectionLimits:
        return ConnectionLimits(
            header_timeout_s=self.header_timeout_s,
            body_timeout_s=self.body_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            max_connections=self.max_connections,
            max_connections_per_client=self.max_connections_per_client,
        )


class ModelRoute(Strict):
    """Per requested plain model id: where to go when it cannot answer."""

    fallbacks: tuple[str, ...] = ()


class LedgerConfig(Strict):
    """Where requests (and virtual keys) are recorded: SQLite (one host) or PostgreSQL (shared
    by replicas; laneway creates and migrates its schema)."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Path | None = None  # default: $LANEWAY_LEDGER, else ~/.local/share/laneway/ledger.db
    # postgres: the DSN is read from this environment variable (it may hold a password), else
    # `dsn` here.
    dsn_env: Annotated[str, Field(pattern=ENV_NAME)] = "LANEWAY_POSTGRES_DSN"
    dsn: str | None = None

    def resolved_dsn(self, env: Mapping[str, str]) -> str:
        dsn = env.get(self.dsn_env) or self.dsn
        if not dsn:
            raise ConfigError(f"ledger.backend is postgres: set ${self.dsn_env} or ledger.dsn")
        return dsn

    # Off (the default): the request path only enqueues its reservation, which the writer
    # commits with others within 5 ms; a crash in that window loses it. On: each request waits
    # for that commit before calling upstream, so no upstream call can ever lack its record; it
    # costs ~0.1 ms at p50 and up to a quarter of streamed throughput (bench/README.md).
    durable_reservations: bool = False


class StateConfig(Strict):
    """Where admission state lives: rate-limit windows, budget reservations, revocations.
    `memory` is one process; `redis` is shared by every replica."""

    backend: Literal["memory", "redis"] = "memory"
    # redis: the URL is read from this environment variable (it may hold a password), else `url`.
    url_env: Annotated[str, Field(pattern=ENV_NAME)] = "LANEWAY_REDIS_URL"
    url: str = "redis://127.0.0.1:6379/0"
    namespace: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$")] = "laneway"
    # Redis unreachable: "closed" refuses requests that need it (503); "open" admits them
    # unchecked and logs each lapse. Either way every served request is recorded.
    on_unavailable: Literal["closed", "open"] = "closed"
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 0.5
    # redis: how long a replica's reservations outlive its last lease renewal (renewed every
    # third of it); after that another replica settles them from the ledger, or releases them.
    lease_s: Annotated[float, Field(ge=1, le=3600)] = 30.0

    def resolved_url(self, env: Mapping[str, str]) -> str:
        return env.get(self.url_env) or self.url


class BudgetsConfig(Strict):
    """Budgets beyond each key's own: global, and per lane. Written `"50/day"`,
    `"1000/month"`, `"20/lifetime"` (USD, UTC windows)."""

    global_: tuple[BudgetLimit, ...] = Field(default=(), alias="global")
    lanes: dict[Name, tuple[BudgetLimit, ...]] = Field(default_factory=dict)
    # The share of a budget at which a soft warning is logged and shown, once per window.
    soft_threshold: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.8")
    # A request whose worst case cannot be priced (a model without a known price) and that a
    # budget applies to: "refuse" it (the budget could not be held), or "allow" it.
    unknown_price: Literal["refuse", "allow"] = "refuse"
    # A request a budget applies to that sets no output cap gets one: this many tokens at
    # effort none, scaled by effort (laneway.gateway.output_cap); a lane may set its own.
    output_allowance: Annotated[int, Field(ge=16, le=1_000_000)] = DEFAULT_ALLOWANCE

    @field_validator("global_", mode="before")
    @classmethod
    def _parse_global(cls, value: object) -> object:
        return _parsed(value)

    @field_validator("lanes", mode="before")
    @classmethod
    def _parse_lanes(cls, value: object) -> object:
        if isinstance(value, dict):
            return {lane: _parsed(limits) for lane, limits in value.items()}
        return value


def _parsed(value: object) -> object:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, (list, tuple)):
        return tuple(parse_budget(item) if isinstance(item, str) else item for item in items)
    return value


class PacingConfig(Strict):
    """Upstream pacing (for providers that pace, see `ProviderConfig.pace`)."""

    # The longest a request waits, over all its candidates, for an upstream's rate limits to
    # have room; past it the request spills to its next candidate, and with none left gets 429
    # with retry-after. 0: never wait.
    max_wait_s: Annotated[float, Field(ge=0, le=60)] = 1.0


class KeysConfig(Strict):
    """Virtual keys: the admin API (`/admin/`) is on when this variable holds the admin key."""

    admin_key_env: Annotated[str, Field(pattern=ENV_NAME)] = "LANEWAY_ADMIN_KEY"
    # How often a replica re-reads the key store for keys changed elsewhere. Revocations are
    # immediate on every replica when state is in Redis.
    refresh_s: Annotated[float, Field(gt=0, le=3600)] = 5.0


class PassthroughConfig(Strict):
    """Other /v1/* paths forwarded to the default (first) provider as they are, for keys
    granted `passthrough` (docs/gateway.md). Empty: every such path is refused (404)."""

    paths: tuple[str, ...] = ()  # "/v1/files", "/v1/files/*", "GET,DELETE /v1/files/*"
    # Configured (static) client keys, and everyone on an open gateway, may use the paths too.
    static_keys: bool = False

    @field_validator("paths")
    @classmethod
    def _rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_rule(text)  # its ValueError names the rule and what is wrong
        return value


class RetryConfig(Strict):
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3  # per candidate, the first included
    base_delay_s: Annotated[float, Field(ge=0)] = 0.5
    max_delay_s: Annotated[float, Field(ge=0)] = 8.0
    max_server_delay_s: Annotated[float, Field(ge=0)] = 60.0
    budget_ratio: Annotated[float, Field(ge=0, le=10)] = 0.2  # retries per request, over time


class BackgroundConfig(Strict):
    """How the gateway follows `background: true` responses to their end, to settle them."""

    poll_s: Annotated[float, Field(gt=0, le=3600)] = 5.0  # retrieve each pending one this often
    give_up_s: Annotated[float, Field(gt=0)] = 86_400.0  # then leave it to `laneway reconcile`
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4  # retrieves in flight at once


class GatewayConfig(Strict):
    server: ServerConfig = ServerConfig()
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelRoute] = Field(default_factory=dict)
    ledger: LedgerConfig = LedgerConfig()
    retry: RetryConfig = RetryConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    catalog: tuple[Path, ...] = ()  # catalog files merged over the shipped one
    lanes: dict[Name, LaneConfig] = Field(default_factory=dict)
    auto: AutoConfig = AutoConfig()
    breaker: BreakerConfig = BreakerConfig()
    routing: RoutingConfig = RoutingConfig()
    state: StateConfig = StateConfig()
    budgets: BudgetsConfig = BudgetsConfig()
    keys: KeysConfig = KeysConfig()
    pacing: PacingConfig = PacingConfig()
    passthrough: PassthroughConfig = PassthroughConfig()
    background: BackgroundConfig = BackgroundConfig()
    capture: CaptureConfig = CaptureConfig()  # off unless it names lanes (docs/capture.md)
    metrics: MetricsConfig = MetricsConfig()  # Prometheus /metrics (docs/observability.md)
    tracing: TracingConfig | None = None  # absent: off, no OpenTelemetry (docs/tracing.md)

    @classmethod
    def load(cls, path: Path | None) -> GatewayConfig:
        if path is None:
            return cls()
        config = load_toml(cls, path, ConfigError)
        base = path.parent  # relative paths in a config file are relative to that file
        ledger = config.ledger
        if ledger.path is not None and not ledger.path.is_absolute():
            ledger = ledger.model_copy(update={"path": base / ledger.path})
        catalog = tuple(p if p.is_absolute() else base / p for p in config.catalog)
        return config.model_copy(update={"ledger": ledger, "catalog": catalog})

    def client_keys(self, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
        env = os.environ if env is None else env
        listed = [entry.key.get_secret_value() for entry in self.server.api_keys]
        listed += [key.strip() for key in env.get(ENV_API_KEYS, "").split(",") if key.strip()]
        return tuple(dict.fromkeys(listed))

    def key_lanes(self) -> dict[str, str]:
        """Client key -> its default lane, for the keys that name one."""
        return {
            entry.key.get_secret_value(): entry.lane
            for entry in self.server.api_keys
            if entry.lane is not None
        }
