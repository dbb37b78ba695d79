"""Which asyncio HTTP client should the gateway use to call its upstream? Throughput and behaviour.

    .venv/bin/python -m bench.bench_upstream_clients [--requests 20000] [--concurrency 64]

Method. laneway's own emulator (`laneway emulate --speed 0 --tier none`) is the upstream, pinned
to CPU 1; this process, and so every client under test, is pinned to CPU 0 and runs on uvloop.
Each client drives the same two workloads over keep-alive connections to 127.0.0.1:

- chat: --requests small non-streaming POST /v1/chat/completions, --concurrency in flight; a
  request passes when the status is 200 and the body parses as a JSON object (orjson, for all).
- stream: the same with "stream": true; the body is read chunk by chunk through the client's
  incremental API (what a gateway relays) and passes when it is 200 and ends with `data: [DONE]`.

Every client is configured as a gateway would run it: a pool of at least --concurrency
connections and the timeouts laneway uses for a request without reasoning (connect 5 s, read
60 s, total 180 s: laneway/upstream/timeouts.py), so the timers' cost is in the figures. A short
warm-up opens the pool before the clock starts. Clients alternate inside each repetition and the
best repetition per client and workload is reported. Requests/s is wall-clock; CPU per request is
this process's CPU (`time.process_time()`, all threads: pyreqwest runs a Rust runtime thread) over
the timed requests, which the upstream, in another process, does not touch. The upstream's CPU
share over the run is printed too: near 100 % it, not the client, set the rate, and the client's
CPU per request is then the figure to compare (1e6 / CPU us = that client's ceiling on one core).
The kernel's count of TCP connections opened (ActiveOpens) over the timed run shows that the pool
kept its connections alive: it should stay at 0.

Then one round of behaviour probes per client, each bounded to a few seconds, against the same
emulator (its `x-emulator-fault` header: `hang`, `cut=N`) and a second one that paces its stream
(an event every ~0.3 s): connection refused, first-byte timeout, cancellation by asyncio.timeout
before the head and mid-stream (each followed by reuse of the pool), idle-between-chunks timeout,
total timeout over a streamed body, a stream cut mid-body, and whether chunks arrive as sent. Each
cell names the exception raised (and the builtin it subclasses) and when, so error mapping is
seen, not assumed.

pyreqwest appears twice: as the gateway must configure it (read-ahead 0, so each SSE chunk is
handed on as it comes) and as it comes by default (64 KiB read-ahead), to show what incremental
reading costs it. The last client, "sketch", is ~150 lines written for this benchmark only
(asyncio Protocol, httptools parser, keep-alive pool, timeouts by asyncio.timeout): an upper bound
for a pure-Python client, not production code (no TLS, no pool limit or idle expiry, no retries,
HTTP/1.1 only).

All traffic goes to 127.0.0.1; every run and probe is bounded in time; the emulators are stopped
by PID (bench.loadgen.server).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httptools
import orjson
import uvloop

from bench.loadgen import LOAD_CPU, cpu_seconds, server

if TYPE_CHECKING:
    import aiohttp
    import aiosonic  # type: ignore[import-untyped]
    import httpx2
    import pyreqwest.client

PORT, PACED_PORT = 4395, 4396
PATH = "/v1/chat/completions"
AUTH = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
CHAT = orjson.dumps({"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]})
STREAM = orjson.dumps(
    {"model": "gpt-5.4", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
)
# The paced upstream: first event after 20 ms, then one every ~0.3 s (8 tokens), so a stream lasts
# about 1.3 s; long enough to tell a total timeout (0.5 s) from an idle one (0.1 s) from none.
PACED_CONFIG = """\
speed = 1
tier = "none"
[latency."gpt-5.4"]
ttft_s = 0.02
tokens_per_s = 5
[output_tokens]
min = 8
max = 8
"""
PROBE_GUARD_S = 5.0  # no probe may take longer, whatever the client does with its timeouts

Sink = Callable[[bytes], None]


@dataclass(frozen=True)
class Timeouts:
    """What a gateway sets per attempt; None: not set. `read` bounds the wait for the first byte
    and every gap between chunks (none of the clients separates the two)."""

    connect: float | None = None
    read: float | None = None
    total: float | None = None


GATEWAY_TIMEOUTS = Timeouts(connect=5.0, read=60.0, total=180.0)


class Adapter(ABC):
    """One client, reduced to what the gateway does with it: POST and read, whole or streamed."""

    name = ""  # short, for progress lines and the probe table
    label = ""  # for the results table
    distribution = ""  # the package whose version is reported

    def __init__(self, base: str, concurrency: int, timeouts: Timeouts) -> None:
        self.url = base + PATH
        self.concurrency = concurrency
        self.timeouts = timeouts

    @abstractmethod
    async def open(self) -> None:
        """Build the client (inside the running loop: some need it)."""

    @abstractmethod
    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send, read the whole answer, return status and body."""

    @abstractmethod
    async def stream(self, body: bytes, sink: Sink, headers: dict[str, str] | None = None) -> int:
        """Send, hand each body chunk to `sink` as it is read, return the status."""

    @abstractmethod
    async def aclose(self) -> None: ...


