"""The emulator's HTTP/1.1 server: an asyncio protocol over httptools (uvicorn's parser).

Why not uvicorn: measured side by side, the emulator under uvicorn spent ~190 us of CPU per
request against ~100 us here (bench/README.md). Owning the protocol lets a plain answer go out
in one write, synchronously from `data_received`, with no task or ASGI messages per request, and
gives exact control over the faults an emulator exists to inject (a stream cut mid-body, a
request that hangs until the client gives up).

Supported: keep-alive (HTTP/1.1 default, `Connection: close`, HTTP/1.0), pipelined requests
(answered in order), `Expect: 100-continue`, content-length and chunked request bodies, limits on
header and body size (431, 413), chunked SSE responses with backpressure, an idle timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

import httptools
import orjson

from laneway.emulator.engine import Reply
from laneway.emulator.ids import new_id
from laneway.emulator.router import Router
from laneway.wire.errors import ApiError

log = logging.getLogger("laneway.emulator")

MAX_HEADER_BYTES = 64 * 1024
IDLE_TIMEOUT_S = 75.0  # longer than clients' pools keep idle sockets, so they close first
MAX_HANG_S = 3600.0  # a hung request still ends eventually if its client never gives up

_STATIC = b"openai-version: 2020-10-01\r\nopenai-organization: org-emulator\r\n"
_JSON = b"content-type: application/json\r\n"
_SSE = b"content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Date:
    """The Date header, formatted once per second rather than once per response."""

    second = -1
    header = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.second = second
            cls.header = b"date: " + formatdate(second, usegmt=True).encode() + b"\r\n"
        return cls.header


class _Refuse(Exception):
    """Raised in a parser callback to stop reading; httptools wraps it, so the error to send
    is kept on the protocol (`_refusal`)."""


@dataclass(slots=True)
class _Request:
    method: bytes
    path: str
    query: str
    headers: dict[bytes, bytes]
    body: bytes
    keep_alive: bool


class EmulatorProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(
        self, router: Router, max_body: int, on_close: Callable[[EmulatorProtocol], None]
    ) -> None:
        self._router = router
        self._max_body = max_body
        self._on_close = on_close
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._queue: deque[_Request] = deque()
        self._busy = False  # an answer is being delivered asynchronously
        self._closed = False
        self._writable: asyncio.Future[None] | None = None
        self._gone: asyncio.Future[None] = self._loop.create_future()
        self._task: asyncio.Task[None] | None = None
        self._refusal: ApiError | None = None
        self.idle_since: float | None = None  # loop time; None while a request is in hand
        self._reset_message()

    # -- connection events ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP server: a Transport
        self.idle_since = self._loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self._gone.done():
            self._gone.set_result(None)
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self._task is not None:
            self._task.cancel()
        self._on_close(self)

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            error = self._refusal or ApiError(400, "We could not parse the HTTP request.")
            self._write_error(error, new_id("req"), keep_alive=False)
            self._finish(keep_alive=False)

    def close(self) -> None:
        # Marked closed at once, not when connection_lost arrives later: nothing more may be
        # written, not even an answer to a request pipelined behind a "Connection: close".
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()

    # -- httptools callbacks -----------------------------------------------------------------

    def _reset_message(self) -> None:
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0

    def _refuse(self, error: ApiError) -> None:
        self._refusal = error
        raise _Refuse

    def on_message_begin(self) -> None:
        self._reset_message()

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_header_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value
        self._count_header_bytes(len(name) + len(value))

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(ApiError(431, "Request header fields too large."))

    def on_headers_complete(self) -> None:
        declared = self._headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            self._refuse(_too_large(self._max_body))
        if self._headers.get(b"expect", b"").lower() == b"100-continue" and self._transport:
            self._transport.write(_CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        self._body_bytes += len(chunk)
        if self._body_bytes > self._max_body:
            self._refuse(_too_large(self._max_body))
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        url = httptools.parse_url(self._url)
        self._queue.append(
            _Request(
                method=self._parser.get_method(),
                path=url.path.decode("latin-1"),
                query=(url.query or b"").decode("latin-1"),
                headers=self._headers,
                body=b"".join(self._body),
                keep_alive=self._parser.should_keep_alive(),
            )
        )
        self._serve_queue()

    # -- answering ---------------------------------------------------------------------------

    def _serve_queue(self) -> None:
        """Answer queued requests in order; plain answers at once, paced ones in a task."""
        while self._queue and not self._busy and not self._closed:
            request = self._queue.popleft()
            started = time.perf_counter()
            request_id = new_id("req")
            try:
                reply = self._router.handle(
                    request.method, request.path, request.query, request.headers, request.body
                )
            except ApiError as error:
                self._write_error(error, request_id, request.keep_alive)
                self._finish(request.keep_alive)
                continue
            except Exception:
                log.exception("emulator failed on %s %s", request.method, request.path)
                failure = ApiError(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    type="server_error",
                )
                self._write_error(failure, request_id, request.keep_alive)
                self._finish(request.keep_alive)
                continue
            if reply.frames is None and reply.fault is None and reply.first_byte_delay_s == 0:
                self._write_json(reply, request_id, started, request.keep_alive)
                self._finish(request.keep_alive)
                continue
            self._busy = True
            if self._transport is not None:
                self._transport.pause_reading()  # pipelined requests wait their turn
            self._task = self._loop.create_task(
                self._deliver(reply, request_id, started, request.keep_alive)
            )

    def _head(self, status: int, kind: bytes, request_id: str, keep_alive: bool) -> bytearray:
        head = bytearray(_STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n".encode())
        head += kind + _Date.now() + _STATIC + b"x-request-id: " + request_id.encode() + b"\r\n"
        if not keep_alive:
            head += b"connection: close\r\n"
        return head

    def _finish(self, keep_alive: bool) -> None:
        if not keep_alive:
            self.close()
        elif not self._busy and not self._queue:
            self.idle_since = self._loop.time()

    def _write_error(self, error: ApiError, request_id: str, keep_alive: bool) -> None:
        if self._closed or self._transport is None:
            return
        body = error.body()
        head = self._head(error.status, _JSON, request_id, keep_alive)
        for name, value in error.headers.items():
            head += f"{name}: {value}\r\n".encode()
        head += b"content-length: %d\r\n\r\n" % len(body)
        self._transport.write(bytes(head) + body)

    def _write_json(self, reply: Reply, request_id: str, started: float, keep_alive: bool) -> None:
        if self._closed or self._transport is None:
            return
        body = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
        head = self._head(reply.status, _JSON, request_id, keep_alive)
        head += b"openai-processing-ms: %d\r\n" % int((time.perf_counter() - started) * 1000)
        for name, value in reply.headers.items():
            head += f"{name}: {value}\r\n".encode()
        head += b"content-length: %d\r\n\r\n" % len(body)
        self._transport.write(bytes(head) + body)  # one write: head and body together

    async def _deliver(
        self, reply: Reply, request_id: str, started: float, keep_alive: bool
    ) -> None:
        try:
            await self._deliver_paced(reply, request_id, started, keep_alive)
        except asyncio.CancelledError:
            return  # the client went away
        finally:
            self._busy = False
            self._task = None
        if self._closed:
            return
        if self._transport is not None:
            self._transport.resume_reading()
        self._finish(keep_alive)
        self._serve_queue()

    async def _deliver_paced(
        self, reply: Reply, request_id: str, started: float, keep_alive: bool
    ) -> None:
        fault = reply.fault
        if fault is not None and fault.kind == "hang":
            # Never answer; give the connection up only when the client does (or much later).
            await asyncio.wait([self._gone], timeout=MAX_HANG_S)
            self.close()
            return
        delay = reply.first_byte_delay_s
        if fault is not None and fault.kind == "slow_first_byte":
            delay += fault.delay_s or 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        if reply.frames is None:
            self._write_json(reply, request_id, started, keep_alive)
            return
        await self._stream(reply, request_id, started, keep_alive)

    async def _stream(
        self, reply: Reply, request_id: str, started: float, keep_alive: bool
    ) -> None:
        transport = self._transport
        if reply.frames is None or transport is None:
            return
        fault = reply.fault
        cut = fault is not None and fault.kind == "cut"
        frames = reply.frames[: fault.after_events or 0] if cut and fault else reply.frames
        head = self._head(reply.status, _SSE, request_id, keep_alive)
        head += b"openai-processing-ms: %d\r\n" % int((time.perf_counter() - started) * 1000)
        for name, value in reply.headers.items():
            head += f"{name}: {value}\r\n".encode()
        head += b"transfer-encoding: chunked\r\n\r\n"
        if reply.frame_delay_s > 0:
            transport.write(bytes(head))
            for index, frame in enumerate(frames):
                if index:
                    await asyncio.sleep(reply.frame_delay_s)
                if self._closed:
                    return
                transport.write(_chunk(frame))
                if self._writable is not None:
                    await self._writable
        else:
            # Nothing to pace: the head and every event in one write.
            transport.write(bytes(head) + b"".join(_chunk(frame) for frame in frames))
        if cut:
            # No final chunk: the client sees the body end early, as when a stream is cut.
            self.close()
            return
        if not self._closed:
            transport.write(b"0\r\n\r\n")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"Request body too large. The maximum request size is {limit} bytes.",
        code="request_too_large",
    )
