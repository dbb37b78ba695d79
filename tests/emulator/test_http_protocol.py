"""The emulator's HTTP/1.1 layer, spoken to over a raw socket."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.server import EmulatorServer

BODY = b'{"model":"gpt-5.4","input":"hi"}'


class Wire:
    """A client connection that reads whole responses and keeps what arrives beyond them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {self.buffer!r}")
        self.buffer += chunk

    def read_response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b": ", 1) for line in lines)
        if b"content-length" not in headers:  # a 100 Continue or similar interim answer
            return int(status_line.split()[1]), headers, b""
        length = int(headers[b"content-length"])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def closed_by_server(self) -> bool:
        self.sock.settimeout(2)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def connect(emulator: EmulatorServer) -> Iterator[Wire]:
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        yield Wire(sock)


def post(body: bytes = BODY, *, extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return (
        b"POST /v1/responses HTTP/" + version + b"\r\nhost: x\r\n"
        b"authorization: Bearer sk-test\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


def test_keep_alive_serves_many_requests_on_one_connection(connect: Wire) -> None:
    for _ in range(3):
        connect.sendall(post())
        status, headers, body = connect.read_response()
        assert status == 200
        assert headers[b"content-type"] == b"application/json"
        assert orjson.loads(body)["status"] == "completed"
        assert b"connection" not in headers


def test_pipelined_requests_are_answered_in_order(connect: Wire) -> None:
    first = b'{"model":"gpt-5.4","input":"first"}'
    second = b'{"model":"gpt-5.2","input":"second"}'
    connect.sendall(post(first) + post(b"{oops") + post(second))
    answers = []
    for _ in range(3):
        status, _, body = connect.read_response()
        answers.append((status, orjson.loads(body).get("model")))
    assert answers == [(200, "gpt-5.4"), (400, None), (200, "gpt-5.2-2025-12-11")]


def test_connection_close_is_honoured(connect: Wire) -> None:
    connect.sendall(post(extra=b"connection: close\r\n"))
    status, headers, _ = connect.read_response()
    assert status == 200
    assert headers[b"connection"] == b"close"
    assert connect.closed_by_server()


def test_http_1_0_closes_after_the_answer(connect: Wire) -> None:
    connect.sendall(post(version=b"1.0"))
    status, _, _ = connect.read_response()
    assert status == 200
    assert connect.closed_by_server()


def test_chunked_request_body(connect: Wire) -> None:
    request = (
        b"POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-test\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (10, BODY[:10])
        + b"%x\r\n%s\r\n" % (len(BODY) - 10, BODY[10:])
        + b"0\r\n\r\n"
    )
    connect.sendall(request)
    status, _, body = connect.read_response()
    assert status == 200
    assert orjson.loads(body)["object"] == "response"


def test_expect_100_continue(connect: Wire) -> None:
    connect.sendall(post(extra=b"expect: 100-continue\r\n")[: -len(BODY)])
    assert connect.read_response()[0] == 100
    connect.sendall(BODY)
    assert connect.read_response()[0] == 200


def test_oversize_headers_are_431_and_closed(connect: Wire) -> None:
    connect.sendall(post(extra=b"x-filler: " + b"a" * 70_000 + b"\r\n"))
    status, _, body = connect.read_response()
    assert status == 431
    assert set(orjson.loads(body)["error"]) == {"message", "type", "param", "code"}
    assert connect.closed_by_server()


def test_garbage_is_400_and_closed(connect: Wire) -> None:
    connect.sendall(b"HELLO THERE\r\n\r\n")
    status, _, body = connect.read_response()
    assert status == 400
    assert "error" in orjson.loads(body)
    assert connect.closed_by_server()


def test_streams_are_chunked_server_sent_events(connect: Wire) -> None:
    connect.sendall(post(b'{"model":"gpt-5.4","input":"hi","stream":true}'))
    data = b""
    while not data.endswith(b"0\r\n\r\n"):
        chunk = connect.sock.recv(65536)
        assert chunk, "closed before the final chunk"
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert b"transfer-encoding: chunked" in head
    assert b"content-type: text/event-stream" in head
    assert b"event: response.completed" in data


def test_idle_connections_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("laneway.http.listener.IDLE_TIMEOUT_S", 0.3)
    with (
        EmulatorServer(EmulatorConfig(speed=0, tier="none")) as server,
        socket.create_connection((server.host, server.port), timeout=5) as sock,
    ):
        wire = Wire(sock)
        wire.sendall(post())
        assert wire.read_response()[0] == 200
        started = time.monotonic()
        assert wire.closed_by_server()
        assert time.monotonic() - started < 1.5


def test_nothing_is_served_or_billed_after_connection_close() -> None:
    with (
        EmulatorServer(EmulatorConfig(speed=0, tier="none")) as server,
        socket.create_connection((server.host, server.port), timeout=5) as sock,
    ):
        wire = Wire(sock)
        wire.sendall(post(extra=b"connection: close\r\n") + post())
        status, headers, _ = wire.read_response()
        assert (status, headers[b"connection"]) == (200, b"close")
        assert wire.closed_by_server()
        assert wire.buffer == b""
        # The request pipelined behind the close was never run, so never billed.
        assert sum(row.requests for row in server.engine.bill.rows()) == 1