class AiohttpAdapter(Adapter):
    name = "aiohttp"
    label = "aiohttp ClientSession"
    distribution = "aiohttp"

    async def open(self) -> None:
        import aiohttp  # noqa: PLC0415 -- imported late so a missing client is skipped, not fatal

        t = self.timeouts
        self._session: aiohttp.ClientSession = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.concurrency),
            timeout=aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, sock_read=t.read),
            headers=AUTH,
        )

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        async with self._session.post(self.url, data=body, headers=headers) as response:
            return response.status, await response.read()

    async def stream(self, body: bytes, sink: Sink, headers: dict[str, str] | None = None) -> int:
        async with self._session.post(self.url, data=body, headers=headers) as response:
            async for chunk in response.content.iter_any():
                sink(chunk)
            return response.status

    async def aclose(self) -> None:
        await self._session.close()


class PyreqwestAdapter(Adapter):
    name = "pyreqwest"
    label = "pyreqwest Client"
    distribution = "pyreqwest"
    # Read-ahead 0: by default it buffers up to 64 KiB of body (or all of it) before it even
    # returns the response, and refills that much before each read, which holds an SSE stream
    # back until it is nearly over. 0 hands on each chunk as it comes.
    read_ahead: int | None = 0

    async def open(self) -> None:
        from pyreqwest.client import ClientBuilder  # noqa: PLC0415 -- see AiohttpAdapter

        t = self.timeouts
        # max_connections caps requests in flight; the Rust pool keeps their connections alive.
        builder = ClientBuilder().max_connections(self.concurrency).default_headers(AUTH)
        if t.connect is not None:
            builder = builder.connect_timeout(timedelta(seconds=t.connect))
        if t.read is not None:
            builder = builder.read_timeout(timedelta(seconds=t.read))
        if t.total is not None:
            builder = builder.timeout(timedelta(seconds=t.total))
        self._client: pyreqwest.client.Client = builder.build()

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = self._client.post(self.url).body_bytes(body)
        if headers:
            request = request.headers(headers)
        response = await request.build().send()
        # bytes(): the gateway hands Python bytes on (to orjson, to its own transport).
        return response.status, bytes(await response.bytes())

    async def stream(self, body: bytes, sink: Sink, headers: dict[str, str] | None = None) -> int:
        request = self._client.post(self.url).body_bytes(body)
        if headers:
            request = request.headers(headers)
        if self.read_ahead is not None:
            request = request.streamed_read_buffer_limit(self.read_ahead)
        async with request.build_streamed() as response:
            reader = response.body_reader
            while (chunk := await reader.read_chunk()) is not None:
                sink(bytes(chunk))
            return response.status

    async def aclose(self) -> None:
        await self._client.close()


class PyreqwestReadAheadAdapter(PyreqwestAdapter):
    """pyreqwest as it comes, to show what incremental reading costs it (not usable for SSE)."""

    name = "pyreqwest-ra"
    label = "pyreqwest Client, default 64 KiB stream read-ahead (holds SSE back)"
    read_ahead = None


class AiosonicAdapter(Adapter):
    name = "aiosonic"
    label = "aiosonic HTTPClient"
    distribution = "aiosonic"

    async def open(self) -> None:
        import aiosonic  # noqa: PLC0415 -- see AiohttpAdapter
        from aiosonic.pools import PoolConfig  # type: ignore[import-untyped]  # noqa: PLC0415

        t = self.timeouts
        # max_conn_requests=None: by default it recycles a connection every 1,000 requests.
        pool = PoolConfig(size=self.concurrency, max_conn_requests=None)
        self._timeouts = aiosonic.Timeouts(
            sock_connect=t.connect, sock_read=t.read, request_timeout=t.total
        )
        connector = aiosonic.TCPConnector(pool_configs={":default": pool}, timeouts=self._timeouts)
        self._client: aiosonic.HTTPClient = aiosonic.HTTPClient(connector=connector)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return AUTH | headers if headers else AUTH

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        response = await self._client.post(self.url, data=body, headers=self._headers(headers))
        content: bytes = await response.content()
        return response.status_code, content

    async def stream(self, body: bytes, sink: Sink, headers: dict[str, str] | None = None) -> int:
        async with self._client.stream(
            "POST", self.url, data=body, headers=self._headers(headers)
        ) as response:
            async for chunk in response.read_chunks():
                sink(chunk)
            status: int = response.status_code
            return status

    async def aclose(self) -> None:
        await self._client.aclose()


