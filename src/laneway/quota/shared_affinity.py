"""Where each Responses answer lives, and whose it is, shared by replicas through Redis.

One key per response id, `{namespace}:resp:{id}` = "provider US model US owner key id" (US: the
unit separator, which no name holds), kept for OpenAI's retention of stored responses (30
days). Writes never delay an answer: `note` and `forget` queue, and one task sends what has
queued in one pipeline. Reads happen only when a replica's own memory does not know an id (a
follow-up or a stored response's call made on another replica), so the request path gains no
round trip. Redis failing loses only this sharing: a lookup then answers None (the caller falls
back to the ledger) and a failed write is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETENTION_S = 30 * 24 * 3600  # OpenAI keeps a stored response for 30 days
_SEP = "\x1f"

# (provider, model, owner key id or None)
Place = tuple[str, str, str | None]


class SharedAffinity:
    def __init__(self, connect: Callable[[], aioredis.Redis], namespace: str) -> None:
        """`connect`: makes the client, on first use (inside the serving event loop)."""
        self._connect = connect
        self._client: aioredis.Redis | None = None
        self._prefix = f"{namespace}:resp:"
        self._queued: list[tuple[str, str | None]] = []  # (response id, value; None: delete)
        self._sending: asyncio.Task[None] | None = None

    def note(self, response_id: str, provider: str, model: str, owner: str | None) -> None:
        value = _SEP.join((provider, model, owner or ""))
        self._queue(response_id, value)

    def forget(self, response_id: str) -> None:
        self._queue(response_id, None)

    async def lookup(self, response_id: str) -> Place | None:
        try:
            raw = await self._redis().get(self._prefix + response_id)
        except RedisError as error:
            log.warning("shared response homes unreadable (Redis): %s", type(error).__name__)
            return None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        provider, model, owner = text.split(_SEP)
        return provider, model, owner or None

    async def flush(self) -> None:
        """Wait until what was queued has been sent (tests, shutdown)."""
        while self._sending is not None:
            await asyncio.shield(self._sending)

    async def close(self) -> None:
        await self.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _queue(self, response_id: str, value: str | None) -> None:
        self._queued.append((response_id, value))
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                pipe = self._redis().pipeline(transaction=False)
                for response_id, value in batch:
                    if value is None:
                        pipe.delete(self._prefix + response_id)
                    else:
                        pipe.set(self._prefix + response_id, value, ex=RETENTION_S)
                try:
                    await pipe.execute()
                except RedisError as error:
                    log.warning(
                        "%d response homes not shared (Redis): %s",
                        len(batch),
                        type(error).__name__,
                    )
        finally:
            self._sending = None

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            self._client = self._connect()
        return self._client
