"""`GET /metrics`: the Prometheus text format (laneway.telemetry.metrics), for a bearer that is
the admin key or the metrics token (`[metrics] token_env`), or for anyone with `[metrics]
open = true`. Bearers are compared as SHA-256 digests in constant time, against every accepted
one. Errors are OpenAI-shaped: no bearer or a wrong one 401; no bearer configured at all 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from laneway.config import GatewayConfig
from laneway.http.messages import Request, Response
from laneway.telemetry.metrics import CONTENT_TYPE, Metrics
from laneway.telemetry.metrics_config import DEFAULT_TOKEN_ENV
from laneway.wire.errors import ApiError, incorrect_api_key, missing_api_key

PATH = "/metrics"
_CONTENT_TYPE = f"content-type: {CONTENT_TYPE}\r\n".encode("latin-1")


class MetricsRoute:
    def __init__(
        self,
        metrics: Metrics,
        bearers: tuple[str, ...],
        *,
        open: bool,
        token_env: str = DEFAULT_TOKEN_ENV,
    ) -> None:
        self._metrics = metrics
        self._token_env = token_env
        self._digests = tuple(hashlib.sha256(bearer.encode()).digest() for bearer in bearers)
        self._open = open

    @classmethod
    def of(cls, metrics: Metrics, config: GatewayConfig, env: Mapping[str, str]) -> MetricsRoute:
        admin = env.get(config.keys.admin_key_env) or None
        bearers = tuple(b for b in (admin, config.metrics.token(env)) if b is not None)
        return cls(metrics, bearers, open=config.metrics.open, token_env=config.metrics.token_env)

    async def handle(self, request: Request) -> Response:
        self._authorize(request.headers.get(b"authorization"))
        body = await self._metrics.exposition()
        return Response(200, body, content_type=_CONTENT_TYPE)

    def _authorize(self, authorization: bytes | None) -> None:
        if self._open:
            return
        if not self._digests:
            raise ApiError(
                403,
                f"/metrics needs a bearer and none is set: put a token in ${self._token_env} "
                "([metrics] token_env), start laneway with the admin key, or set [metrics] "
                "open = true.",
                code="metrics_closed",
            )
        if authorization is None or authorization[:7].lower() != b"bearer ":
            raise missing_api_key()
        presented = hashlib.sha256(authorization[7:].strip()).digest()
        found = False
        for digest in self._digests:  # no early exit: the same work whichever matches
            found |= hmac.compare_digest(presented, digest)
        if not found:
            raise incorrect_api_key(". /metrics needs the metrics token or the admin key.")
