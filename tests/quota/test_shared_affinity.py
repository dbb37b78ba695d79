"""Response homes shared through Redis: what one replica notes another finds, with OpenAI's
retention as TTL; Redis out of reach loses only the sharing, never a request."""

from __future__ import annotations

import logging

import pytest
import redis
import uvloop

from laneway.quota.redis_pipeline import redis_client
from laneway.quota.shared_affinity import RETENTION_S, SharedAffinity
from tests.gateway.serve_process import free_port
from tests.services import REDIS_URL


def test_a_home_noted_by_one_replica_is_found_by_another_until_forgotten(
    redis_namespace: str, redis_client: redis.Redis
) -> None:
    async def body() -> None:
        writer = SharedAffinity(lambda: make(REDIS_URL), redis_namespace)
        reader = SharedAffinity(lambda: make(REDIS_URL), redis_namespace)
        writer.note("resp_a", "openai", "gpt-5.4", "key_alice")
        writer.note("resp_b", "azure", "gpt-5.4-mini", None)
        await writer.flush()
        assert await reader.lookup("resp_a") == ("openai", "gpt-5.4", "key_alice")
        assert await reader.lookup("resp_b") == ("azure", "gpt-5.4-mini", None)
        assert await reader.lookup("resp_unknown") is None
        assert 0 < redis_client.ttl(f"{redis_namespace}:resp:resp_a") <= RETENTION_S
        writer.forget("resp_a")
        await writer.flush()
        assert await reader.lookup("resp_a") is None
        await writer.close()
        await reader.close()

    uvloop.run(body())


def test_redis_out_of_reach_answers_unknown_and_drops_writes_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"

    async def body() -> None:
        shared = SharedAffinity(lambda: make(nowhere), "laneway-test-nowhere")
        shared.note("resp_a", "openai", "gpt-5.4", "key_alice")  # never raises
        await shared.flush()
        assert await shared.lookup("resp_a") is None
        await shared.close()

    with caplog.at_level(logging.WARNING, logger="laneway.quota.shared_affinity"):
        uvloop.run(body())
    assert "1 response homes not shared" in caplog.text
    assert "unreadable" in caplog.text


def make(url: str) -> redis.asyncio.Redis:
    return redis_client(url, 2.0)