class Httpx2Adapter(Adapter):
    name = "httpx2"
    label = "httpx2 AsyncClient"
    distribution = "httpx2"

    async def open(self) -> None:
        import httpx2  # noqa: PLC0415 -- see AiohttpAdapter

        t = self.timeouts
        # No total timeout exists in httpx2; write and pool get the read limit.
        timeout = httpx2.Timeout(t.read, connect=t.connect)
        # Its default keeps only 20 idle connections: raise both limits to the concurrency.
        limits = httpx2.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        self._client: httpx2.AsyncClient = httpx2.AsyncClient(
            headers=AUTH, timeout=timeout, limits=limits
        )

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        response = await self._client.post(self.url, content=body, headers=headers)
        return response.status_code, response.content

    async def stream(self, body: bytes, sink: Sink, headers: dict[str, str] | None = None) -> int:
        async with self._client.stream("POST", self.url, content=body, headers=headers) as response:
            async for chunk in response.aiter_raw():
                sink(chunk)
            return response.status_code

    async def aclose(self) -> None:
        await self._client.aclose()


class _SketchConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: httptools parses, a single future wakes the reader."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.chunks: list[bytes] = []
        self.headers_done = self.complete = self.reusable = False
        self.error: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP connection's transport (uvloop's does not subclass asyncio.Transport).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = exc
            self.close()
        self._wake()  # once per read, not per callback: a burst of chunks costs one wake-up

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.complete and self.error is None:
            self.error = ConnectionResetError("upstream closed the connection mid-response")
        self._wake()

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        self.reusable = self._parser.should_keep_alive()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        if self.error is not None:
            raise self.error
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def send(self, data: bytes) -> None:
        if self.transport is None:
            raise ConnectionResetError("connection closed")
        self.status, self.chunks = 0, []
        self.headers_done = self.complete = self.reusable = False
        self.transport.write(data)

    async def head(self) -> int:
        while not self.headers_done:
            await self._wait()
        return self.status

    async def body_parts(self) -> list[bytes] | None:
        """The chunks read since the last call; None once the body is complete."""
        while not self.chunks and not self.complete:
            await self._wait()
        parts, self.chunks = self.chunks, []
        return parts or None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class SketchAdapter(Adapter):
    name = "sketch"
    label = "sketch, not production: asyncio Protocol + httptools"
    distribution = "httptools"

    async def open(self) -> None:
        self._idle: list[_SketchConnection] = []
        host_port = self.url.split("/")[2]
        self._host, port = host_port.split(":")
        self._port = int(port)
        self._head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host_port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in AUTH.items())
        ).encode()

    async def _connection(self) -> _SketchConnection:
        while self._idle:
            connection = self._idle.pop()
            if connection.transport is not None and not connection.transport.is_closing():
                return connection
        async with asyncio.timeout(self.timeouts.connect):
            _, connection = await asyncio.get_running_loop().create_connection(
                _SketchConnection, self._host, self._port
            )
        return connection

    async def _exchange(self, body: bytes, sink: Sink, headers: dict[str, str] | None) -> int:
        read = self.timeouts.read
        async with asyncio.timeout(self.timeouts.total):
            connection = await self._connection()
            try:
                extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) if headers else ""
                connection.send(
                    self._head + f"{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body
                )
                async with asyncio.timeout(read):
                    status = await connection.head()
                while True:
                    async with asyncio.timeout(read):
                        parts = await connection.body_parts()
                    if parts is None:
                        break
                    for part in parts:
                        sink(part)
            except BaseException:
                # Cancelled or failed mid-exchange: the connection's state is unknown, drop it.
                connection.close()
                raise
        if connection.reusable:
            self._idle.append(connection)
        else:
            connection.close()
        return status

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        parts: list[bytes] = []
        status = await self._exchange(body, parts.append, headers)
        return status, b"".join(parts)

    async def stream(self, body: bytes, sink: Sink, headers: dict[str, str] | None = None) -> int:
        return await self._exchange(body, sink, headers)

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


