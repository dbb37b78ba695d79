"""Running the gateway: in the foreground (`laneway serve`, one or more worker processes) or on
a background thread (tests, embedding), with the emulator built in when there is no upstream."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import uvloop

from laneway.assembly import Assembly, Upstream
from laneway.config import ConfigError, GatewayConfig
from laneway.gateway.attempts import Sleep
from laneway.http.listener import bind
from laneway.server.app import GatewayApp
from laneway.server.log_level import configure_logging, flush_logs
from laneway.telemetry.metrics_sharing import publishing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

_START_TIMEOUT_S = 15.0
DRAIN_S = 30.0  # at shutdown, requests in flight get this long to finish

Announce = Callable[[str], None]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(config: GatewayConfig, env: Mapping[str, str], host: str) -> bool:
    """True when client keys exist (configured, or virtual keys in the key store); refuses a
    non-loopback address without them."""
    if config.client_keys(env) or _virtual_keys_exist(config, env):
        return True
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without client keys: create one with `laneway keys "
            "create`, set server.api_keys in the config or LANEWAY_API_KEYS, or listen on "
            "127.0.0.1"
        )
    return False


def _virtual_keys_exist(config: GatewayConfig, env: Mapping[str, str]) -> bool:
    with Assembly(config, env) as parts:
        return bool(parts.key_store.all())


async def _serve(
    assembly: Assembly, sock: socket.socket, stop: asyncio.Event, ready: Callable[[], None]
) -> None:
    app = GatewayApp.of(assembly)
    listener = app.listener()
    server = await listener.start(sock)
    ready()
    try:
        await stop.wait()
    finally:
        server.close()
        await listener.drain(DRAIN_S)
        listener.close_connections()
        await asyncio.sleep(0)  # let the closes and cancellations run
        app.close()
        await assembly.close()


def _worker(
    config: GatewayConfig,
    upstream: Upstream,
    host: str,
    port: int,
    announce: Announce | None,
    log_level: str | None = None,
    shared: tuple[Path, int] | None = None,
) -> None:
    """One serving process: its own socket on the shared port, until SIGINT or SIGTERM.
    `log_level`: set up logging (a spawned worker inherits none). `shared`: the directory the
    workers share their metrics in, and this worker's index there (None: one worker)."""
    if log_level is not None:
        configure_logging(log_level, config.server.log_format)
    sock = bind(host, port, reuse_port=config.server.workers > 1)
    try:
        uvloop.run(_main(config, upstream, host, sock, announce, shared))
    finally:
        sock.close()
        flush_logs()  # the lines the loop's last timer would have written


