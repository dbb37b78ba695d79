"""A provider as written in config (`[providers.<name>]`): a leaf section, read by
`laneway.upstream.providers` when providers are built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, model_validator

from laneway.config_file import ENV_NAME, Strict
from laneway.pricing.model_spec import Tier, TierLimit

OPENAI_BASE_URL = "https://api.openai.com/v1"


class ProviderConfig(Strict):
    kind: Literal["openai", "openai-compatible"]
    # openai: $OPENAI_BASE_URL, else api.openai.com. openai-compatible: required.
    base_url: str | None = None
    # The environment variable holding the key. openai: OPENAI_API_KEY unless set; for an
    # openai-compatible server without auth (a local vLLM, Ollama), leave it out.
    api_key_env: Annotated[str, Field(pattern=ENV_NAME)] | None = None
    models: tuple[str, ...] = ()  # the models served here; empty: any model
    tier: Tier = "tier-1"
    # Pace requests under this provider's rate limits (`[pacing]`, shared by replicas through
    # `[state]`): the catalog's figures for `tier`, replaced per model by `rate_limits`. Unset:
    # on where the limits are known to be yours, i.e. `tier` is written here (kind "openai") or
    # `rate_limits` is; the default tier-1 guess would throttle a higher tier's traffic.
    pace: bool | None = None
    rate_limits: dict[str, TierLimit] = Field(default_factory=dict)  # model -> {rpm, tpm}
    max_connections: Annotated[int, Field(gt=0)] = 512
    # laneway's own HTTP/1.1 client (the fastest measured), or aiohttp's.
    http_client: Literal["laneway", "aiohttp"] = "laneway"

    @model_validator(mode="after")
    def _base_url_given(self) -> ProviderConfig:
        if self.kind == "openai-compatible" and not self.base_url:
            raise ValueError("an openai-compatible provider needs base_url")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://: {self.base_url!r}")
        return self

    @property
    def paced(self) -> bool:
        if self.pace is not None:
            return self.pace
        written_tier = self.kind == "openai" and "tier" in self.model_fields_set
        return written_tier or bool(self.rate_limits)

    def key_env(self) -> str | None:
        if self.api_key_env is not None:
            return self.api_key_env
        return "OPENAI_API_KEY" if self.kind == "openai" else None

    def resolved_base_url(self, env: Mapping[str, str]) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return (env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL).rstrip("/")
