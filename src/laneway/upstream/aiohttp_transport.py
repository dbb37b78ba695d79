"""`Transport` on aiohttp: one client session (a keep-alive pool) per upstream provider.

Chosen by measurement (bench/README.md, "Upstream HTTP clients"): of the mature clients it
is the only one enforcing connect, first-byte, idle and total limits per request whose errors
tell "never sent" from "maybe billed" from "cut mid-body".
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Mapping

import aiohttp

from laneway.upstream.timeouts import Timeouts
from laneway.upstream.transport import BodyBroken, NoAnswer, NotSent

_USER_AGENT = "laneway"


@functools.lru_cache(maxsize=256)
def _client_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    # aiohttp has one read limit for the first byte and each later read: give it the longer of
    # the two and hold the shorter with asyncio.timeout where they differ.
    return aiohttp.ClientTimeout(
        total=timeouts.total_s,
        sock_connect=timeouts.connect_s,
        sock_read=max(timeouts.first_byte_s, timeouts.idle_s),
    )


class AiohttpResponse:
    __slots__ = ("_idle_s", "_response", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse, idle_s: float | None) -> None:
        self._response = response
        self._idle_s = idle_s  # None: aiohttp's read limit already is the idle limit
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers  # case-insensitive

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            self._response.close()
            raise BodyBroken(_describe(error), timed_out=isinstance(error, TimeoutError)) from None

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:  # on any failure the connection is dropped, not pooled
                if self._idle_s is None:
                    chunk = await content.readany()
                else:
                    async with asyncio.timeout(self._idle_s):
                        chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            self._response.close()
            raise BodyBroken(_describe(error), timed_out=isinstance(error, TimeoutError)) from None

    def close(self) -> None:
        self._response.release()


class AiohttpTransport:
    def __init__(self, *, max_connections: int = 512) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the event loop that will run it.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, keepalive_timeout=30
            )
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"user-agent": _USER_AGENT}, trust_env=False
            )
        return self._session

    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        *,
        method: bytes = b"POST",
    ) -> AiohttpResponse:
        read_limit = max(timeouts.first_byte_s, timeouts.idle_s)
        request = self._client().request(
            method.decode(), url, data=body, headers=headers, timeout=_client_timeout(timeouts)
        )
        try:
            if timeouts.first_byte_s < read_limit:
                async with asyncio.timeout(timeouts.connect_s + timeouts.first_byte_s):
                    response = await request
            else:
                response = await request
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            raise NotSent(_describe(error), timed_out=isinstance(error, TimeoutError)) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise NoAnswer(_describe(error), timed_out=isinstance(error, TimeoutError)) from None
        idle = timeouts.idle_s if timeouts.idle_s < read_limit else None
        return AiohttpResponse(response, idle)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _describe(error: BaseException) -> str:
    # aiohttp's messages carry host and port, never headers: safe to record.
    kind = type(error).__name__
    text = str(error)
    if isinstance(error, TimeoutError) and not text:
        return "timed out"
    return f"{kind}: {text}" if text else kind
