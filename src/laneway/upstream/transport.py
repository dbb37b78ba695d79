"""The one small interface between the gateway and an upstream HTTP API.

`send()` returns once the answer's head has arrived; the body is then read whole or chunk by
chunk. Failures are raised as one of three errors because the gateway treats them differently:

- `NotSent`: nothing reached the upstream (connection refused, DNS, connect timeout). Nothing can
  have been billed; another candidate is safe.
- `NoAnswer`: the request was sent but no head came back in time, or the connection died before
  it. The upstream may have done (and billed) the work; the attempt is recorded as such.
- `BodyBroken`: the head came but the body stopped (cut, idle or total timeout). For a stream
  already relayed, the client's stream ends with an error event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from laneway.errors import LanewayError
from laneway.upstream.timeouts import Timeouts


class UpstreamFailure(LanewayError):
    """An attempt that got no complete HTTP answer: 502, or 504 when it timed out. The message
    never holds a secret."""

    status: int

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.status = 504 if timed_out else 502
        self.code = "upstream_timeout" if timed_out else "upstream_unreachable"


class NotSent(UpstreamFailure):
    """Nothing reached the upstream."""


class NoAnswer(UpstreamFailure):
    """Sent, but no answer's head came back."""


class BodyBroken(UpstreamFailure):
    """The answer's body stopped before its end."""


class UpstreamResponse(Protocol):
    status: int
    headers: Mapping[str, str]  # names lower-case

    async def read(self) -> bytes:
        """The whole body (raises BodyBroken)."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (raises BodyBroken); an idle gap over the limit breaks it."""
        ...

    def close(self) -> None:
        """Give the connection back (or drop it, if the body was not read to the end)."""
        ...


class Transport(Protocol):
    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        *,
        method: bytes = b"POST",  # GET and DELETE for a stored response's calls
    ) -> UpstreamResponse: ...

    async def close(self) -> None: ...


class NoTransport:
    """A transport that refuses to send: a dry run must never reach a provider."""

    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        *,
        method: bytes = b"POST",
    ) -> UpstreamResponse:
        raise NotSent("a dry run sends nothing")

    async def close(self) -> None:
        return None
