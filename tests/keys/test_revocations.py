"""Announcing revocations: the Redis set the admission script reads, and the one-process kind."""

from __future__ import annotations

import pytest
import redis

from laneway.keys.revocations import LocalRevocations, RedisRevocations, RevocationError
from tests.services import REDIS_URL


def test_a_revoked_prefix_joins_the_namespaces_revoked_set(
    redis_namespace: str, redis_client: redis.Redis
) -> None:
    revocations = RedisRevocations(REDIS_URL, redis_namespace)
    try:
        revocations.announce("abcdefghij")
        revocations.announce("abcdefghij")  # again: no harm
        revocations.announce("klmnopqrst")
    finally:
        revocations.close()
    key = f"{redis_namespace}:revoked"
    assert redis_client.sismember(key, "abcdefghij")
    assert redis_client.smembers(key) == {"abcdefghij", "klmnopqrst"}
    assert not redis_client.sismember(f"{redis_namespace}x:revoked", "abcdefghij")


def test_unreachable_redis_is_reported_without_the_url(redis_namespace: str) -> None:
    url = "redis://laneway:hunter2-secret@127.0.0.1:1/0"
    revocations = RedisRevocations(url, redis_namespace, timeout_s=0.5)
    with pytest.raises(RevocationError) as failure:
        revocations.announce("abcdefghij")
    revocations.close()
    message = str(failure.value)
    assert "cannot reach Redis" in message
    assert "abcdefghij" in message
    assert "hunter2" not in message
    assert url not in message


def test_a_malformed_url_is_reported_without_echoing_it(redis_namespace: str) -> None:
    with pytest.raises(RevocationError, match="not a Redis URL") as failure:
        RedisRevocations("http://laneway:hunter2-secret@127.0.0.1/0", redis_namespace)
    assert "hunter2" not in str(failure.value)


def test_one_process_hears_its_own_revocations() -> None:
    heard: list[str] = []
    LocalRevocations(heard.append).announce("abcdefghij")
    LocalRevocations().announce("klmnopqrst")  # nothing to tell, nothing fails
    assert heard == ["abcdefghij"]
