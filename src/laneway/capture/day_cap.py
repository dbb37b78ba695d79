"""The cap on captures per UTC day, counted where admission state lives: in this process
(memory), or in Redis, shared by every replica. A claim is one atomic step either way; only the
capture writer's thread claims, off the request path."""

from __future__ import annotations

import logging
from typing import Protocol

import redis

log = logging.getLogger(__name__)

DAY_S = 86_400
# The count for the day, raised by one unless it is at the cap: 1 if it was raised, else 0. The
# key outlives its day by a day (a replica with a lagging clock may still be counting it).
_CLAIM = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
if count == 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class DayCap(Protocol):
    def claim(self, day: int) -> bool | None:
        """One more capture on UTC day `day` (unix seconds // 86400), if under the cap: True;
        False when the cap is reached; None when the count cannot be read (not captured)."""

    def close(self) -> None: ...


class MemoryDayCap:
    def __init__(self, per_day: int) -> None:
        self._per_day = per_day
        self._day = -1
        self._count = 0

    def claim(self, day: int) -> bool:
        if day != self._day:
            self._day, self._count = day, 0
        if self._count >= self._per_day:
            return False
        self._count += 1
        return True

    def close(self) -> None:
        return


class RedisDayCap:
    def __init__(self, url: str, namespace: str, per_day: int, timeout_s: float) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._script = self._client.register_script(_CLAIM)
        self._prefix = f"{namespace}:capture:day:"
        self._per_day = per_day

    def claim(self, day: int) -> bool | None:
        # Redis unreachable: not captured (a capture is never worth an unbounded day).
        try:
            return bool(
                self._script(keys=[f"{self._prefix}{day}"], args=[self._per_day, 2 * DAY_S])
            )
        except redis.RedisError as exc:
            log.warning("capture: the day's count in Redis is unavailable (%s)", type(exc).__name__)
            return None

    def close(self) -> None:
        self._client.close()
