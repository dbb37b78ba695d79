"""Both upstream transports against a scripted HTTP server: answers, streams, every failure kind.

The server is a few lines of asyncio that answers each request with a script of (wait, bytes)
writes, so breakage is exact. A wait is a pause, or (so that no test depends on the machine's
speed) an event the test sets, HOLD (wait until the test ends) or NEXT_REQUEST (wait until the
client sends again on the connection). Short limits appear only where a limit is meant to fire,
against a server that holds; every answer that should arrive is given GENEROUS limits. Each test
runs in its own event loop (uvloop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest
import uvloop

from laneway.upstream.aiohttp_transport import AiohttpTransport
from laneway.upstream.http1 import Http1Transport
from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import (
    BodyBroken,
    NoAnswer,
    NotSent,
    Transport,
    UpstreamResponse,
)

SECRET_HEADERS = {
    "authorization": "Bearer sk-secret-never-shown",
    "content-type": "application/json",
}
# Guards only: an answer that should arrive never comes near them, even on a loaded machine.
GENEROUS = Timeouts(connect_s=10, first_byte_s=10, idle_s=10, total_s=30)
HOLD = "hold"  # wait until the test ends
NEXT_REQUEST = "next request"  # wait until the client writes another request on the connection
Wait = float | str | asyncio.Event
Step = tuple[Wait, bytes]  # wait, then write; bytes b"CLOSE" closes the connection


def head(status: int = 200, *extra: str, chunked: bool = False, length: int | None = None) -> bytes:
    lines = [
        f"HTTP/1.1 {status} X",
        "content-type: application/json",
        "x-request-id: req_up",
        *extra,
    ]
    if chunked:
        lines.append("transfer-encoding: chunked")
    if length is not None:
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def whole(body: bytes, status: int = 200, *extra: str) -> list[Step]:
    return [(0, head(status, *extra, length=len(body)) + body)]


@dataclass
class Scripted:
    """Answers the n-th request with scripts[n] (the last script repeats)."""

    scripts: list[list[Step]]
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _handlers: list[asyncio.Task[None]] = field(default_factory=list)

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # Server.close() leaves open connections open
            writer.close()
        for handler in self._handlers:  # those that HOLD
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.append(handler)
        try:
            while True:
                head_bytes = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head_bytes.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                self.requests.append(head_bytes + await reader.readexactly(length))
                script = self.scripts[min(len(self.requests), len(self.scripts)) - 1]
                for wait, data in script:
                    await self._wait(wait, reader)
                    if data == b"CLOSE":
                        writer.close()
                        return
                    writer.write(data)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    @staticmethod
    async def _wait(wait: Wait, reader: asyncio.StreamReader) -> None:
        if isinstance(wait, asyncio.Event):
            await wait.wait()
        elif wait == HOLD:
            await asyncio.get_running_loop().create_future()  # cancelled when the test ends
        elif wait == NEXT_REQUEST:
            await reader.readuntil(b"\r\n\r\n")  # read, never answered
        elif isinstance(wait, float | int) and wait:
            await asyncio.sleep(wait)


async def drain(response: UpstreamResponse) -> None:
    async for _ in response.chunks():
        pass


TRANSPORTS: dict[str, Callable[[], Transport]] = {
    "laneway": lambda: Http1Transport(max_connections=8),
    "aiohttp": lambda: AiohttpTransport(max_connections=8),
}


def run(make: Callable[[], Transport], test: Callable[[Transport], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = make()
        try:
            await test(transport)
        finally:
            await transport.close()
            await asyncio.sleep(0.01)  # let the closes complete before the loop goes

    uvloop.run(main())


@pytest.fixture(params=sorted(TRANSPORTS))
def make(request: pytest.FixtureRequest) -> Callable[[], Transport]:
    return TRANSPORTS[request.param]


def test_a_whole_answer_and_keep_alive(make: Callable[[], Transport]) -> None:
    async def test(transport: Transport) -> None:
        async with Scripted([whole(b'{"ok":1}')]) as server:
            for _ in range(3):
                response = await transport.send(server.url, SECRET_HEADERS, b'{"a":1}', GENEROUS)
                assert response.status == 200
                assert response.headers["x-request-id"] == "req_up"
                assert await response.read() == b'{"ok":1}'
                response.close()
            assert server.connections == 1
            sent = server.requests[0]
            assert sent.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
            assert b"authorization: bearer sk-secret-never-shown" in sent.lower()
            assert sent.endswith(b'\r\n\r\n{"a":1}')

    run(make, test)


def test_an_error_status_is_an_answer(make: Callable[[], Transport]) -> None:
    async def test(transport: Transport) -> None:
        body = b'{"error":{"message":"slow down"}}'
        async with Scripted([whole(body, 429, "retry-after-ms: 250")]) as server:
            response = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            assert response.status == 429
            assert response.headers["retry-after-ms"] == "250"
            assert await response.read() == body

    run(make, test)


def test_a_stream_arrives_chunk_by_chunk(make: Callable[[], Transport]) -> None:
    events = [b"data: %d\n\n" % n for n in range(3)]

    async def test(transport: Transport) -> None:
        # The server sends each event only once the client has read the one before: a transport
        # that waited for the whole body would never see the second.
        read = [asyncio.Event() for _ in events]
        script: list[Step] = [(0, head(chunked=True) + chunk(events[0]))]
        script += [(read[n - 1], chunk(events[n])) for n in range(1, len(events))]
        script.append((read[-1], b"0\r\n\r\n"))
        async with Scripted([script]) as server:
            response = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            arrived = b""
            async for part in response.chunks():
                arrived += part
                read[[e in arrived for e in events].count(True) - 1].set()
            response.close()
            assert arrived == b"".join(events)

    run(make, test)


def test_connection_refused_is_not_sent(make: Callable[[], Transport]) -> None:
    async def test(transport: Transport) -> None:
        async with Scripted([]) as server:
            url = server.url
        with pytest.raises(NotSent) as raised:
            await transport.send(url, SECRET_HEADERS, b"{}", GENEROUS)
        assert "sk-secret" not in str(raised.value)

    run(make, test)


def test_no_answer_in_time_is_no_answer(make: Callable[[], Transport]) -> None:
    async def test(transport: Transport) -> None:
        async with Scripted([[(HOLD, b"")]]) as server:
            loop = asyncio.get_running_loop()
            started = loop.time()
            limits = Timeouts(connect_s=10, first_byte_s=0.3, idle_s=0.3, total_s=30)
            with pytest.raises(NoAnswer) as raised:
                await transport.send(server.url, SECRET_HEADERS, b"{}", limits)
            assert raised.value.timed_out
            assert loop.time() - started >= 0.25  # not before its time (late is fine: load)

    run(make, test)


def test_a_connection_closed_before_the_head_is_no_answer(make: Callable[[], Transport]) -> None:
    async def test(transport: Transport) -> None:
        async with Scripted([[(0, b"CLOSE")]]) as server:
            with pytest.raises(NoAnswer) as raised:
                await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            assert not raised.value.timed_out

    run(make, test)


@pytest.mark.parametrize(
    ("script", "timed_out"),
    [
        ([(0, head(chunked=True) + chunk(b"data: 1\n\n")), (0, b"CLOSE")], False),  # cut
        ([(0, head(chunked=True) + chunk(b"data: 1\n\n")), (HOLD, chunk(b"late"))], True),  # idle
    ],
    ids=["cut", "idle"],
)
def test_a_body_that_stops_is_body_broken(
    make: Callable[[], Transport], script: Sequence[Step], timed_out: bool
) -> None:
    async def test(transport: Transport) -> None:
        limits = Timeouts(connect_s=10, first_byte_s=10, idle_s=0.3, total_s=30)
        async with Scripted([list(script)]) as server:
            response = await transport.send(server.url, SECRET_HEADERS, b"{}", limits)
            received: list[bytes] = []

            async def read_all() -> None:
                async for part in response.chunks():
                    received.append(part)

            with pytest.raises(BodyBroken) as raised:
                await read_all()
            assert received == [b"data: 1\n\n"]
            assert raised.value.timed_out is timed_out

    run(make, test)


def test_the_total_limit_covers_the_body(make: Callable[[], Transport]) -> None:
    # A steady drip (20 s in all) that never trips the idle limit: only the total limit ends it.
    drip: list[Step] = [(0, head(chunked=True))]
    drip += [(0.05, chunk(b"data: x\n\n")) for _ in range(400)]
    limits = Timeouts(connect_s=10, first_byte_s=2, idle_s=10, total_s=2)

    async def test(transport: Transport) -> None:
        async with Scripted([drip]) as server:
            response = await transport.send(server.url, SECRET_HEADERS, b"{}", limits)
            received: list[bytes] = []

            async def read_all() -> None:
                async for part in response.chunks():
                    received.append(part)

            with pytest.raises(BodyBroken) as raised:
                await read_all()
            assert raised.value.timed_out
            assert len(received) < 400

    run(make, test)


def test_a_cancelled_stream_leaves_the_pool_usable(make: Callable[[], Transport]) -> None:
    slow: list[Step] = [(0, head(chunked=True) + chunk(b"data: 1\n\n")), (HOLD, b"0\r\n\r\n")]

    async def test(transport: Transport) -> None:
        async with Scripted([slow, whole(b'{"ok":2}')]) as server:
            response = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            reader = response.chunks()
            assert await anext(reader) == b"data: 1\n\n"
            response.close()  # the client went away
            again = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            assert await again.read() == b'{"ok":2}'

    run(make, test)


def test_a_pooled_connection_the_server_dropped_is_replaced_without_resending_twice() -> None:
    # The server answers, keeps the connection open, and closes it when the next request arrives
    # on it: that request finds it dead before any answer byte and must go out once on a new
    # connection. (Event-driven: it once used a 50 ms pause and a 0.3 s limit, and failed under
    # load.)
    first_script = [*whole(b'{"n":1}'), (NEXT_REQUEST, b"CLOSE")]

    async def test(transport: Transport) -> None:
        async with Scripted([first_script, whole(b'{"n":2}')]) as server:
            first = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            assert await first.read() == b'{"n":1}'
            second = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            assert await second.read() == b'{"n":2}'
            assert server.connections == 2
            assert len(server.requests) == 2

    run(TRANSPORTS["laneway"], test)


def test_a_body_delimited_by_close_is_read_whole() -> None:
    script: list[Step] = [
        (0, b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"a":'),
        (0.05, b"1}"),
        (0, b"CLOSE"),
    ]

    async def test(transport: Transport) -> None:
        async with Scripted([script]) as server:
            response = await transport.send(server.url, SECRET_HEADERS, b"{}", GENEROUS)
            assert await response.read() == b'{"a":1}'

    run(TRANSPORTS["laneway"], test)
