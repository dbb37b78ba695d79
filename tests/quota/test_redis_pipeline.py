"""The Redis state's request path: admissions and settlements pipelined on a connection of the
state's own (each still its own script call), `settle_soon` settling without a task, and
`is_revoked` reading the revoked set without writing a reservation."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import redis
import uvloop

from laneway.quota.redis_state import RedisQuota
from laneway.quota.state import (
    Ask,
    BudgetCharge,
    QuotaUnavailable,
    RateLimit,
    SoftCrossing,
    Spend,
)
from tests.quota.conftest import PRIVATE_PASSWORD, START
from tests.quota.test_redis_state import UNREACHABLE_URL, _Silent
from tests.services import REDIS_URL

DAY = BudgetCharge("key:vk_1:day", "day", 10_000_000, 5_000)
LIFETIME = BudgetCharge("global:lifetime", "lifetime", 10**15, None)
RPM = RateLimit("key:vk_1:rpm", 100_000, 1)
TPM = RateLimit("key:vk_1:tpm", 600_000, 300, tokens=True)


def ask(rid: str, amount: int = 1_000, prefix: str | None = "lw_vk_1") -> Ask:
    return Ask(rid, prefix, (RPM, TPM), (DAY, LIFETIME), amount)


def evalsha_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def test_the_reservation_is_written_as_the_scripts_and_reconciliation_read_it(
    private_redis: str,
) -> None:
    namespace = "ns"

    async def main() -> None:
        state = RedisQuota(private_redis, namespace, owner="replica:r")
        try:
            assert await state.admit(ask("r1", 1_234), START + 0.25) is None
            [held] = await state.outstanding(START + 1)
            assert (held.reservation_id, held.amount_nano, held.created_at) == (
                "r1",
                1_234,
                START + 0.25,
            )
        finally:
            await state.close()

    uvloop.run(main())
    client = redis.Redis.from_url(private_redis)
    try:
        stored = client.get(f"{namespace}:res:r1")
    finally:
        client.close()
    assert stored is not None
    # Exactly what orjson writes for the same object: the Lua (cjson) and `outstanding` agree.
    assert stored == orjson.dumps(
        {
            "a": "1234",
            "c": repr(START + 0.25),
            "o": "replica:r",
            "b": [
                [
                    f"{namespace}:budget:{DAY.id}@2026-11-22",
                    DAY.id,
                    "2026-11-22",
                    "10000000",
                    "5000",
                ],
                [
                    f"{namespace}:budget:{LIFETIME.id}@lifetime",
                    LIFETIME.id,
                    "lifetime",
                    str(10**15),
                    "",
                ],
            ],
            "t": [[f"{namespace}:rate:{TPM.id}", "600000", "300"]],
        }
    )


def test_many_calls_in_flight_on_one_link_each_stay_their_own_script(
    private_redis: str,
) -> None:
    count = 1_100

    async def main() -> None:
        state = RedisQuota(private_redis, "ns", timeout_s=5.0)
        client = redis.Redis.from_url(private_redis)
        try:
            assert await state.admit(ask("first"), START) is None  # the scripts are loaded
            await state.settle("first", 0, None, START)
            before = evalsha_calls(client)
            answers = await asyncio.gather(
                *(state.admit(ask(f"r{i}", 7), START) for i in range(count))
            )
            assert answers == [None] * count
            assert evalsha_calls(client) - before == count  # one script call per ask
            settled = await asyncio.gather(
                *(state.settle(f"r{i}", 5, 100, START) for i in range(count))
            )
            crossed = [crossing for found in settled for crossing in found]
            assert crossed == [SoftCrossing(DAY.id, "2026-11-22", 10_000_000, 5_000)]
            assert evalsha_calls(client) - before == 2 * count
            # How many reads Redis needed depends on scheduling (about 60 for these 2,200 calls
            # on a quiet machine, up to one per call when the client is slowed down, as under
            # coverage), so it proves nothing here; bench_arms measures what pipelining
            # saves. What must hold is above: one script per ask, every answer right.
            assert await state.spend([DAY], START) == [Spend(5 * count, 0)]
        finally:
            client.close()
            await state.close()

    uvloop.run(main())


def test_settle_soon_settles_reports_crossings_and_close_waits_for_it(
    redis_namespace: str,
) -> None:
    crossed: list[tuple[SoftCrossing, ...]] = []

    async def main() -> None:
        state = RedisQuota(REDIS_URL, redis_namespace)
        try:
            assert await state.admit(ask("r1", 9_000), START) is None
            assert await state.admit(ask("r2", 9_000), START) is None
            state.settle_soon("r1", 3_000, 50, START, crossed.append)
            state.settle_soon("r2", 3_000, None, START, crossed.append)
            state.settle_soon("unknown", 3_000, None, START, crossed.append)  # changes nothing
        finally:
            await state.close()  # the settlements in flight land first
        check = RedisQuota(REDIS_URL, redis_namespace)
        try:
            assert await check.spend([DAY], START) == [Spend(6_000, 0)]
            # r1's 300 tokens were corrected to 50 (r2's stay 300): 600_000 - 350 more fit
            # this minute only if the correction landed.
            big = Ask("r3", None, (RateLimit(TPM.id, 600_000, 600_000 - 350),), (), 0)
            assert await check.admit(big, START) is None
        finally:
            await check.close()

    uvloop.run(main())
    assert crossed == [(SoftCrossing(DAY.id, "2026-11-22", 10_000_000, 6_000),)]


def test_settle_soon_queues_what_the_store_does_not_take(redis_namespace: str) -> None:
    crossed: list[tuple[SoftCrossing, ...]] = []

    async def main() -> None:
        healthy = RedisQuota(REDIS_URL, redis_namespace)
        lapsing = RedisQuota(UNREACHABLE_URL, redis_namespace, timeout_s=0.3)
        try:
            assert await healthy.admit(ask("r1"), START) is None
            lapsing.settle_soon("r1", 700, None, START, crossed.append)
            for _ in range(100):
                if lapsing.pending_settlements:
                    break
                await asyncio.sleep(0.01)
            assert lapsing.pending_settlements == 1
            with pytest.raises(ValueError, match="out of range"):
                lapsing.settle_soon("r1", -1, None, START, crossed.append)
        finally:
            await lapsing.close()  # one last try, which fails too
            assert (await healthy.spend([DAY], START))[0] == Spend(0, 1_000)
            await healthy.close()

    uvloop.run(main())
    assert crossed == []


def test_is_revoked_reads_the_revoked_set_and_writes_nothing(private_redis: str) -> None:
    async def main() -> None:
        state = RedisQuota(private_redis, "ns")
        try:
            assert await state.is_revoked("lw_vk_1") is False
            await state.revoke("lw_vk_1")
            both = await asyncio.gather(state.is_revoked("lw_vk_1"), state.is_revoked("lw_x"))
            assert list(both) == [True, False]
        finally:
            await state.close()

    uvloop.run(main())
    client = redis.Redis.from_url(private_redis)
    try:
        assert set(client.scan_iter("*")) == {b"ns:revoked"}
    finally:
        client.close()


def test_is_revoked_fails_as_admit_does_when_the_store_is_away(redis_namespace: str) -> None:
    async def main() -> None:
        state = RedisQuota(UNREACHABLE_URL, redis_namespace, timeout_s=0.3)
        try:
            with pytest.raises(QuotaUnavailable) as raised:
                await state.is_revoked("lw_vk_1")
            assert "127.0.0.1" not in str(raised.value)
            assert raised.value.__suppress_context__
        finally:
            await state.close()

    uvloop.run(main())


def test_no_call_waits_past_its_timeout_and_a_silent_store_fails_all_waiting(
    redis_namespace: str,
) -> None:
    async def main() -> None:
        async with _Silent() as url:
            state = RedisQuota(url, redis_namespace, timeout_s=1.0)
            try:

                async def timed(rid: str, delay: float) -> float:
                    await asyncio.sleep(delay)
                    started = time.monotonic()
                    with pytest.raises(QuotaUnavailable, match="TimeoutError"):
                        await state.admit(ask(rid), START)
                    return time.monotonic() - started

                waits = await asyncio.gather(*(timed(f"r{i}", i * 0.05) for i in range(8)))
                # The oldest call's timeout gives the connection up: those made after it on
                # the same connection fail with it, sooner; none waits past its own timeout.
                # (Bounds with a second's slack: a loaded machine runs timers late.)
                assert 0.95 <= waits[0] < 2.0, waits
                assert all(wait < 2.0 for wait in waits), waits
            finally:
                await state.close()

    uvloop.run(main())


def test_a_caller_that_goes_away_leaves_the_others_answered(redis_namespace: str) -> None:
    async def main() -> None:
        state = RedisQuota(REDIS_URL, redis_namespace)
        try:
            calls = [asyncio.ensure_future(state.admit(ask(f"r{i}"), START)) for i in range(5)]
            await asyncio.sleep(0)
            calls[2].cancel()
            answers = await asyncio.gather(*calls, return_exceptions=True)
            assert isinstance(answers[2], asyncio.CancelledError)
            assert [answers[i] for i in (0, 1, 3, 4)] == [None] * 4
            # The gone caller's ask was sent all the same: its reservation is held, for
            # reconciliation to find (as with any admit whose answer was lost).
            held = {item.reservation_id for item in await state.outstanding(START + 1)}
            assert held == {f"r{i}" for i in range(5)}
        finally:
            await state.close()

    uvloop.run(main())


def test_the_request_path_logs_in_and_uses_the_urls_database(
    private_redis_with_password: str,
) -> None:
    port = urlsplit(private_redis_with_password).port
    url = f"redis://:{PRIVATE_PASSWORD}@127.0.0.1:{port}/3"

    async def main() -> None:
        state = RedisQuota(url, "ns")
        try:
            assert await state.admit(ask("r1"), START) is None
            state.settle_soon("r1", 10, None, START, print)
            assert await state.is_revoked("lw_vk_1") is False
        finally:
            await state.close()

    uvloop.run(main())
    client = redis.Redis(port=port or 6379, password=PRIVATE_PASSWORD, db=3)
    try:
        assert client.hget("ns:budget:key:vk_1:day@2026-11-22", "settled") == b"10"
    finally:
        client.close()


def test_a_wrong_password_is_unavailable_and_never_shown(
    private_redis_with_password: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = urlsplit(private_redis_with_password).port

    async def main() -> None:
        state = RedisQuota(f"redis://:wrong-hunter2@127.0.0.1:{port}/0", "ns", timeout_s=1.0)
        try:
            with pytest.raises(QuotaUnavailable) as raised:
                await state.admit(ask("r1"), START)
            assert "hunter2" not in str(raised.value)
        finally:
            await state.close()

    uvloop.run(main())
    assert "hunter2" not in caplog.text


def test_a_unix_socket_url_is_followed(tmp_path: Path) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    socket_path = tmp_path / "redis.sock"
    args = [binary, "--port", "0", "--unixsocket", str(socket_path), "--save", ""]
    server = subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)

        async def main() -> None:
            state = RedisQuota(f"unix://{socket_path}?db=2", "ns")
            try:
                assert await state.admit(ask("r1"), START) is None
                assert [item.reservation_id for item in await state.outstanding(START + 1)] == [
                    "r1"
                ]
            finally:
                await state.close()

        uvloop.run(main())
    finally:
        server.terminate()
        server.wait(timeout=10)