ADAPTERS: list[type[Adapter]] = [
    AiohttpAdapter,
    PyreqwestAdapter,
    PyreqwestReadAheadAdapter,
    AiosonicAdapter,
    Httpx2Adapter,
    SketchAdapter,
]


@dataclass
class Run:
    rps: float = 0.0
    cpu_us: float = 0.0
    upstream_share: float = 0.0
    new_connections: int = 0
    failures: int = 0
    first_failure: str = ""


def _active_opens() -> int:
    """TCP connections this host has initiated so far (the kernel's ActiveOpens counter): over a
    timed run, keep-alive should hold it still once the warm-up has filled the pool."""
    names, values = (
        line.split()
        for line in Path("/proc/net/snmp").read_text().splitlines()
        if line[:4] == "Tcp:"
    )
    return int(values[names.index("ActiveOpens")])


def _describe(exc: BaseException) -> str:
    kind = type(exc)
    name = f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"
    for builtin in (TimeoutError, ConnectionError, OSError):
        if isinstance(exc, builtin):
            return f"{name} [{builtin.__name__}]" if kind is not builtin else builtin.__name__
    return name


async def _one(adapter: Adapter, streaming: bool) -> str | None:
    """One request of a workload; None when it passed, else why not."""
    if streaming:
        parts: list[bytes] = []
        status = await adapter.stream(STREAM, parts.append)
        if status != 200:
            return f"status {status}"
        if not b"".join(parts).rstrip().endswith(b"data: [DONE]"):
            return "stream did not end with data: [DONE]"
        return None
    status, body = await adapter.post(CHAT)
    if status != 200:
        return f"status {status}"
    if not isinstance(orjson.loads(body), dict):
        return "body is not a JSON object"
    return None


async def workload(
    adapter: Adapter, streaming: bool, requests: int, upstream_pid: int, limit_s: float
) -> Run:
    """`requests` requests with `adapter.concurrency` workers each keeping one in flight."""
    remaining = requests
    run = Run()

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                why = await _one(adapter, streaming)
            except Exception as exc:  # noqa: BLE001 -- any failure counts, and the run goes on
                why = f"{_describe(exc)}: {exc}"
            if why is not None:
                run.failures += 1
                run.first_failure = run.first_failure or why

    gc.collect()  # garbage left by the previous client is not this one's cost
    upstream_before, opens_before = cpu_seconds(upstream_pid), _active_opens()
    cpu_before, started = time.process_time(), time.perf_counter()
    try:
        async with asyncio.timeout(limit_s):
            await asyncio.gather(*(worker() for _ in range(adapter.concurrency)))
    except TimeoutError:
        run.failures += max(remaining, 1)
        run.first_failure = run.first_failure or f"run cut off after {limit_s:.0f} s"
    wall = time.perf_counter() - started
    done = requests - max(remaining, 0)
    run.cpu_us = (time.process_time() - cpu_before) / max(done, 1) * 1e6
    run.rps = done / wall
    run.upstream_share = (cpu_seconds(upstream_pid) - upstream_before) / wall
    run.new_connections = _active_opens() - opens_before
    return run


# ---------------------------------------------------------------------------------------------
# Behaviour probes


@dataclass
class Probe:
    """What one probe saw: when it ended, how many chunks came first, the error if any."""

    elapsed: float = 0.0
    chunk_times: list[float] = field(default_factory=list)
    error: BaseException | None = None
    status: int = 0
    body: bytes = b""


async def _probe_stream(
    adapter: Adapter, headers: dict[str, str] | None = None, guard: float = PROBE_GUARD_S
) -> Probe:
    probe = Probe()
    parts: list[bytes] = []
    started = time.perf_counter()

    def sink(chunk: bytes) -> None:
        probe.chunk_times.append(time.perf_counter() - started)
        parts.append(chunk)

    try:
        async with asyncio.timeout(guard):
            probe.status = await adapter.stream(STREAM, sink, headers)
    except Exception as exc:  # noqa: BLE001 -- the exception is what is being observed
        probe.error = exc
    probe.elapsed = time.perf_counter() - started
    probe.body = b"".join(parts)
    return probe


async def _probe_post(
    adapter: Adapter, headers: dict[str, str] | None = None, guard: float = PROBE_GUARD_S
) -> Probe:
    probe = Probe()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(guard):
            probe.status, probe.body = await adapter.post(CHAT, headers)
    except Exception as exc:  # noqa: BLE001 -- the exception is what is being observed
        probe.error = exc
    probe.elapsed = time.perf_counter() - started
    return probe


