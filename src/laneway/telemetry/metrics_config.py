"""The `[metrics]` section: Prometheus metrics at `/metrics` (docs/observability.md).

    [metrics]
    enabled = true                    # count requests and serve /metrics (off by default)
    token_env = "LANEWAY_METRICS_TOKEN"   # a bearer for scrapers; the admin key always works
    open = false                      # true: /metrics needs no bearer at all
    top_keys = 20                     # keys with a label of their own; the rest are "other"

The token is read from the environment variable named here, never from this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from laneway.config_file import ENV_NAME, Strict

DEFAULT_TOKEN_ENV = "LANEWAY_METRICS_TOKEN"  # noqa: S105 - a variable's name, not a token


class MetricsConfig(Strict):
    enabled: bool = False
    token_env: Annotated[str, Field(pattern=ENV_NAME)] = DEFAULT_TOKEN_ENV
    open: bool = False
    top_keys: Annotated[int, Field(ge=0, le=1000)] = 20

    def token(self, env: Mapping[str, str]) -> str | None:
        """The scrapers' bearer, when its variable holds one."""
        return env.get(self.token_env) or None
