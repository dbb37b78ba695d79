"""What only the Redis state does: its key layout and expiries, scripts reloaded after a flush,
and lapses: unreachable or stalled servers, settlements queued until they land."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis
import uvloop

from laneway.errors import LanewayError
from laneway.quota.redis_pipeline import redis_client
from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import Ask, BudgetCharge, QuotaUnavailable, RateLimit, SoftCrossing
from laneway.quota.windows import COUNTER_GRACE_S, period_end
from tests.quota.conftest import START
from tests.services import REDIS_URL

DAY = BudgetCharge("key:vk_1:day", "day", 1_000, 500)
LIFETIME = BudgetCharge("global:lifetime", "lifetime", 100_000, None)
TPM = RateLimit("key:vk_1:tpm", 600, 300, tokens=True)
# Nothing listens on port 1. The password must never appear in errors or logs.
UNREACHABLE_URL = "redis://:hunter2-pass@127.0.0.1:1/0"


def budget_ask(rid: str, amount: int = 600) -> Ask:
    return Ask(rid, "lw_vk_1", (TPM,), (DAY, LIFETIME), amount)


def test_keys_live_under_the_namespace_and_expire_as_documented(private_redis: str) -> None:
    namespace = "laneway-test"
    now = time.time()  # expiries run on Redis' clock: use the real time here

    async def main() -> None:
        state = RedisQuota(private_redis, namespace)
        try:
            await state.admit(budget_ask("held"), now)
            await state.admit(budget_ask("settled", 100), now)
            await state.settle("settled", 80, 200, now)
            await state.revoke("lw_vk_9")
            await state.seed(BudgetCharge("lane:x:day", "day", 10, None), now, 3)
        finally:
            await state.close()

    uvloop.run(main())
    client = redis.Redis.from_url(private_redis, decode_responses=True)
    try:
        keys = set(client.scan_iter("*"))
        end = period_end("day", now)
        assert end is not None
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        assert keys == {
            f"{namespace}:revoked",
            f"{namespace}:reservations",
            f"{namespace}:res:held",
            f"{namespace}:rate:key:vk_1:tpm",
            f"{namespace}:budget:key:vk_1:day@{day}",
            f"{namespace}:budget:global:lifetime@lifetime",
            f"{namespace}:budget:lane:x:day@{day}",
        }
        assert client.ttl(f"{namespace}:res:held") == -1  # reservations never lapse
        assert client.ttl(f"{namespace}:reservations") == -1
        assert client.ttl(f"{namespace}:budget:global:lifetime@lifetime") == -1
        expected = math.ceil(end - now) + COUNTER_GRACE_S
        for budget in ("key:vk_1:day", "lane:x:day"):
            ttl = client.ttl(f"{namespace}:budget:{budget}@{day}")
            assert expected - 5 <= ttl <= expected
        # Twice 300 tokens at 0.1 s each, one corrected to 200: 50 s owed, then a minute more.
        assert 105 <= client.ttl(f"{namespace}:rate:key:vk_1:tpm") <= 110
        assert client.hgetall(f"{namespace}:budget:key:vk_1:day@{day}") == {
            "settled": "80",
            "reserved": "600",
        }
    finally:
        client.close()


def test_scripts_are_reloaded_after_the_server_forgets_them(private_redis: str) -> None:
    async def main() -> None:
        state = RedisQuota(private_redis, "ns")
        try:
            assert await state.admit(budget_ask("r1", 100), START) is None
            plain = redis.Redis.from_url(private_redis)
            try:
                plain.script_flush()
            finally:
                plain.close()
            assert await state.admit(budget_ask("r2", 100), START + 60) is None
            assert await state.settle("r1", 100, None, START + 60) == ()
        finally:
            await state.close()

    uvloop.run(main())


def test_soft_threshold_fires_once_across_replicas(redis_namespace: str) -> None:
    async def main() -> None:
        replicas = [RedisQuota(REDIS_URL, redis_namespace) for _ in range(3)]
        try:
            for i in range(12):
                replica = replicas[i % 3]
                assert await replica.admit(Ask(f"r{i}", None, (), (DAY,), 80), START) is None
            crossings = await asyncio.gather(
                *(replicas[i % 3].settle(f"r{i}", 80, None, START) for i in range(12))
            )
            assert [crossing for found in crossings for crossing in found] == [
                SoftCrossing(DAY.id, "2026-11-22", 1_000, 560)
            ]
        finally:
            for replica in replicas:
                await replica.close()

    uvloop.run(main())


def test_an_unreachable_store_fails_fast_and_never_shows_its_url(
    redis_namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="laneway.quota")

    async def main() -> None:
        state = RedisQuota(UNREACHABLE_URL, redis_namespace, timeout_s=5.0)
        try:
            started = time.monotonic()
            with pytest.raises(QuotaUnavailable) as raised:
                await state.admit(budget_ask("r1"), START)
            assert time.monotonic() - started < 2.5  # refused at once, not timed out
            assert isinstance(raised.value, LanewayError)
            assert raised.value.__cause__ is None
            assert raised.value.__suppress_context__
            message = str(raised.value)
            assert "hunter2" not in message
            assert "127.0.0.1" not in message
            for operation in (
                state.release("r1"),
                state.revoke("lw_vk_1"),
                state.spend([DAY], START),
                state.outstanding(START),
                state.seed(DAY, START, 5),
            ):
                with pytest.raises(QuotaUnavailable):
                    await operation
        finally:
            await state.close()

    uvloop.run(main())
    assert any(record.levelno == logging.WARNING for record in caplog.records)
    assert "hunter2" not in caplog.text
    assert "127.0.0.1" not in caplog.text


class _Silent:
    """A TCP server that accepts connections and never answers."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> str:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            while await reader.read(4096):
                pass

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def __aexit__(self, *exc: object) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()


