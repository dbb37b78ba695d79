"""Telling every replica that a key prefix no longer works, at once.

With admission state in Redis, the admission script checks `SISMEMBER {namespace}:revoked
<prefix>` on every request, so one SADD reaches every replica before its next request. Without
Redis there is one process, which learns of a revocation through its own key cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

import redis

from laneway.keys.store import VirtualKeyError


class RevocationError(VirtualKeyError):
    """A revocation could not be announced (the shared state is unreachable)."""

    status = 503


class Revocations(Protocol):
    def announce(self, prefix: str) -> None:
        """Make the key with this prefix fail everywhere from now on. RevocationError if that
        cannot be done."""

    def close(self) -> None: ...


def revoked_set(namespace: str) -> str:
    """The Redis set of revoked prefixes (shared with the admission script)."""
    return f"{namespace}:revoked"


class RedisRevocations:
    def __init__(self, url: str, namespace: str, *, timeout_s: float = 2.0) -> None:
        self._url = url
        self._key = revoked_set(namespace)
        try:
            # Connects on first use, so a bad host is reported by announce.
            self._client: redis.Redis = redis.Redis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
            )
        except ValueError as exc:
            raise RevocationError(
                f"state.url (or $LANEWAY_REDIS_URL) is not a Redis URL: {self._scrub(exc)}"
            ) from None

    def announce(self, prefix: str) -> None:
        try:
            self._client.sadd(self._key, prefix)
        except redis.RedisError as exc:
            raise RevocationError(
                f"cannot reach Redis (state.backend = redis) to announce that key {prefix} is "
                f"revoked: {self._scrub(exc)}"
            ) from None

    def close(self) -> None:
        self._client.close()

    def _scrub(self, exc: BaseException) -> str:
        # Never the URL: it may carry a password. redis-py's messages name host and port only,
        # but an echoed URL or password is removed all the same.
        text = " ".join(str(exc).split()) or type(exc).__name__
        hidden = [self._url]
        try:
            password = urlsplit(self._url).password
        except ValueError:
            password = None
        if password:
            hidden.append(password)
        for secret in hidden:
            text = text.replace(secret, "***")
        return text


class LocalRevocations:
    """One process (state.backend = memory): nothing to announce beyond it. `on_revoke`, if
    given, hears each prefix, e.g. to drop it from that process's key cache at once."""

    def __init__(self, on_revoke: Callable[[str], None] | None = None) -> None:
        self._on_revoke = on_revoke

    def announce(self, prefix: str) -> None:
        if self._on_revoke is not None:
            self._on_revoke(prefix)

    def close(self) -> None:
        return None
