"""One HTTP/1.1 connection: an asyncio protocol over httptools (uvicorn's parser).

Why not uvicorn: measured side by side, the emulator under uvicorn spent ~190 us of CPU per
request against ~100 us here (bench/README.md). A whole answer goes out in one write,
synchronously from `data_received` when the handler can answer at once, with no ASGI messages;
an answer that must wait runs in one task per request.

Supported: keep-alive (HTTP/1.1 default, `Connection: close`, HTTP/1.0), pipelined requests
(answered in order), `Expect: 100-continue`, content-length and chunked request bodies, limits on
header and body size (431, 413), chunked streamed answers with backpressure, deadlines for
reading a request and an idle timeout (enforced by the listener: laneway.http.limits), caps on
connections. A client that goes away cancels its request's task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from email.utils import formatdate
from http import HTTPStatus

import httptools

from laneway.errors import LanewayError
from laneway.http.limits import Connections, Unlimited
from laneway.http.messages import (
    CutStream,
    ErrorRenderer,
    Finisher,
    Handler,
    HeaderList,
    HttpError,
    Request,
    Response,
    StreamResponse,
)

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024


_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LAST_CHUNK = b"0\r\n\r\n"
_FLUSH_BYTES = 64 * 1024


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


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(
        self,
        handler: Handler,
        render_error: ErrorRenderer,
        *,
        max_body: int,
        static_headers: bytes = b"",
        connections: Connections | None = None,
        finish: Finisher | None = None,
    ) -> None:
        """`finish`: what makes an awaited handler's result a Response or StreamResponse (a
        gateway's Answer, say), called in place of a coroutine of the handler's own.
        `connections`: told when this connection opens (and whether it may stay) and closes."""
        self._handler = handler
        self._finisher = finish
        self._render_error = render_error
        self._max_body = max_body
        self._static = static_headers
        self._connections = connections or Unlimited()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._peer = ""
        self._loop = asyncio.get_running_loop()
        self._queue: deque[Request] = deque()
        self._busy = False  # an answer is being delivered asynchronously
        self._closed = False
        self._writable: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._refusal: HttpError | None = None
        # A streamed answer's writes made in one loop iteration go out in one system call.
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._flush_handle: asyncio.Handle | None = None
        self.idle_since: float | None = None  # loop time; None while a request is in hand
        # Loop time the request being read began (its first byte; the accept for a connection's
        # first request), None when none is being read; the listener's sweep holds it to the
        # deadlines.
        self.reading_since: float | None = None
        self.headers_read = False
        self._reset_message()

    # -- connection events ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP server: a Transport
        self.idle_since = self.reading_since = self._loop.time()
        # Once per connection, for what a request's handler may note of it (its address).
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self._connections.opened(self, self._peer):
            error = HttpError(
                503,
                "Too many connections to this server (from your address, or in all). "
                "Retry shortly, or use fewer connections.",
                code="too_many_connections",
            )
            self._write(self._render_error(error), keep_alive=False)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self._task is not None:
            self._task.cancel()
        self._connections.closed(self)

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
            error = self._refusal or HttpError(400, "We could not parse the HTTP request.")
            self._write(self._render_error(error), keep_alive=False)
            self._finish(keep_alive=False)

    def time_out(self) -> None:
        """The request being read missed its deadline: 408, and the connection closed (one
        with a request in hand is answering it, not reading: left alone)."""
        if self._busy or self._queue or self._closed:
            return
        part = "body" if self.headers_read else "headers"
        error = HttpError(
            408, f"The request's {part} did not arrive in time.", code="request_timeout"
        )
        self._write(self._render_error(error), keep_alive=False)
        self.close()

    def close(self) -> None:
        # Marked closed at once, not when connection_lost arrives later: nothing more may be
        # written, not even an answer to a request pipelined behind a "Connection: close".
        if self._transport is not None and not self._closed:
            self._flush()
            self._closed = True
            self._transport.close()

    # -- httptools callbacks -----------------------------------------------------------------

    def _reset_message(self) -> None:
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0

    def _refuse(self, error: HttpError) -> None:
        self._refusal = error
        raise _Refuse

    def on_message_begin(self) -> None:
        self._reset_message()
        self.reading_since = self._loop.time()
        self.headers_read = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_header_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value
        self._count_header_bytes(len(name) + len(value))

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(HttpError(431, "Request header fields too large."))

    def on_headers_complete(self) -> None:
        self.headers_read = True
        declared = self._headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body:
            self._refuse(too_large(self._max_body))
        if self._headers.get(b"expect", b"").lower() == b"100-continue" and self._transport:
            self._transport.write(_CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        self._body_bytes += len(chunk)
        if self._body_bytes > self._max_body:
            self._refuse(too_large(self._max_body))
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        self.reading_since = None
        url = httptools.parse_url(self._url)
        self._queue.append(
            Request(
                method=self._parser.get_method(),
                path=url.path.decode("latin-1"),
                query=(url.query or b"").decode("latin-1"),
                headers=self._headers,
                body=b"".join(self._body),
                keep_alive=self._parser.should_keep_alive(),
                peer=self._peer,
            )
        )
        self._serve_queue()

    # -- answering ---------------------------------------------------------------------------

    def _serve_queue(self) -> None:
        """Answer queued requests in order; immediate answers at once, awaited ones in a task."""
        while self._queue and not self._busy and not self._closed:
            request = self._queue.popleft()
            try:
                answer = self._handler(request)
            except Exception as error:  # noqa: BLE001 - every failure gets its answer
                answer = self._failed(error, request)
            if isinstance(answer, Response):
                self._write(answer, request.keep_alive)
                self._finish(request.keep_alive)
                continue
            self._busy = True
            if self._transport is not None:
                self._transport.pause_reading()  # pipelined requests wait their turn
            self._task = self._loop.create_task(self._deliver(answer, request))

    def _failed(self, error: Exception, request: Request) -> Response:
        """The answer to a handler's failure; one with no status of its own is a bug: logged."""
        if not isinstance(error, LanewayError) or error.status is None:
            log.exception("failed on %s %s", request.method, request.path)
        return self._render_error(error)

    def _head(self, status: int, kind: bytes, headers: HeaderList, keep_alive: bool) -> bytearray:
        head = bytearray(_STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n".encode())
        head += kind + _Date.now() + self._static
        for name, value in headers:
            head += f"{name}: {value}\r\n".encode("latin-1")
        if not keep_alive:
            head += b"connection: close\r\n"
        return head

    def _finish(self, keep_alive: bool) -> None:
        if not keep_alive:
            self.close()
        elif not self._busy and not self._queue:
            self.idle_since = self._loop.time()

    def _write(self, response: Response, keep_alive: bool) -> None:
        if self._closed or self._transport is None:
            return
        head = self._head(response.status, response.content_type, response.headers, keep_alive)
        head += b"content-length: %d\r\n\r\n" % len(response.body)
        if self._out:  # behind a streamed answer still in the buffer: keep the order
            self._send(bytes(head) + response.body)
        else:
            self._transport.write(bytes(head) + response.body)  # one write: head and body

    async def _deliver(self, answer: object, request: Request) -> None:
        keep_alive = request.keep_alive
        try:
            try:
                result = await answer  # type: ignore[misc]
                if self._finisher is not None:
                    result = self._finisher(result)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - every failure gets its answer
                result = self._failed(error, request)
            if isinstance(result, Response):
                self._write(result, keep_alive)
            else:
                keep_alive = await self._stream(result, keep_alive)
        except asyncio.CancelledError:
            return  # the client went away
        finally:
            self._busy = False
            self._task = None
        if self._closed:
            return
        if self._transport is not None:
            self._transport.resume_reading()
        if self.reading_since is not None:  # a request pipelined behind: its time starts now
            self.reading_since = self._loop.time()
        self._finish(keep_alive)
        self._serve_queue()

    async def _stream(self, response: StreamResponse, keep_alive: bool) -> bool:
        """Send a chunked answer; False when the connection had to be dropped mid-body."""
        chunks = response.chunks
        head = self._head(response.status, response.content_type, response.headers, keep_alive)
        head += b"transfer-encoding: chunked\r\n\r\n"
        try:
            first = b""
            try:
                async for first in chunks:
                    if first:  # an empty chunk would read as the body's end
                        break
            except CutStream:
                self._send(bytes(head))  # cut before any event: the head, then nothing
                raise
            self._send(bytes(head) + _chunk(first) if first else bytes(head))
            async for chunk in chunks:
                if self._closed:
                    break
                if chunk:
                    self._send(_chunk(chunk))
                if self._writable is not None:
                    await self._writable
        except CutStream:
            self.close()
            return False
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a streamed answer failed mid-body")
            self.close()
            return False
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        self._send(_LAST_CHUNK)
        return keep_alive

    def _send(self, data: bytes) -> None:
        if self._closed:
            return
        self._out.append(data)
        self._out_bytes += len(data)
        if self._out_bytes >= _FLUSH_BYTES:  # a producer that never waits: do not hoard
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._out_bytes = 0
        out = self._out
        if out and not self._closed and self._transport is not None:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def too_large(limit: int) -> HttpError:
    return HttpError(
        413,
        f"Request body too large. The maximum request size is {limit} bytes.",
        code="request_too_large",
    )