def test_a_store_that_does_not_answer_times_out(redis_namespace: str) -> None:
    async def main() -> None:
        async with _Silent() as url:
            state = RedisQuota(url, redis_namespace, timeout_s=0.2)
            try:
                started = time.monotonic()
                with pytest.raises(QuotaUnavailable, match="unavailable: TimeoutError"):
                    await state.admit(budget_ask("r1"), START)
                elapsed = time.monotonic() - started
                assert 0.15 <= elapsed < 3.0  # a silent store would hold it forever
                # A settlement that cannot be delivered returns at once, queued.
                assert await state.settle("r1", 10, None, START) == ()
                assert state.pending_settlements == 1
            finally:
                started = time.monotonic()
                await state.close()  # gives up on the queued settlement after one try
                assert time.monotonic() - started < 3.0

    uvloop.run(main())


def _sequence(*urls: str) -> Iterator[str]:
    yield from urls
    while True:
        yield urls[-1]


def test_queued_settlements_land_when_the_store_is_back(redis_namespace: str) -> None:
    """The first client made fails to connect; the retry's fresh client reaches Redis."""
    urls = _sequence(UNREACHABLE_URL, REDIS_URL)
    made: list[str] = []
    late: list[SoftCrossing] = []

    def factory() -> aioredis.Redis:
        url = next(urls)
        made.append(url)
        return redis_client(url, 0.3)

    async def main() -> None:
        healthy = RedisQuota(REDIS_URL, redis_namespace)
        lapsing = RedisQuota(
            "unused", redis_namespace, client_factory=factory, on_late_crossings=late.extend
        )
        try:
            assert await healthy.admit(budget_ask("r1"), START) is None
            assert await lapsing.settle("r1", 550, 100, START + 1) == ()
            assert lapsing.pending_settlements == 1
            for _ in range(100):
                if not lapsing.pending_settlements:
                    break
                await asyncio.sleep(0.05)
            assert lapsing.pending_settlements == 0
            assert made == [UNREACHABLE_URL, REDIS_URL]
            assert late == [SoftCrossing(DAY.id, "2026-11-22", 1_000, 550)]
            spend = await healthy.spend([DAY, LIFETIME], START)
            assert [(s.settled_nano, s.reserved_nano) for s in spend] == [(550, 0), (550, 0)]
            # The tokens correction landed too: 300 estimated, 100 used, 500 more fit now.
            ask = Ask("r2", None, (RateLimit(TPM.id, 600, 500),), (), 0)
            assert await healthy.admit(ask, START + 1) is None
            # Landing twice changes nothing.
            assert await lapsing.settle("r1", 550, 100, START + 1) == ()
            assert (await healthy.spend([DAY], START))[0].settled_nano == 550
        finally:
            await healthy.close()
            await lapsing.close()

    uvloop.run(main())


def test_close_delivers_what_is_still_queued(redis_namespace: str) -> None:
    urls = _sequence(UNREACHABLE_URL, REDIS_URL)

    async def main() -> None:
        healthy = RedisQuota(REDIS_URL, redis_namespace)
        lapsing = RedisQuota(
            "unused", redis_namespace, client_factory=lambda: redis_client(next(urls), 0.3)
        )
        try:
            assert await healthy.admit(budget_ask("r1"), START) is None
            assert await lapsing.settle("r1", 123, None, START) == ()
            assert lapsing.pending_settlements == 1
            await lapsing.close()
            assert lapsing.pending_settlements == 0
            assert (await healthy.spend([DAY], START))[0].settled_nano == 123
        finally:
            await healthy.close()

    uvloop.run(main())


def test_a_stalled_store_times_out_then_takes_the_queued_settlement(private_redis: str) -> None:
    async def main() -> None:
        state = RedisQuota(private_redis, "ns", timeout_s=0.2)
        plain = redis.Redis.from_url(private_redis)
        try:
            assert await state.admit(budget_ask("r1"), START) is None
            plain.client_pause(3000, all=True)  # long beside the timeout, so load cannot blur them
            started = time.monotonic()
            with pytest.raises(QuotaUnavailable):
                await state.admit(budget_ask("r2"), START)
            assert time.monotonic() - started < 2.5
            assert await state.settle("r1", 400, None, START) == ()
            assert state.pending_settlements == 1
            for _ in range(200):
                if not state.pending_settlements:
                    break
                await asyncio.sleep(0.05)
            assert state.pending_settlements == 0
            spend = await state.spend([DAY, LIFETIME], START)
            assert [s.settled_nano for s in spend] == [400, 400]
            # r2 may or may not have been admitted once the pause ended: its answer was lost.
            # Reconciliation finds it, and releasing it frees the budget.
            for item in await state.outstanding(START + 1):
                assert item.reservation_id == "r2"
                assert await state.release("r2") is True
            assert [s.reserved_nano for s in await state.spend([DAY], START)] == [0]
        finally:
            plain.close()
            await state.close()

    uvloop.run(main())