def _outcome(probe: Probe, *, guard: float = PROBE_GUARD_S) -> str:
    if probe.error is None:
        return f"no error, {probe.elapsed:.2f} s"
    if isinstance(probe.error, TimeoutError) and probe.elapsed >= guard - 0.05:
        return f"not enforced (our {guard:g} s guard fired)"
    return f"{_describe(probe.error)} {probe.elapsed:.2f} s"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def probes(kind: type[Adapter], base: str, paced: str) -> dict[str, str]:
    """Behaviour the gateway relies on, each probe bounded by PROBE_GUARD_S."""
    out: dict[str, str] = {}

    async def opened(url: str, timeouts: Timeouts) -> Adapter:
        adapter = kind(url, 4, timeouts)
        await adapter.open()
        return adapter

    adapter = await opened(f"http://127.0.0.1:{_free_port()}", Timeouts(connect=1.0))
    out["refused"] = _outcome(await _probe_post(adapter))
    await adapter.aclose()

    # First byte: the upstream never answers; the client's own read timeout must fire.
    adapter = await opened(base, Timeouts(connect=1.0, read=0.3))
    out["first byte 0.3 s"] = _outcome(await _probe_post(adapter, {"x-emulator-fault": "hang"}))
    await adapter.aclose()

    # Cancellation from outside (how a gateway bounds any phase itself), then the same pool must
    # still serve: a client that returned the cancelled connection to its pool would fail here.
    adapter = await opened(base, Timeouts())
    cancelled = await _probe_post(adapter, {"x-emulator-fault": "hang"}, guard=0.3)
    after = await _probe_post(adapter)
    reuse = "reuse ok" if after.status == 200 and after.error is None else _outcome(after)
    kind_name = type(cancelled.error).__name__ if cancelled.error else "not cancelled"
    out["asyncio.timeout 0.3 s"] = f"{kind_name}, {reuse}"
    await adapter.aclose()

    # The same, mid-body (how a gateway would bound idle gaps itself): the cancelled connection
    # must not go back to the pool with the rest of that stream still to come.
    adapter = await opened(paced, Timeouts())
    cancelled = await _probe_stream(adapter, guard=0.3)
    after = await _probe_post(adapter)
    reuse = "reuse ok" if after.status == 200 and after.error is None else _outcome(after)
    kind_name = type(cancelled.error).__name__ if cancelled.error else "not cancelled"
    out["asyncio.timeout mid-stream"] = (
        f"{kind_name} after {len(cancelled.chunk_times)} chunk(s), {reuse}"
    )
    await adapter.aclose()

    # Idle between chunks: events come ~0.3 s apart, the read timeout is 0.1 s.
    adapter = await opened(paced, Timeouts(connect=1.0, read=0.1))
    probe = await _probe_stream(adapter)
    out["idle 0.1 s"] = f"{_outcome(probe)} after {len(probe.chunk_times)} chunk(s)"
    await adapter.aclose()

    # Total over a streamed body: the stream lasts ~1.3 s, the total limit is 0.5 s.
    adapter = await opened(paced, Timeouts(connect=1.0, total=0.5))
    probe = await _probe_stream(adapter)
    out["total 0.5 s"] = f"{_outcome(probe)} after {len(probe.chunk_times)} chunk(s)"
    await adapter.aclose()

    # Cut: the upstream closes the connection after 2 events, without the final chunk.
    adapter = await opened(base, Timeouts(connect=1.0, read=2.0))
    probe = await _probe_stream(adapter, {"x-emulator-fault": "cut=2"})
    if probe.error is None:
        done = probe.body.rstrip().endswith(b"data: [DONE]")
        out["cut mid-stream"] = "SILENT: ended without error" + ("" if done else ", no [DONE]")
    else:
        out["cut mid-stream"] = _describe(probe.error)
    await adapter.aclose()

    # Incremental: the first event must reach the caller long before the last.
    adapter = await opened(paced, Timeouts(connect=1.0))
    probe = await _probe_stream(adapter)
    if probe.error is not None or not probe.chunk_times:
        out["incremental"] = _outcome(probe)
    else:
        first, last = probe.chunk_times[0], probe.chunk_times[-1]
        verdict = "yes" if first < last / 2 else "NO"
        out["incremental"] = f"{verdict}: first {first:.2f} s, last {last:.2f} s"
    await adapter.aclose()
    return out


