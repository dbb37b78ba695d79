"""The gateway's HTTP routes: authenticate, hand the body to `Gateway`, render the answer."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import orjson

from laneway.gateway.core import Gateway
from laneway.http.listener import Listener
from laneway.http.messages import Request, Response, StreamResponse
from laneway.http.protocol import HttpProtocol
from laneway.ids import new_id
from laneway.routing.listing import lanes_listing
from laneway.server.auth import ClientKeys
from laneway.server.readiness import Readiness
from laneway.wire.errors import ApiError, model_not_found
from laneway.wire.request import Endpoint

_ENDPOINTS: dict[str, Endpoint] = {
    "/v1/responses": "responses",
    "/v1/chat/completions": "chat",
}
_MODELS = "/v1/models"
_CREATED = 1_765_411_200  # the catalog has no creation dates; one fixed, plausible time

Answer = Response | Coroutine[Any, Any, Response | StreamResponse]


class GatewayApp:
    def __init__(
        self, gateway: Gateway, keys: ClientKeys, readiness: Readiness, *, max_body: int
    ) -> None:
        self._gateway = gateway
        self._keys = keys
        self._readiness = readiness
        self._max_body = max_body
        models = self._model_list()
        self._models = orjson.dumps({"object": "list", "data": models})
        self._model_by_id = {entry["id"]: orjson.dumps(entry) for entry in models}

    def listener(self) -> Listener:
        return Listener(
            lambda on_close: HttpProtocol(
                self.handle, render_error, max_body=self._max_body, on_close=on_close
            )
        )

    def handle(self, request: Request) -> Answer:
        path = request.path
        method = request.method
        if method == b"POST":
            endpoint = _ENDPOINTS.get(path)
            if endpoint is not None:
                keys = self._keys
                key_id = keys.identify(request.headers.get(b"authorization"))
                return self._gateway.handle(
                    endpoint,
                    request.body,
                    key_id=key_id,
                    key_lane=keys.lane_of(key_id),
                    headers=request.headers,
                )
        elif method == b"GET":
            if path == "/healthz":
                return Response(200, b'{"status":"ok"}')
            if path == "/readyz":
                return self._ready()
            if path == "/laneway/lanes":
                self._keys.identify(request.headers.get(b"authorization"))
                listing = lanes_listing(self._gateway.router)
                return Response(200, orjson.dumps({"object": "list", "data": listing}))
            if path == _MODELS or path.startswith(_MODELS + "/"):
                self._keys.identify(request.headers.get(b"authorization"))
                return (
                    self._model(path[len(_MODELS) + 1 :])
                    if path != _MODELS
                    else Response(200, self._models)
                )
        raise ApiError(404, f"Invalid URL ({method.decode('latin-1')} {path})")

    async def _ready(self) -> Response:
        ready, checks = await self._readiness.check()
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return Response(200 if ready else 503, orjson.dumps(body))

    def _model_list(self) -> list[dict[str, Any]]:
        catalog = self._gateway.catalog
        names: dict[str, str] = {}
        for provider in self._gateway.providers:
            served = provider.models or [n for spec in catalog for n in spec.names]
            for name in served:
                names.setdefault(name, provider.name)
        return [
            {"id": name, "object": "model", "created": _CREATED, "owned_by": owner}
            for name, owner in names.items()
        ]

    def _model(self, name: str) -> Response:
        body = self._model_by_id.get(name)
        if body is None:
            raise model_not_found(name)
        return Response(200, body)


def render_error(error: ApiError) -> Response:
    headers = dict(error.headers)
    headers.setdefault("x-laneway-request-id", new_id("req"))
    return Response(error.status, error.body(), list(headers.items()))
