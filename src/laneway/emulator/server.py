"""Running the emulator: in-process on a background thread (tests, `serve`) or in the foreground.

with EmulatorServer() as emulator:
    client = OpenAI(base_url=emulator.base_url, api_key="sk-test")
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import TracebackType

import uvloop

from laneway.clock import Clock
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.endpoints import Endpoints
from laneway.emulator.engine import Engine
from laneway.emulator.http_app import EmulatorApp
from laneway.http.listener import Listener, bind
from laneway.pricing.catalog import Catalog

_START_TIMEOUT_S = 10.0


def _listener(engine: Engine) -> Listener:
    return EmulatorApp(Endpoints(engine), engine.config.max_body_bytes).listener()


class EmulatorServer:
    """The emulator on a loopback port, served from a background thread while in use."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        catalog: Catalog | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.engine = Engine(config or EmulatorConfig(), catalog or Catalog.load(), clock)
        self._socket = bind(host, port)
        self.host, self.port = self._socket.getsockname()[:2]
        self._listener = _listener(self.engine)
        self._loop = uvloop.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="laneway-emulator", daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI SDK's base_url for this emulator (ends in /v1)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(self._listener.start(self._socket))
        except Exception as failure:  # noqa: BLE001 - reported to start(), which raises it
            self._failure = failure
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            self._listener.close_connections()
            loop.run_until_complete(asyncio.sleep(0))  # let the closes run
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def start(self) -> EmulatorServer:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("the emulator did not start")
        if self._failure is not None:
            raise RuntimeError("the emulator did not start") from self._failure
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=_START_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: EmulatorConfig,
    catalog: Catalog,
    host: str,
    port: int,
    on_ready: Callable[[str], None] = lambda url: None,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then close every connection."""
    engine = Engine(config, catalog)
    sock = bind(host, port)

    async def main() -> None:
        listener = _listener(engine)
        server = await listener.start(sock)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        shown = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown}:{sock.getsockname()[1]}/v1")
        await stop.wait()
        server.close()
        listener.close_connections()

    try:
        uvloop.run(main())
    finally:
        sock.close()
