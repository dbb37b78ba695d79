"""The gateway's HTTP routes: authenticate, hand the body to `Gateway`, render its answer.

A request refused at authentication is on record as the issue of 17 asks: an identified key
that is revoked or expired gets a "refused" record under its id (`Gateway.refuse`); one with no
key or a key that matches nothing is only counted, per minute, reason and client address
(laneway.ledger.unauthenticated). The client address is the connection's peer: laneway has no
setting to trust X-Forwarded-For, so a proxy in front is counted as the one client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

import orjson

from laneway.assembly import Assembly
from laneway.gateway.answer import Answer
from laneway.gateway.core import Gateway
from laneway.gateway.passthrough import Forwarded, Passthrough
from laneway.gateway.passthrough_paths import PathRules, parse_rule
from laneway.gateway.stored_responses import CALLS as STORED_RESPONSE_CALLS
from laneway.gateway.stored_responses import PREFIX as STORED_RESPONSE
from laneway.gateway.stored_responses import ResponseCalls
from laneway.http.limits import ConnectionLimits
from laneway.http.listener import Listener
from laneway.http.messages import Request, Response, StreamResponse
from laneway.http.protocol import HttpProtocol
from laneway.keys.service import KeyService
from laneway.ledger.unauthenticated import Reason, UnauthenticatedTally
from laneway.routing.lanes import LaneTable
from laneway.routing.listing import lanes_listing
from laneway.server.admin import PREFIX as ADMIN_PREFIX
from laneway.server.admin import AdminApi
from laneway.server.auth import Authenticator, ClientKeys, InactiveKey
from laneway.server.metrics_route import PATH as METRICS
from laneway.server.metrics_route import MetricsRoute
from laneway.server.readiness import Readiness
from laneway.server.render import render_error, to_http
from laneway.upstream.health import Health
from laneway.wire.errors import ApiError, missing_api_key, model_not_found
from laneway.wire.request import Endpoint

_ENDPOINTS: dict[str, Endpoint] = {
    "/v1/responses": "responses",
    "/v1/chat/completions": "chat",
    "/v1/embeddings": "embeddings",
}
_MODELS = "/v1/models"
_CREATED = 1_765_411_200  # the catalog has no creation dates; one fixed, plausible time

# What a route gives back: the answer at once, or a coroutine that makes it (an Answer is made
# HTTP by the protocol's `finish`).
Reply = Response | Coroutine[Any, Any, Answer | Response | StreamResponse]


class GatewayApp:
    def __init__(
        self,
        gateway: Gateway,
        auth: Authenticator,
        readiness: Readiness,
        *,
        max_body: int,
        lanes: LaneTable,
        health: Health,
        admin: AdminApi | None = None,
        tally: UnauthenticatedTally | None = None,
        limits: ConnectionLimits | None = None,
        passthrough: Passthrough | None = None,
        metrics: MetricsRoute | None = None,
    ) -> None:
        """`tally`: where requests without a valid key are counted (None: nowhere); `limits`:
        its connections' deadlines and caps (None: the defaults); `passthrough`: the other
        /v1/* paths it forwards (None: none); `metrics`: /metrics (None: not served)."""
        self._gateway = gateway
        self._tally = tally
        self._auth = auth
        self._admin = admin
        self._readiness = readiness
        self._max_body = max_body
        self._limits = limits
        self._lanes_table = lanes
        self._health = health
        self._passthrough = passthrough
        self._metrics = metrics
        models = self._model_list()
        self._models = orjson.dumps({"object": "list", "data": models})
        self._model_by_id = {entry["id"]: orjson.dumps(entry) for entry in models}

    @classmethod
    def of(cls, assembly: Assembly) -> GatewayApp:
        """The HTTP app over an assembly's gateway, keys and admission (made on the event loop
        that serves it: unauthenticated counts are flushed on its timer)."""
        config, env, clock = assembly.config, assembly.env, assembly.clock
        loop = asyncio.get_running_loop()
        shared = assembly.shared_state
        admission = assembly.admission
        return cls(
            assembly.gateway,
            Authenticator(
                ClientKeys(config.client_keys(env), config.key_lanes()), assembly.registry, clock
            ),
            Readiness(
                assembly.providers,
                assembly.writer,
                state=admission.state if shared else None,
                state_required=config.state.on_unavailable == "closed",
            ),
            max_body=config.server.max_body_bytes,
            lanes=assembly.lanes,
            health=assembly.health,
            admin=AdminApi(
                env.get(config.keys.admin_key_env) or None,
                KeyService(
                    assembly.key_store,
                    assembly.revocations,
                    clock,
                    lanes=tuple(assembly.lanes.lanes),
                    models=assembly.model_names(),
                ),
                assembly.registry,
                admission,
                clock,
            ),
            tally=UnauthenticatedTally(assembly.writer, clock, loop.call_later),
            limits=config.server.connection_limits(),
            passthrough=_passthrough(assembly),
            metrics=_metrics(assembly),
        )

    def close(self) -> None:
        """Before the ledger writer closes: hand it the counts not yet flushed."""
        if self._tally is not None:
            self._tally.flush()

    def listener(self) -> Listener:
        return Listener(
            lambda connections: HttpProtocol(
                self.handle,
                render_error,
                max_body=self._max_body,
                connections=connections,
                finish=to_http,
            ),
            self._limits,
        )

    def handle(self, request: Request) -> Reply:
        path = request.path
        method = request.method
        if path.startswith(STORED_RESPONSE):
            stored = self._stored_response(request)
            if stored is not None:
                return stored
        if method == b"POST":
            endpoint = _ENDPOINTS.get(path)
            if endpoint is not None:
                try:
                    client = self._auth.identify(request.headers.get(b"authorization"))
                except ApiError as error:
                    self._refused(error, request, endpoint)
                    raise
                if client is None:  # a virtual key to read from the store first
                    return self._looked_up(endpoint, request)
                # The protocol makes HTTP of the Answer (`finish`): no coroutine of our own.
                return self._gateway.handle(
                    endpoint, request.body, client=client, headers=request.headers
                )
        elif method == b"GET":
            answer = self._get(request)
            if answer is not None:
                return answer
        if path.startswith(ADMIN_PREFIX) and self._admin is not None:
            return self._admin.handle(request)
        passthrough = self._passthrough
        if passthrough is not None and passthrough.allows(method.decode("latin-1"), path):
            return self._forward(passthrough, request)
        raise ApiError(404, f"Invalid URL ({method.decode('latin-1')} {path})")

    async def _forward(self, passthrough: Passthrough, request: Request) -> StreamResponse:
        """An allowed passthrough path: the caller identified as for any API call, then
        forwarded (laneway.gateway.passthrough), the answer relayed as it streams."""
        authorization = request.headers.get(b"authorization")
        try:
            client = self._auth.identify(authorization)
            if client is None and authorization is not None:
                client = await self._auth.lookup(authorization)
        except ApiError as error:
            self._refused(error, request, None)
            raise
        if client is None:
            raise missing_api_key()
        forwarded = await passthrough.forward(
            client,
            request.method.decode("latin-1"),
            request.path,
            request.query,
            request.headers,
            request.body,
        )
        return _relayed(forwarded)

    def _get(self, request: Request) -> Reply | None:
        path = request.path
        if path == "/healthz":
            return Response(200, b'{"status":"ok"}')
        if path == "/readyz":
            return self._ready()
        if path == METRICS and self._metrics is not None:
            return self._metrics.handle(request)
        if path == "/laneway/lanes":
            return self._authenticated(request, self._lanes)
        if path == _MODELS or path.startswith(_MODELS + "/"):
            name = path[len(_MODELS) + 1 :]
            return self._authenticated(
                request, lambda: self._model(name) if name else Response(200, self._models)
            )
        return None

    async def _looked_up(self, endpoint: Endpoint, request: Request) -> Answer:
        authorization = request.headers[b"authorization"]
        try:
            client = await self._auth.lookup(authorization)
        except ApiError as error:
            self._refused(error, request, endpoint)
            raise
        return await self._gateway.handle(
            endpoint, request.body, client=client, headers=request.headers
        )

    def _stored_response(self, request: Request) -> Reply | None:
        """`/v1/responses/{id}` and its `input_items` and `cancel`: None for any other call."""
        calls = self._gateway.response_calls
        response_id, _, action = request.path[len(STORED_RESPONSE) :].partition("/")
        if (
            calls is None
            or not response_id
            or (request.method, action) not in (STORED_RESPONSE_CALLS)
        ):
            return None
        return self._call_stored(calls, request, unquote(response_id), action)

    async def _call_stored(
        self, calls: ResponseCalls, request: Request, response_id: str, action: str
    ) -> Response:
        """Authenticated as an API call is (a refusal counted as a listing's is)."""
        authorization = request.headers.get(b"authorization")
        try:
            client = self._auth.identify(authorization)
            if client is None:
                if authorization is None:
                    raise missing_api_key()
                client = await self._auth.lookup(authorization)
        except ApiError as error:
            self._refused(error, request, None)
            raise
        return await calls.call(client, request.method, response_id, action, request.query)

    def _authenticated(self, request: Request, answer: Callable[[], Response]) -> Reply:
        authorization = request.headers.get(b"authorization")
        try:
            if self._auth.identify(authorization) is not None:
                return answer()
        except ApiError as error:
            self._refused(error, request, None)
            raise
        if authorization is None:  # identify answers None only for a key it must look up
            raise missing_api_key()
        return self._after_lookup(request, authorization, answer)

    async def _after_lookup(
        self, request: Request, authorization: bytes, answer: Callable[[], Response]
    ) -> Response:
        try:
            await self._auth.lookup(authorization)
        except ApiError as error:
            self._refused(error, request, None)
            raise
        return answer()

    def _refused(self, error: ApiError, request: Request, endpoint: Endpoint | None) -> None:
        """A 401 at authentication, on record: an identified key's API call as a record, any
        other as a count (a listing's, too: it is no API call, so it has no record)."""
        if isinstance(error, InactiveKey) and endpoint is not None:
            self._gateway.refuse(endpoint, request.body, error.client, error, request.headers)
            return
        tally = self._tally
        if tally is not None:
            reason: Reason = "missing_key" if error.code is None else "invalid_key"
            tally.count(reason, request.peer)

    def _lanes(self) -> Response:
        listing = lanes_listing(self._lanes_table, self._health)
        return Response(200, orjson.dumps({"object": "list", "data": listing}))

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
            raise model_not_found(name, self._gateway.router.names.hint(name))
        return Response(200, body)


def _passthrough(assembly: Assembly) -> Passthrough | None:
    """The passthrough paths `[passthrough]` opens, forwarded to the default (first) provider;
    None when it opens none."""
    config = assembly.config.passthrough
    if not config.paths:
        return None
    providers = assembly.providers
    return Passthrough(
        PathRules(parse_rule(text) for text in config.paths),
        providers[0] if providers else None,
        assembly.writer,
        assembly.clock,
        assembly.config.timeouts.for_effort(None),
        static_keys=config.static_keys,
        is_revoked=getattr(assembly.admission.state, "is_revoked", None),
    )


def _metrics(assembly: Assembly) -> MetricsRoute | None:
    """/metrics when `[metrics] enabled`, else None: not served."""
    metrics = assembly.metrics
    return None if metrics is None else MetricsRoute.of(metrics, assembly.config, assembly.env)


def _relayed(forwarded: Forwarded) -> StreamResponse:
    headers = [("x-laneway-request-id", forwarded.record_id), *forwarded.headers]
    content_type = b"content-type: " + forwarded.content_type.encode("latin-1") + b"\r\n"
    return StreamResponse(forwarded.status, forwarded.chunks, headers, content_type)
