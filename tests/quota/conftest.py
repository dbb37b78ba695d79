"""Both quota states behind one fixture, each test in its own uvloop event loop.

`backend` runs a test body against a fresh MemoryQuota and against a RedisQuota on the test
Redis (its own namespace); `private_redis` starts a Redis server of the test's own, for what must
not touch the shared one (stalling it, flushing its scripts, listing every key).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
import uvloop

from laneway.quota.memory import MemoryQuota
from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import QuotaState
from tests.services import REDIS_URL

START = 1_795_305_600.0  # 2026-11-22T00:00:00Z


@dataclass(frozen=True)
class Backend:
    name: str
    namespace: str | None  # None for memory

    def make(self) -> QuotaState:
        if self.namespace is None:
            return MemoryQuota()
        # A generous timeout: these tests are about behaviour, on a machine others share.
        return RedisQuota(REDIS_URL, self.namespace, timeout_s=5.0)

    def run(self, body: Callable[[QuotaState], Awaitable[None]]) -> None:
        """Run `body` with a fresh state in a new event loop, closing the state after."""

        async def main() -> None:
            state = self.make()
            try:
                await body(state)
            finally:
                await state.close()

        uvloop.run(main())


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return Backend("memory", None)
    namespace: str = request.getfixturevalue("redis_namespace")
    return Backend("redis", namespace)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_redis(
    binary: str, password: str | None = None
) -> tuple[subprocess.Popen[bytes], int] | None:
    """A redis-server on a free port (asking for `password`, if given), answering; None if it
    did not come up."""
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if password is not None:
        args += ["--requirepass", password]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, password=password)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and server.poll() is None:
            try:
                client.ping()
            except redis.ConnectionError:
                time.sleep(0.02)
            else:
                return server, port
    finally:
        client.close()
    server.kill()
    server.wait()
    return None


@pytest.fixture
def private_redis() -> Iterator[str]:
    """URL of a Redis server only this test uses, stopped afterwards."""
    yield from _private_redis(None)


PRIVATE_PASSWORD = "s3cret-pass-for-tests"  # noqa: S105 - a test server's, nothing else


@pytest.fixture
def private_redis_with_password() -> Iterator[str]:
    """`private_redis`, asking for PRIVATE_PASSWORD; the URL has neither password nor db."""
    yield from _private_redis(PRIVATE_PASSWORD)


def _private_redis(password: str | None) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    for _ in range(5):  # another process may take the free port first
        started = _start_redis(binary, password)
        if started is None:
            continue
        server, port = started
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(timeout=10)
        return
    pytest.fail("could not start a private redis-server")