async def _main(
    config: GatewayConfig,
    upstream: Upstream,
    host: str,
    sock: socket.socket,
    announce: Announce | None,
    shared: tuple[Path, int] | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    assembly = Assembly(config, upstream.env, upstream=upstream, warn=announce)
    await assembly.gateway.start()
    lost = assembly.ledger.count_unsettled()
    if lost and announce is not None:
        announce(
            f"warning: the ledger holds {lost} request(s) reserved but never settled (an "
            "earlier crash): `laneway usage` counts them"
        )

    def ready() -> None:
        if announce is not None:
            shown = f"[{host}]" if ":" in host else host
            announce(f"laneway gateway on http://{shown}:{sock.getsockname()[1]}/v1")

    metrics = assembly.metrics
    sharing = None if shared is None or metrics is None else metrics.share(*shared)
    # What start-up made (modules, config, catalog: ~60K objects) lives as long as the
    # process: kept out of the collector, full collections no longer walk it (~30 ms each),
    # and collections cost 5-10 us less per request (measured 2026-12-05: bench/README.md
    # at commit c333d48).
    gc.collect()
    gc.freeze()
    async with publishing(sharing):
        await _serve(assembly, sock, stop, ready)


def serve_forever(
    config: GatewayConfig, env: Mapping[str, str], announce: Announce, log_level: str | None = None
) -> None:
    """`laneway serve`: announce what it runs on, serve until SIGINT or SIGTERM."""
    host, port, workers = config.server.host, config.server.port, config.server.workers
    keyed = check_exposure(config, env, host)
    upstream = Upstream.resolve(config, env)
    try:
        if upstream.emulator is not None:
            announce(
                "no OpenAI key (OPENAI_API_KEY) and no provider configured: answering from the "
                f"built-in emulator at {upstream.emulator.base_url} (offline, synthetic answers)"
            )
        else:
            announce("upstream providers: " + ", ".join(upstream.providers))
        if not keyed:
            announce(
                f"no client keys configured: any bearer is accepted, on {host} only; the first "
                "`laneway keys create` (or server.api_keys) turns away every client without a key"
            )
        if workers == 1:
            _worker(config, upstream.shared(), host, port, announce)
            return
        if port == 0:
            raise ConfigError("--workers needs a fixed --port (workers share it)")
        _run_workers(config, upstream.shared(), announce, log_level)
    finally:
        upstream.close()


def _run_workers(
    config: GatewayConfig, upstream: Upstream, announce: Announce, log_level: str | None
) -> None:
    server = config.server
    # The workers' metrics, merged at each scrape (laneway.telemetry.metrics_sharing): private
    # to this user (mkdtemp makes it 0700), removed once the workers are gone.
    shared = Path(tempfile.mkdtemp(prefix="laneway-metrics-")) if config.metrics.enabled else None
    context = multiprocessing.get_context("spawn")  # no threads or loops inherited
    processes = [
        context.Process(
            target=_worker,
            args=(config, upstream, server.host, server.port, None, log_level),
            kwargs={"shared": None if shared is None else (shared, index)},
            name=f"laneway-worker-{index}",
        )
        for index in range(server.workers)
    ]
    try:
        for process in processes:
            process.start()
        announce(
            f"laneway gateway on http://{server.host}:{server.port}/v1 ({server.workers} workers)"
        )
        _wait_for(processes)
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def _wait_for(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Until every worker has exited, or SIGINT or SIGTERM (then passed on to each)."""
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping.wait(0.5):
        if all(not process.is_alive() for process in processes):
            return
    for process in processes:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.join(DRAIN_S + 5)


class GatewayServer:
    """The gateway on a loopback port, served from a background thread while in use."""

    def __init__(
        self,
        config: GatewayConfig,
        env: Mapping[str, str] | None = None,
        *,
        sleep: Sleep | None = None,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        """`span_exporter`: an OpenTelemetry SDK exporter `[tracing]` sends spans to instead
        of OTLP (tests; needs the `otel` extra)."""
        self._config = config
        self._env = dict(os.environ if env is None else env)
        self._sleep = sleep
        self._span_exporter = span_exporter
        self._socket = bind(config.server.host, config.server.port)
        self.host, self.port = self._socket.getsockname()[:2]
        self._loop = uvloop.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="laneway-gateway", daemon=True)
        self.assembly: Assembly | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            self.assembly = Assembly(
                self._config, self._env, sleep=self._sleep, span_exporter=self._span_exporter
            )
            await self.assembly.gateway.start()
            await _serve(self.assembly, self._socket, self._stop, self._ready.set)

        try:
            self._loop.run_until_complete(main())
        except BaseException as failure:  # noqa: BLE001 - reported to start()
            self._failure = failure
            self._ready.set()
        finally:
            self._loop.close()

    def start(self) -> GatewayServer:
        """Start serving (once; a second call does nothing)."""
        if self._thread.is_alive() or self._ready.is_set():
            return self
        check_exposure(self._config, self._env, self.host)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._failure is not None:
            raise RuntimeError("the gateway did not start") from self._failure
        return self

    def stop(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            # RuntimeError: the loop has just closed, so the thread is ending anyway.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(DRAIN_S + 5)
        self._socket.close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
