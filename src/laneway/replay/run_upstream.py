"""What a run's calls go to: the upstream a test or caller gives, else the configured providers
(or OpenAI when $OPENAI_API_KEY is set), else an emulator started for the run in a process of
its own (laneway.replay.emulator_process) and stopped with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType

from laneway.assembly import EMULATOR_KEY_ENV, EMULATOR_PROVIDER, Upstream, effective_providers
from laneway.config import GatewayConfig
from laneway.replay.emulator_process import EmulatorProcess
from laneway.replay.run_dir import RunDir
from laneway.replay.run_settings import RunSettings
from laneway.upstream.provider_config import ProviderConfig

_EMULATOR_KEY = "sk-laneway-replay"
EMULATOR_LOG = "emulator.log"


class RunUpstream:
    """`async with RunUpstream(...) as where:` gives `where.upstream` and `where.env`."""

    def __init__(
        self,
        config: GatewayConfig,
        settings: RunSettings,
        upstream: Upstream | None,
        env: Mapping[str, str] | None,
    ) -> None:
        self._config = config
        self._settings = settings
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        self.upstream = upstream
        self._emulator: EmulatorProcess | None = None

    @staticmethod
    def describe(
        config: GatewayConfig, upstream: Upstream | None, env: Mapping[str, str] | None
    ) -> str:
        """What answers, for the manifest: "emulator", or the providers' names."""
        providers = (
            upstream.providers
            if upstream is not None
            else effective_providers(config, os.environ if env is None else env)
        )
        return ", ".join(sorted(providers)) if providers else EMULATOR_PROVIDER

    @staticmethod
    def configured_tier(
        config: GatewayConfig, upstream: Upstream | None, env: Mapping[str, str] | None
    ) -> str | None:
        """The usage tier the configured providers say they are on, when they all say the same
        (the ceilings' tier when the run names none); None when unsaid or they differ."""
        providers = (
            upstream.providers
            if upstream is not None
            else effective_providers(config, os.environ if env is None else env)
        )
        said = {p.tier for p in (providers or {}).values() if "tier" in p.model_fields_set}
        return said.pop() if len(said) == 1 else None

    def identity(self) -> str:
        """What answers, as the call cache keys it: the run's own emulator by its seed (its port
        changes every run, its answers do not), else each provider's kind and address; never a
        key."""
        if self._emulator is not None:
            return f"emulator-process:seed={self._settings.emulator_seed}"
        providers = {} if self.upstream is None else self.upstream.providers
        return ",".join(
            f"{name}={provider.kind}:{provider.base_url or ''}"
            for name, provider in sorted(providers.items())
        )

    async def __aenter__(self) -> RunUpstream:
        if self.upstream is not None:
            self.upstream = self.upstream.shared()  # its owner stops its emulator, if any
            return self
        providers = effective_providers(self._config, self.env)
        if providers is not None:
            self.upstream = Upstream(providers, self.env)
            return self
        settings = self._settings
        self._emulator = emulator = await EmulatorProcess.start(
            speed=settings.emulator_speed,
            seed=settings.emulator_seed,
            tier=settings.tier,
            catalog=self._config.catalog,
            log=RunDir(settings.run_dir).file(EMULATOR_LOG),
        )
        provider = ProviderConfig.model_validate(
            {
                "kind": "openai-compatible",
                "base_url": emulator.base_url,
                "api_key_env": EMULATOR_KEY_ENV,
                **({"tier": settings.tier, "pace": True} if settings.tier else {}),
            }
        )
        self.env[EMULATOR_KEY_ENV] = _EMULATOR_KEY
        self.upstream = Upstream({EMULATOR_PROVIDER: provider}, self.env)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._emulator is not None:
            await self._emulator.stop()
