"""The emulator behind laneway's HTTP server: endpoint replies become answers, faults become
timing (a delayed first byte, paced events), a cut body or a request that never answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import orjson

from laneway.emulator.endpoints import Endpoints
from laneway.emulator.engine import Reply
from laneway.http.listener import Listener
from laneway.http.messages import CutStream, Request, Response, StreamResponse
from laneway.http.protocol import HttpProtocol
from laneway.ids import new_id
from laneway.wire.errors import ApiError, as_api_error

log = logging.getLogger(__name__)

MAX_HANG_S = 3600.0  # a hung request still ends eventually if its client never gives up
_STATIC = b"openai-version: 2020-10-01\r\nopenai-organization: org-emulator\r\n"


class EmulatorApp:
    def __init__(self, endpoints: Endpoints, max_body: int) -> None:
        self._endpoints = endpoints
        self._max_body = max_body

    def listener(self) -> Listener:
        return Listener(
            lambda connections: HttpProtocol(
                self.handle,
                render_error,
                max_body=self._max_body,
                static_headers=_STATIC,
                connections=connections,
            )
        )

    def handle(self, request: Request) -> Response | Coroutine[Any, Any, Response | StreamResponse]:
        started = time.perf_counter()
        request_id = new_id("req")
        try:
            reply = self._endpoints.handle(
                request.method,
                request.path,
                request.query,
                request.headers,
                request.body,
                request_id,
            )
        except ApiError as error:
            return render_error(error, request_id)
        if reply.frames is None and reply.fault is None and reply.first_byte_delay_s == 0:
            return _whole(reply, request_id, started)
        return _paced(reply, request_id, started)  # awaited in the connection's task


def render_error(error: Exception, request_id: str | None = None) -> Response:
    answer = as_api_error(error)
    headers = [("x-request-id", request_id or new_id("req")), *answer.headers.items()]
    return Response(answer.status, answer.body(), headers)


def _headers(reply: Reply, request_id: str, started: float) -> list[tuple[str, str]]:
    processing_ms = int((time.perf_counter() - started) * 1000)
    return [
        ("x-request-id", request_id),
        ("openai-processing-ms", str(processing_ms)),
        *reply.headers.items(),
    ]


def _whole(reply: Reply, request_id: str, started: float) -> Response:
    body = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
    return Response(reply.status, body, _headers(reply, request_id, started))


async def _paced(reply: Reply, request_id: str, started: float) -> Response | StreamResponse:
    fault = reply.fault
    if fault is not None and fault.kind == "hang":
        # Never answer: the server cancels this when the client gives up (or, much later, we do).
        await asyncio.sleep(MAX_HANG_S)
        return StreamResponse(reply.status, _cut_at_once())
    delay = reply.first_byte_delay_s
    if fault is not None and fault.kind == "slow_first_byte":
        delay += fault.delay_s or 0.0
    if delay > 0:
        await asyncio.sleep(delay)
    if reply.frames is None:
        return _whole(reply, request_id, started)
    frames = reply.frames
    cut = fault is not None and fault.kind == "cut"
    if cut and fault is not None:
        frames = frames[: fault.after_events or 0]
    return StreamResponse(
        reply.status,
        _events(frames, reply.frame_delay_s, cut),
        _headers(reply, request_id, started),
    )


async def _events(frames: list[bytes], delay_s: float, cut: bool) -> AsyncIterator[bytes]:
    if delay_s > 0:
        for index, frame in enumerate(frames):
            if index:
                await asyncio.sleep(delay_s)
            yield frame
    elif frames:
        yield b"".join(frames)  # nothing to pace: every event in one chunk
    if cut:
        # No final chunk: the client sees the body end early, as when a stream is cut.
        raise CutStream


async def _cut_at_once() -> AsyncIterator[bytes]:
    raise CutStream
    yield b""  # pragma: no cover - makes this an async generator
