"""What a handler receives and returns: a parsed request, a whole response or a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from laneway.errors import LanewayError

JSON = b"content-type: application/json\r\n"
SSE = b"content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"

HeaderList = Sequence[tuple[str, str]]


@dataclass(slots=True)
class Request:
    method: bytes
    path: str
    query: str
    headers: dict[bytes, bytes]  # names lower-cased; a repeated header keeps its last value
    body: bytes
    keep_alive: bool
    peer: str = ""  # the client's address (the connection's peer), "" when not known


@dataclass(slots=True)
class Response:
    """A whole answer, sent in one write."""

    status: int
    body: bytes
    headers: HeaderList = ()
    content_type: bytes = JSON


@dataclass(slots=True)
class StreamResponse:
    """A chunked answer: the head goes out with the first chunk, each later chunk as it comes.

    The iterator may raise `CutStream` to end the body without its final chunk (the client
    sees a truncated response); any other exception does the same and is logged.
    """

    status: int
    chunks: AsyncIterator[bytes]
    headers: HeaderList = ()
    content_type: bytes = SSE


class HttpError(LanewayError):
    """A request refused before any handler saw it: unreadable HTTP (400), a body or headers
    over their limits (413, 431)."""

    status: int

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class CutStream(LanewayError):
    """Raised by a stream's iterator to drop the connection mid-body on purpose."""


# A handler answers at once (a Response) or later (an awaitable of a Response or StreamResponse,
# or of anything its server's Finisher turns into one); an error it raises goes to the server's
# ErrorRenderer, which turns it into the answer (HttpError and the server's own).
Handler = Callable[[Request], "Response | Awaitable[Any]"]
Finisher = Callable[[Any], "Response | StreamResponse"]
ErrorRenderer = Callable[[Exception], Response]
