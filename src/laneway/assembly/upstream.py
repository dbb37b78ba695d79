"""The upstream the composition root wires in: the configured providers, OpenAI when its key
is set, else an emulator started here; and the transport each provider calls through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from laneway.clock import Clock
from laneway.config import GatewayConfig
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer
from laneway.ledger.postgres import PostgresLedger
from laneway.ledger.sqlite import SQLiteLedger
from laneway.upstream.http1 import Http1Transport
from laneway.upstream.provider_config import ProviderConfig
from laneway.upstream.providers import Provider
from laneway.upstream.retry import RetryBudget
from laneway.upstream.transport import NoTransport, Transport

EMULATOR_PROVIDER = "emulator"
EMULATOR_KEY_ENV = "LANEWAY_EMULATOR_KEY"
_EMULATOR_KEY = "sk-laneway-embedded"

Ledger = SQLiteLedger | PostgresLedger


def default_transport(name: str, provider: ProviderConfig) -> Transport:
    """laneway's own HTTP/1.1 client, or aiohttp's when the provider asks for it."""
    del name
    if provider.http_client == "aiohttp":
        # Imported only when asked for: it costs start-up time and memory.
        from laneway.upstream.aiohttp_transport import AiohttpTransport  # noqa: PLC0415

        return AiohttpTransport(max_connections=provider.max_connections)
    return Http1Transport(max_connections=provider.max_connections)


def effective_providers(
    config: GatewayConfig, env: Mapping[str, str]
) -> dict[str, ProviderConfig] | None:
    """The providers to use: those configured, else OpenAI when $OPENAI_API_KEY is set, else
    None (an emulator answers instead)."""
    if config.providers:
        return dict(config.providers)
    if env.get("OPENAI_API_KEY"):
        return {"openai": ProviderConfig(kind="openai")}
    return None


@dataclass(frozen=True)
class Upstream:
    """The providers to call and the environment their keys are read from; `emulator` is the
    one started for them when nothing else was configured (stopped by `close`)."""

    providers: Mapping[str, ProviderConfig]
    env: Mapping[str, str]
    emulator: EmulatorServer | None = None

    @classmethod
    def resolve(cls, config: GatewayConfig, env: Mapping[str, str]) -> Upstream:
        providers = effective_providers(config, env)
        if providers is not None:
            return cls(providers, dict(env))
        emulator = EmulatorServer(EmulatorConfig()).start()
        provider = ProviderConfig(
            kind="openai-compatible", base_url=emulator.base_url, api_key_env=EMULATOR_KEY_ENV
        )
        return cls(
            {EMULATOR_PROVIDER: provider}, {**env, EMULATOR_KEY_ENV: _EMULATOR_KEY}, emulator
        )

    def shared(self) -> Upstream:
        """The same upstream for another process or assembly, which must not stop the emulator
        (its owner does)."""
        return Upstream(dict(self.providers), dict(self.env))

    def close(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()


def dry_provider(name: str, config: ProviderConfig, clock: Clock) -> Provider:
    return Provider(
        name=name,
        kind=config.kind,
        base_url=config.base_url or "",
        models=frozenset(config.models),
        tier="tier-1",
        transport=NoTransport(),
        retry_budget=RetryBudget(clock),
        headers={},
    )