# ---------------------------------------------------------------------------------------------


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _affinity(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"


async def measure(args: argparse.Namespace, kinds: list[type[Adapter]], upstream_pid: int) -> None:
    base = f"http://127.0.0.1:{PORT}"
    best: dict[tuple[str, bool], Run] = {}
    for repetition in range(args.repeat):
        for kind in kinds:
            for streaming in (False, True):
                adapter = kind(base, args.concurrency, GATEWAY_TIMEOUTS)
                await adapter.open()
                try:
                    # Warm-up: open the pool and settle the code paths before the clock starts.
                    await workload(adapter, streaming, args.concurrency * 8, upstream_pid, 30)
                    run = await workload(
                        adapter, streaming, args.requests, upstream_pid, args.limit
                    )
                finally:
                    await adapter.aclose()
                key = (kind.label, streaming)
                what = "stream" if streaming else "chat"
                print(
                    f"  rep {repetition + 1} {kind.name:12} {what:6} {run.rps:8,.0f} req/s"
                    f" {run.cpu_us:6.1f} us/req upstream {run.upstream_share:4.0%}"
                    f" new conns {run.new_connections} failures {run.failures}",
                    flush=True,
                )
                # A run with failures never counts as best: its rate is not the workload's.
                if key not in best or (run.failures, -run.rps) < (
                    best[key].failures,
                    -best[key].rps,
                ):
                    best[key] = run

    print(
        f"\n{args.requests:,} requests per workload, {args.concurrency} in flight, best of "
        f"{args.repeat}; client on CPU 0 (uvloop), emulator on CPU 1\n"
    )
    print(
        "| client | version | chat req/s | chat CPU us/req | upstream CPU | "
        "stream req/s | stream CPU us/req | upstream CPU | new conns | failures |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        chat, stream = best[(kind.label, False)], best[(kind.label, True)]
        failures = chat.failures + stream.failures
        note = f" ({chat.first_failure or stream.first_failure})" if failures else ""
        print(
            f"| {kind.label} | {_version(kind.distribution)} | {chat.rps:,.0f} | "
            f"{chat.cpu_us:.0f} | {chat.upstream_share:.0%} | {stream.rps:,.0f} | "
            f"{stream.cpu_us:.0f} | {stream.upstream_share:.0%} | "
            f"{chat.new_connections + stream.new_connections} | {failures}{note} |"
        )


async def behaviour(kinds: list[type[Adapter]]) -> None:
    rows: list[tuple[str, dict[str, str]]] = []
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
        config.write(PACED_CONFIG)
    paced_cmd = [
        sys.executable, "-m", "laneway", "emulate", "--port", str(PACED_PORT),
        "--config", config.name,
    ]  # fmt: skip
    try:
        with server(paced_cmd, PACED_PORT, cpu=LOAD_CPU):
            for kind in kinds:
                rows.append(
                    (
                        kind.name,
                        await probes(
                            kind, f"http://127.0.0.1:{PORT}", f"http://127.0.0.1:{PACED_PORT}"
                        ),
                    )
                )
    finally:
        os.unlink(config.name)
    columns = list(rows[0][1])
    print("\nBehaviour probes (each bounded by a 5 s guard):\n")
    print("| client | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells[c] for c in columns) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--limit", type=float, default=120.0, help="seconds one run may take")
    parser.add_argument("--no-probes", action="store_true", help="throughput only")
    args = parser.parse_args()

    # The clients share CPU 0 with nothing of ours; the emulators are pinned to CPU 1 when
    # started (taskset overrides the affinity they would inherit from here).
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    kinds: list[type[Adapter]] = []
    for kind in ADAPTERS:
        if _version(kind.distribution) is None:
            print(f"skipped {kind.label}: {kind.distribution} is not installed")
        else:
            kinds.append(kind)

    emulator_cmd = [
        sys.executable, "-m", "laneway", "emulate",
        "--port", str(PORT), "--speed", "0", "--tier", "none",
    ]  # fmt: skip
    with server(emulator_cmd, PORT, cpu=LOAD_CPU) as pid:
        print(
            f"python {sys.version.split()[0]}, this process on CPU {_affinity(os.getpid())}, "
            f"emulator (pid {pid}) on CPU {_affinity(pid)}",
            flush=True,
        )
        uvloop.run(measure(args, kinds, pid))
        if not args.no_probes:
            uvloop.run(behaviour(kinds))


if __name__ == "__main__":
    main()
