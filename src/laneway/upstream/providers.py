"""Upstream providers as configured: where each is, which models it serves, how to call it.

A provider's key is read from its environment variable once, at start-up, into the headers its
attempts send; it is never part of a repr, a log line, an error or a record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from laneway.clock import Clock
from laneway.errors import ConfigError
from laneway.upstream.provider_config import ProviderConfig
from laneway.upstream.retry import RetryBudget
from laneway.upstream.transport import Transport
from laneway.wire.request import Endpoint

_PATHS: dict[Endpoint, str] = {
    "responses": "/responses",
    "chat": "/chat/completions",
    "embeddings": "/embeddings",
}


@dataclass(eq=False)
class Provider:
    name: str
    kind: str
    base_url: str
    models: frozenset[str]  # empty: any model
    tier: str
    transport: Transport = field(repr=False)
    retry_budget: RetryBudget = field(repr=False)
    headers: dict[str, str] = field(repr=False)  # holds the key: never shown
    key_env: str | None = None  # the variable's name, to point people at it in errors

    def serves(self, model: str) -> bool:
        return not self.models or model in self.models

    def url(self, endpoint: Endpoint) -> str:
        return self.base_url + _PATHS[endpoint]


@dataclass(slots=True, eq=False)  # identity: cheap to make per request, a dict key as is
class Candidate:
    """One attempt's target. `effort`: the reasoning effort to send; None leaves the request's."""

    provider: Provider
    model: str
    effort: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model}@{self.provider.name}"


# Given the provider's name and config: its transport (tests pass in-memory ones).
TransportFactory = Callable[[str, ProviderConfig], Transport]


def build_providers(
    configs: Mapping[str, ProviderConfig],
    env: Mapping[str, str],
    transport: TransportFactory,
    clock: Clock,
    *,
    budget_ratio: float,
) -> list[Provider]:
    providers = []
    for name, config in configs.items():
        headers = {"content-type": "application/json"}
        key_env = config.key_env()
        if key_env is not None:
            key = env.get(key_env)
            if not key:
                raise ConfigError(
                    f"provider {name!r} reads its key from ${key_env}, which is not set"
                )
            headers["authorization"] = f"Bearer {key}"
        providers.append(
            Provider(
                name=name,
                kind=config.kind,
                base_url=config.resolved_base_url(env),
                models=frozenset(config.models),
                tier=config.tier,
                transport=transport(name, config),
                retry_budget=RetryBudget(clock, ratio=budget_ratio),
                headers=headers,
                key_env=key_env,
            )
        )
    return providers


def candidates_for(
    providers: Sequence[Provider], model: str, fallbacks: Sequence[str]
) -> list[Candidate]:
    """Every (provider, model) pair to try, in order: the model first, then its fallbacks."""
    return [
        Candidate(provider, name)
        for name in dict.fromkeys((model, *fallbacks))
        for provider in providers
        if provider.serves(name)
    ]
