"""The emulator's ASGI app: routing, body limits, error rendering and paced delivery.

Raw ASGI rather than a framework: the emulator must not be the bottleneck of the gateway
benchmarks (>= 10,000 requests/s on one core), and it needs exact control over how a stream is
cut or a response hangs. All decisions are the engine's; this layer only moves bytes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from laneway.emulator.bill import dumps as bill_dumps
from laneway.emulator.engine import Caller, Engine, Reply
from laneway.emulator.faults import FAULT_HEADER
from laneway.emulator.ids import new_id
from laneway.wire.errors import ApiError, invalid_json, invalid_request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("laneway.emulator")

MAX_HANG_S = 3600.0  # a hung request still ends eventually if its client never gives up
_JSON = (b"content-type", b"application/json")
_SSE = (b"content-type", b"text/event-stream; charset=utf-8")
_STATIC_HEADERS = [(b"openai-version", b"2020-10-01"), (b"openai-organization", b"org-emulator")]


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    """The client disconnected before its request body arrived: nobody to answer."""


class EmulatorApp:
    """An ASGI application serving the OpenAI API from an `Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._limit = engine.config.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = new_id("req")
        headers = dict(scope["headers"])
        try:
            reply = await self._route(scope, headers, receive)
        except ApiError as error:
            await self._send_error(send, error, request_id)
            return
        except _ClientGone:
            return
        except Exception:
            # Never a traceback to the client; the log keeps it for us.
            log.exception("emulator failed on %s %s", scope["method"], scope["path"])
            failure = ApiError(
                500,
                "The server had an error while processing your request. Sorry about that!",
                type="server_error",
            )
            await self._send_error(send, failure, request_id)
            return
        await self._deliver(reply, request_id, started, receive, send)

    async def _route(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive) -> Reply:
        method: str = scope["method"]
        path: str = scope["path"]
        engine = self.engine
        post = {"/v1/responses": engine.responses, "/v1/chat/completions": engine.chat}
        handler = post.get(path)
        if handler is not None and method == "POST":
            caller = self._caller(headers)
            body = await self._json_body(headers, receive)
            fault = headers.get(FAULT_HEADER.encode())
            return handler(caller, body, fault.decode("latin-1") if fault is not None else None)
        if method == "GET":
            return self._get(path, scope, headers)
        raise ApiError(404, f"Invalid URL ({method} {path})")

    def _get(self, path: str, scope: Scope, headers: dict[bytes, bytes]) -> Reply:
        engine = self.engine
        if path == "/v1/models":
            return Reply(body=engine.list_models(self._caller(headers)))
        if path.startswith("/v1/models/"):
            name = unquote(path[len("/v1/models/") :])
            return Reply(body=engine.get_model(self._caller(headers), name))
        if path in ("/v1/organization/usage/completions", "/v1/organization/costs"):
            self._caller(headers)
            params = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            if path.endswith("costs"):
                return Reply(body=bill_dumps(engine.bill.costs(params)))
            return Reply(body=bill_dumps(engine.bill.completions_usage(params)))
        if path == "/healthz":
            return Reply(body={"status": "ok"})
        raise ApiError(404, f"Invalid URL (GET {path})")

    def _caller(self, headers: dict[bytes, bytes]) -> Caller:
        raw = headers.get(b"authorization")
        return self.engine.authenticate(raw.decode("latin-1") if raw is not None else None)

    async def _json_body(self, headers: dict[bytes, bytes], receive: Receive) -> dict[str, Any]:
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            raise _too_large(self._limit)
        try:
            raw = await self._read(receive)
        except _BodyTooLarge:
            raise _too_large(self._limit) from None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise invalid_json() from None
        if not isinstance(body, dict):
            raise invalid_request(
                "Invalid request body: expected a JSON object, but got "
                f"{type(body).__name__} instead."
            )
        return body

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _send_error(self, send: Send, error: ApiError, request_id: str) -> None:
        headers = [_JSON, (b"x-request-id", request_id.encode()), *_STATIC_HEADERS]
        headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": error.body()})

    async def _deliver(
        self, reply: Reply, request_id: str, started: float, receive: Receive, send: Send
    ) -> None:
        fault = reply.fault
        if fault is not None and fault.kind == "hang":
            await _wait_for_disconnect(receive, MAX_HANG_S)
            return
        delay = reply.first_byte_delay_s
        if fault is not None and fault.kind == "slow_first_byte":
            delay += fault.delay_s or 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        headers = [
            _SSE if reply.frames is not None else _JSON,
            (b"x-request-id", request_id.encode()),
            (b"openai-processing-ms", str(int((time.perf_counter() - started) * 1000)).encode()),
            *_STATIC_HEADERS,
        ]
        headers.extend((k.encode(), v.encode()) for k, v in reply.headers.items())
        if reply.frames is None:
            body = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        frames = reply.frames
        cut = fault is not None and fault.kind == "cut"
        if fault is not None and fault.kind == "cut":
            frames = frames[: fault.after_events or 0]
        if reply.frame_delay_s > 0:
            for index, frame in enumerate(frames):
                if index:
                    await asyncio.sleep(reply.frame_delay_s)
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        elif frames:
            # Nothing to pace: one write instead of one per event (the client parses the same
            # SSE bytes either way).
            await send({"type": "http.response.body", "body": b"".join(frames), "more_body": True})
        if cut:
            # Return without finishing the body: the server drops the connection mid-stream,
            # which is what a client sees when a stream is cut.
            return
        await send({"type": "http.response.body", "body": b""})


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"Request body too large. The maximum request size is {limit} bytes.",
        code="request_too_large",
    )


async def _wait_for_disconnect(receive: Receive, limit_s: float) -> None:
    async def drain() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(drain(), timeout=limit_s)
    except TimeoutError:
        return
