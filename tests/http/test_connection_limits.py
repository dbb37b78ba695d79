"""Deadlines for reading a request and caps on connections, on real sockets, with the sweep
driven at chosen loop times (`Listener.sweep(now)`): nothing here waits for a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from laneway.http.limits import ConnectionLimits
from laneway.http.listener import Listener, bind
from laneway.http.messages import Request, Response
from laneway.http.protocol import HttpProtocol
from laneway.wire.errors import as_api_error

# Long enough that the listener's own sweep never runs during a test: the tests sweep.
LIMITS = ConnectionLimits(header_timeout_s=100, body_timeout_s=300, idle_timeout_s=1000)
GET = b"GET /x HTTP/1.1\r\nhost: t\r\n\r\n"
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def render(error: Exception) -> Response:
    answer = as_api_error(error)
    return Response(answer.status, answer.body())


class Server:
    def __init__(self, limits: ConnectionLimits, handler: Callable[[Request], object]) -> None:
        self.listener = Listener(
            lambda connections: HttpProtocol(
                handler,  # type: ignore[arg-type]
                render,
                max_body=1000,
                connections=connections,
            ),
            limits,
        )
        self.port = 0
        self.opened: list[asyncio.StreamWriter] = []

    async def connect(self, host: str = "127.0.0.1") -> Stream:
        stream = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(host, 0))
        self.opened.append(stream[1])
        return stream

    def sweep_after(self, seconds: float) -> None:
        self.listener.sweep(asyncio.get_running_loop().time() + seconds)


@asynccontextmanager
async def serving(
    limits: ConnectionLimits = LIMITS, handler: Callable[[Request], object] | None = None
) -> AsyncIterator[Server]:
    server = Server(limits, handler or (lambda request: Response(200, b"{}")))
    sock = bind("127.0.0.1", 0)
    server.port = sock.getsockname()[1]
    listening = await server.listener.start(sock)
    try:
        yield server
    finally:
        for writer in server.opened:
            writer.close()
        listening.close()
        server.listener.close_connections()
        await settle()


async def answer_of(stream: Stream) -> tuple[int, bytes]:
    """The status and body of what the server sent before closing the connection."""
    reader, writer = stream
    data = await asyncio.wait_for(reader.read(), 10)  # until EOF: the server closed it
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def settle() -> None:
    for _ in range(20):  # let connection_made / data_received / closes run
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_headers_not_in_by_the_deadline_get_408_and_the_connection_closes() -> None:
    async def test() -> None:
        async with serving() as server:
            stream = await server.connect()
            stream[1].write(b"GET /x HTTP/1.1\r\nhost: t\r\n")  # no end of headers, ever
            await settle()
            server.sweep_after(LIMITS.header_timeout_s - 1)
            await settle()
            assert server.listener.connections == 1  # not yet
            server.sweep_after(LIMITS.header_timeout_s + 1)
            status, body = await answer_of(stream)
            assert status == 408
            assert b"request_timeout" in body
            assert b"headers" in body
            await settle()
            assert server.listener.connections == 0

    run(test)


def test_trickled_bytes_do_not_move_the_deadline() -> None:
    async def test() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            writer.write(b"G")
            await settle()
            (connection,) = server.listener._connections
            began = connection.reading_since
            for byte in b"ET /x HTTP/1.1\r\nho":
                writer.write(bytes([byte]))
                await settle()
            assert connection.reading_since == began
            assert began is not None
            server.listener.sweep(began + LIMITS.header_timeout_s + 0.01)
            assert (await answer_of((reader, writer)))[0] == 408

    run(test)


def test_a_body_not_in_by_its_deadline_gets_408() -> None:
    async def test() -> None:
        async with serving() as server:
            stream = await server.connect()
            stream[1].write(b"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\n12345")
            await settle()
            server.sweep_after(LIMITS.header_timeout_s + 1)  # headers in: the body has longer
            await settle()
            assert server.listener.connections == 1
            server.sweep_after(LIMITS.body_timeout_s + 1)
            status, body = await answer_of(stream)
            assert status == 408
            assert b"body" in body

    run(test)


def test_a_connection_that_sends_nothing_is_held_to_the_header_deadline() -> None:
    async def test() -> None:
        async with serving() as server:
            stream = await server.connect()
            await settle()
            server.sweep_after(LIMITS.header_timeout_s + 1)
            assert (await answer_of(stream))[0] == 408

    run(test)


def test_an_idle_keep_alive_connection_has_the_idle_timeout_not_the_header_deadline() -> None:
    async def test() -> None:
        async with serving() as server:
            reader, writer = await server.connect()
            writer.write(GET)
            assert (await reader.readuntil(b"{}")).startswith(b"HTTP/1.1 200")
            await settle()
            server.sweep_after(LIMITS.header_timeout_s + 1)
            await settle()
            assert server.listener.connections == 1
            server.sweep_after(LIMITS.idle_timeout_s + 1)
            await settle()
            assert server.listener.connections == 0

    run(test)


def test_a_request_being_answered_is_never_timed_out() -> None:
    async def test() -> None:
        release = asyncio.Event()

        async def slow(request: Request) -> Response:
            await release.wait()
            return Response(200, b"{}")

        async with serving(handler=slow) as server:
            reader, writer = await server.connect()
            writer.write(GET)
            await settle()
            server.sweep_after(LIMITS.body_timeout_s + LIMITS.idle_timeout_s)
            await settle()
            release.set()
            assert (await reader.readuntil(b"{}")).startswith(b"HTTP/1.1 200")

    run(test)


def test_connections_over_a_clients_cap_get_503_and_others_are_served() -> None:
    limits = ConnectionLimits(
        header_timeout_s=100, body_timeout_s=100, max_connections=5, max_connections_per_client=3
    )

    async def test() -> None:
        async with serving(limits) as server:
            held = [await server.connect() for _ in range(3)]
            await settle()
            status, body = await answer_of(await server.connect())
            assert status == 503
            assert b"too_many_connections" in body
            # Another address is under its own cap.
            reader, writer = await server.connect("127.0.0.2")
            writer.write(GET)
            assert (await reader.readuntil(b"{}")).startswith(b"HTTP/1.1 200")
            # One of the first client's closes: it may connect again.
            held[0][1].close()
            await settle()
            reader, writer = await server.connect()
            writer.write(GET)
            assert (await reader.readuntil(b"{}")).startswith(b"HTTP/1.1 200")
            # The global cap: 2 + 1 + 1 open, a fifth from a third address is taken, a sixth
            # is refused.
            await server.connect("127.0.0.3")
            await settle()
            assert (await answer_of(await server.connect("127.0.0.3")))[0] == 503

    run(test)
