"""Running the emulator: in-process on a background thread (tests, `serve`) or in the foreground.

with EmulatorServer() as emulator:
    client = OpenAI(base_url=emulator.base_url, api_key="sk-test")
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from laneway.clock import Clock
from laneway.emulator.app import EmulatorApp
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.engine import Engine
from laneway.pricing.catalog import Catalog

_START_TIMEOUT_S = 10.0


def _uvicorn_config(app: EmulatorApp, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level=log_level,
        # No proxy sits in front of an emulator; skipping the middleware saves a hop per request.
        proxy_headers=False,
        server_header=False,
        # A reasoning-heavy stream can be quiet for a while; keep idle connections open longer
        # than uvicorn's 5 s so pooled clients do not race a closing socket.
        timeout_keep_alive=75,
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class EmulatorServer:
    """The emulator on a loopback port, serving from a background thread while in use."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        catalog: Catalog | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.engine = Engine(config or EmulatorConfig(), catalog or Catalog.load(), clock)
        self._socket = bind(host, port)
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(_uvicorn_config(EmulatorApp(self.engine), log_level))
        self._thread = threading.Thread(target=self._run, name="laneway-emulator", daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI SDK's base_url for this emulator (ends in /v1)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self) -> EmulatorServer:
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
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


def serve_forever(config: EmulatorConfig, catalog: Catalog, host: str, port: int) -> None:
    """Serve in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    app = EmulatorApp(Engine(config, catalog))
    sock = bind(host, port)
    try:
        uvicorn.Server(_uvicorn_config(app, "info")).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its graceful shutdown: that is a clean stop
    finally:
        sock.close()
